"""The .scap block layout (libscap's ``scap_savefile.h``) and encoders for each block.

A capture is a sequence of pcapng-like blocks: ``u32 type | u32 total | body | zero padding |
u32 total``. All integers are little-endian (libscap writes host order and never swaps). These
encoders are what :class:`~falcoplug.capture.CaptureWriter` uses, and they are public so that tests
and tools can build captures block by block, including ones libsinsp would never write.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from ..events import HEADER_LEN, LARGE_PAYLOAD_TYPES, MAX_EVENT_LEN

# --- block types --------------------------------------------------------------------------------
SHB_BLOCK_TYPE: Final = 0x0A0D0D0A
MI_BLOCK_TYPE: Final = 0x201
MI_BLOCK_TYPE_INT: Final = 0x8002ABCD
PL_BLOCK_TYPE_V9: Final = 0x215
FDL_BLOCK_TYPE_V2: Final = 0x218
IL_BLOCK_TYPE_V2: Final = 0x219
UL_BLOCK_TYPE_V2: Final = 0x220
EV_BLOCK_TYPE: Final = 0x204
EV_BLOCK_TYPE_INT: Final = 0x8010ABCD
EVF_BLOCK_TYPE: Final = 0x208
EV_BLOCK_TYPE_V2: Final = 0x216
EVF_BLOCK_TYPE_V2: Final = 0x217
EV_BLOCK_TYPE_V2_LARGE: Final = 0x221
EVF_BLOCK_TYPE_V2_LARGE: Final = 0x222

EVENT_BLOCK_TYPES: Final = frozenset(
    {
        EV_BLOCK_TYPE,
        EV_BLOCK_TYPE_INT,
        EVF_BLOCK_TYPE,
        EV_BLOCK_TYPE_V2,
        EVF_BLOCK_TYPE_V2,
        EV_BLOCK_TYPE_V2_LARGE,
        EVF_BLOCK_TYPE_V2_LARGE,
    }
)
# Blocks whose body carries u32 flags between the cpuid and the event.
FLAGGED_BLOCK_TYPES: Final = frozenset({EVF_BLOCK_TYPE, EVF_BLOCK_TYPE_V2, EVF_BLOCK_TYPE_V2_LARGE})
# Blocks from before nparams was added to the event header (a 22-byte header).
OLD_EVENT_BLOCK_TYPES: Final = frozenset({EV_BLOCK_TYPE, EV_BLOCK_TYPE_INT, EVF_BLOCK_TYPE})
# Blocks allowed to exceed libscap's 64 KiB read buffer.
LARGE_BLOCK_TYPES: Final = frozenset({EV_BLOCK_TYPE_V2_LARGE, EVF_BLOCK_TYPE_V2_LARGE})

# --- section header -----------------------------------------------------------------------------
SHB_MAGIC: Final = 0x1A2B3C4D
CURRENT_MAJOR_VERSION: Final = 1
CURRENT_MINOR_VERSION: Final = 2
SECTION_LENGTH_UNSPECIFIED: Final = 0xFFFFFFFFFFFFFFFF
SHB_LEN: Final = 28  # header 8 + magic 4 + versions 4 + section length 8 + trailer 4

# --- sizes and limits ---------------------------------------------------------------------------
BLOCK_HEADER_LEN: Final = 8
BLOCK_TRAILER_LEN: Final = 4
OLD_EVENT_HEADER_LEN: Final = HEADER_LEN - 4  # no nparams
READER_BUF_SIZE: Final = 65536  # libscap's buffer: the largest non-LARGE block body it reads
MAX_EVENT_PARAMS: Final = 32  # PPM_MAX_EVENT_PARAMS
# The largest LARGE event block we accept: libscap would realloc up to 4 GiB on a length field's
# word, we refuse anything that cannot hold a MAX_EVENT_LEN event (so a corrupt length is an error,
# not an allocation).
MAX_BLOCK_LEN: Final = BLOCK_HEADER_LEN + 2 + 4 + MAX_EVENT_LEN + 3 + BLOCK_TRAILER_LEN

# --- event flags (scap_dump_flags) --------------------------------------------------------------
SCAP_DF_STATE_ONLY: Final = 1
SCAP_DF_LARGE: Final = 4  # in-memory only: picks a *_LARGE block type, never written

MACHINE_INFO_LEN: Final = 180
MI_BLOCK_LEN: Final = BLOCK_HEADER_LEN + MACHINE_INFO_LEN + BLOCK_TRAILER_LEN

BLOCK_HEADER: Final = struct.Struct("<II")
_U32: Final = struct.Struct("<I")
_SHB_BODY: Final = struct.Struct("<IHHQ")
_MACHINE_INFO: Final = struct.Struct("<IQQ128sQQQQ")
_HOSTNAME_MAX: Final = 127  # char[128], NUL-terminated


def normalize_block_len(length: int) -> int:
    """``length`` rounded up to a multiple of 4, as ``scap_normalize_block_len``."""
    return (length + 3) & ~3


def encode_block(block_type: int, body: bytes) -> bytes:
    """A generic block: header, ``body``, zero padding to 4 bytes, trailer."""
    total = normalize_block_len(BLOCK_HEADER_LEN + len(body) + BLOCK_TRAILER_LEN)
    padding = total - BLOCK_HEADER_LEN - len(body) - BLOCK_TRAILER_LEN
    return BLOCK_HEADER.pack(block_type, total) + body + bytes(padding) + _U32.pack(total)


def encode_section_header(
    major: int = CURRENT_MAJOR_VERSION, minor: int = CURRENT_MINOR_VERSION, options: bytes = b""
) -> bytes:
    """A section header block; ``options`` (pcapng options) are skipped by readers."""
    return encode_block(
        SHB_BLOCK_TYPE, _SHB_BODY.pack(SHB_MAGIC, major, minor, SECTION_LENGTH_UNSPECIFIED) + options
    )


@dataclass(frozen=True, slots=True)
class MachineInfo:
    """libscap's ``scap_machine_info``: what the machine that recorded the capture was.

    Plugin platforms have no machine of their own, so libsinsp writes it all zeros; a host may still
    want its hostname in the file.
    """

    num_cpus: int = 0
    memory_size_bytes: int = 0
    max_pid: int = 0
    hostname: str = ""
    boot_ts_epoch: int = 0
    flags: int = 0
    reserved3: int = 0
    reserved4: int = 0

    def __post_init__(self) -> None:
        if len(self.hostname.encode()) > _HOSTNAME_MAX:
            raise ValueError(f"hostname is longer than {_HOSTNAME_MAX} bytes: {self.hostname!r}")

    def to_bytes(self) -> bytes:
        """The 180-byte struct."""
        return _MACHINE_INFO.pack(
            self.num_cpus,
            self.memory_size_bytes,
            self.max_pid,
            self.hostname.encode(),  # struct pads with NULs
            self.boot_ts_epoch,
            self.flags,
            self.reserved3,
            self.reserved4,
        )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, offset: int = 0) -> MachineInfo:
        cpus, mem, max_pid, raw_host, boot, flags, res3, res4 = _MACHINE_INFO.unpack_from(data, offset)
        # C reads the name up to its NUL; a corrupt name must not make the file unreadable.
        hostname = raw_host.split(b"\0", 1)[0].decode("utf-8", "replace")
        return cls(cpus, mem, max_pid, hostname, boot, flags, res3, res4)


def encode_machine_info(info: MachineInfo) -> bytes:
    """A machine-info block (0x201), always 192 bytes."""
    return encode_block(MI_BLOCK_TYPE, info.to_bytes())


def event_block_type(evt_type: int, evt_len: int, flags: int = 0) -> int:
    """The block type libsinsp's dumper picks: LARGE for EF_LARGE_PAYLOAD events, EVF when flagged.

    An event too big for libscap's 64 KiB non-LARGE buffer also gets a LARGE block, where libsinsp
    would write a block no reader accepts.
    """
    flagged = (flags & ~SCAP_DF_LARGE) != 0
    prefix = 6 if flagged else 2
    large = bool(flags & SCAP_DF_LARGE) or evt_type in LARGE_PAYLOAD_TYPES
    if not large and normalize_block_len(prefix + evt_len) + BLOCK_TRAILER_LEN > READER_BUF_SIZE:
        large = True
    if flagged:
        return EVF_BLOCK_TYPE_V2_LARGE if large else EVF_BLOCK_TYPE_V2
    return EV_BLOCK_TYPE_V2_LARGE if large else EV_BLOCK_TYPE_V2


def encode_event_block(
    event: bytes | bytearray | memoryview, *, cpuid: int = 0, flags: int = 0, block_type: int | None = None
) -> bytes:
    """One event in its block, as ``scap_dump`` writes it.

    ``event`` is written as given (its header is not checked). The padding is computed on
    ``2 + len(event)``: the u32 flags of an EVF block do not change the alignment.
    """
    n = len(event)
    flags &= ~SCAP_DF_LARGE
    if block_type is None:
        evt_type = struct.unpack_from("<H", event, 20)[0] if n >= HEADER_LEN else 0
        block_type = event_block_type(evt_type, n, flags)
    prefix = (
        struct.pack("<HI", cpuid, flags) if block_type in FLAGGED_BLOCK_TYPES else struct.pack("<H", cpuid)
    )
    total = normalize_block_len(BLOCK_HEADER_LEN + len(prefix) + n + BLOCK_TRAILER_LEN)
    padding = normalize_block_len(2 + n) - (2 + n)
    return BLOCK_HEADER.pack(block_type, total) + prefix + bytes(event) + bytes(padding) + _U32.pack(total)
