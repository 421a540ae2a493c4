"""What the resilience check feeds a plugin: events of every compatible source and type with
ordinary, arbitrary and hostile payloads, and every field with valid, missing and odd arguments.

Everything comes from one ``random.Random(seed)``, so that a run replays with ``--seed``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..abi.constants import UINT64_MAX
from ..abi.probe import ProbeRequest
from ..events import encode_event, encode_plugin_event

_K8S_SAMPLES = Path(__file__).resolve().parent.parent / "plugins" / "data" / "k8s_audit"

# Real events of other plugins, as their payloads look (so an extractor meets foreign data).
FOREIGN_PAYLOADS: tuple[tuple[str, bytes], ...] = (
    ("a dummy plugin's counter", (42).to_bytes(8, "little")),
    ("a json line", b'{"user":"alice","action":"login","n":3,"tags":["a","b"]}'),
    ("a CloudTrail record", json.dumps({
        "eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": "PutObject",
        "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.1",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice"},
        "requestParameters": {"bucketName": "b", "key": "k"},
    }).encode()),  # fmt: skip
    ("a syslog line", b"<34>Oct 11 22:14:15 host su: 'su root' failed for lonvick on /dev/pts/8"),
)


@dataclass(frozen=True)
class Payload:
    """A payload and what it is, for the report."""

    what: str
    data: bytes


@dataclass(frozen=True)
class Case:
    """One call to make: an event (whole scap bytes), its source and number, and one field."""

    event: bytes
    evtnum: int
    source: str | None
    request: ProbeRequest
    what: str
    libsinsp_sends: bool = True  # False: a required argument left out, which libsinsp never does

    def args(self) -> tuple[bytes, int, str | None, ProbeRequest]:
        return (self.event, self.evtnum, self.source, self.request)

    def describe(self) -> str:
        return f"{request_text(self.request)} on {self.what}"


def request_text(req: ProbeRequest) -> str:
    if req.arg_key is not None:
        key = req.arg_key.decode("utf-8", "backslashreplace")
        return f"{req.name}[{key[:40] + '...' if len(key) > 40 else key}]"
    if req.arg_index is not None:
        return f"{req.name}[{req.arg_index}]"
    return req.name


def k8s_sample() -> bytes:
    for path in sorted(_K8S_SAMPLES.glob("*.json")):
        return path.read_bytes().strip()
    return b'{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"create"}'


def payloads(rng: random.Random, real: Sequence[bytes]) -> list[Payload]:
    """The fixed set: empty, random, oversized, truncated, deeply nested, foreign and real."""
    out = [Payload(f"real event {i + 1}", data) for i, data in enumerate(real[:8])]
    out += [
        Payload("a Kubernetes audit event", k8s_sample()),
        Payload("an empty payload", b""),
        Payload("one zero byte", b"\0"),
        Payload("8 random bytes", rng.randbytes(8)),
        Payload("100 random bytes", rng.randbytes(100)),
        Payload("4 KiB of random bytes", rng.randbytes(4096)),
        Payload("an oversized payload (1 MiB)", rng.randbytes(1 << 20)),
        Payload("invalid UTF-8", b"\xff\xfe\xfd" * 10),
        Payload("JSON null", b"null"),
        Payload("a JSON array", b"[1,2,3]"),
        Payload("a JSON string", b'"text"'),
        Payload("JSON with wrong types", b'{"kind":1,"verb":[],"user":{"username":5},"objectRef":"x"}'),
        Payload("deeply nested JSON", b"[" * 3000 + b"]" * 3000),
        Payload("truncated JSON", b'{"kind":"Event","verb":"cre'),
        *(Payload(what, data) for what, data in FOREIGN_PAYLOADS),
    ]
    for i, data in enumerate(real[:8]):
        if len(data) > 2:
            out.append(Payload(f"real event {i + 1} truncated to {len(data) // 2} bytes", data[: len(data) // 2]))
    return out


def random_payload(rng: random.Random, real: Sequence[bytes]) -> Payload:
    """One more payload for the random phase: a mutated real event, random bytes or random JSON."""
    pick = rng.random()
    if real and pick < 0.5:
        data = bytearray(rng.choice(real))
        for _ in range(rng.randint(1, 8)):
            if not data:
                break
            op, pos = rng.random(), rng.randrange(len(data))
            if op < 0.4:
                data[pos] = rng.randrange(256)
            elif op < 0.7:
                del data[pos:]
            else:
                data[pos:pos] = rng.randbytes(rng.randint(1, 16))
        return Payload("a mutated real event", bytes(data))
    if pick < 0.8:
        return Payload("random JSON", json.dumps(_random_json(rng, 4)).encode())
    return Payload("random bytes", rng.randbytes(rng.choice((1, 3, 17, 64, 255, 1024))))


def _random_json(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(7 if depth > 0 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice((True, False))
    if kind == 2:
        return rng.choice((0, -1, 2**63, 2**64 + 1, 1.5e308, rng.randint(-1000, 1000)))
    if kind == 3:
        return rng.choice(("", "a", "\u00e9\u4e2d", "\x00", "x" * 300, "/"))
    if kind == 4:
        return rng.choice(([], {}))
    if kind == 5:
        return [_random_json(rng, depth - 1) for _ in range(rng.randint(0, 4))]
    keys = ("kind", "verb", "user", "name", "value", "a", "items", "0", "")
    return {rng.choice(keys): _random_json(rng, depth - 1) for _ in range(rng.randint(0, 5))}


def requests_for(field_id: int, field: dict[str, Any]) -> list[tuple[ProbeRequest, bool]]:
    """Every way to ask for a field: ``(request, whether libsinsp would send it)``."""
    arg = field.get("arg") or {}
    base = {"field_id": field_id, "name": field["name"], "ftype": field["ftype"], "is_list": bool(field.get("isList"))}
    out: list[tuple[ProbeRequest, bool]] = [(ProbeRequest(**base), not arg.get("isRequired"))]
    if arg.get("isIndex"):
        for index in (0, 1, 7):
            out.append((ProbeRequest(**base, arg_index=index), True))
        for index in (2**31, 2**63, UINT64_MAX - 1):
            out.append((ProbeRequest(**base, arg_index=index), True))
    if arg.get("isKey"):
        for key in (b"a", b"/kind", b"0", b"", b"\xff\xfe", b"x" * 4096, b"[", b"/a/b/c/d/e/f/g"):
            out.append((ProbeRequest(**base, arg_key=key), True))
    return out


def valid_request(field_id: int, field: dict[str, Any]) -> ProbeRequest:
    """The plainest request libsinsp would send for the field (an argument only where required)."""
    arg = field.get("arg") or {}
    base = {"field_id": field_id, "name": field["name"], "ftype": field["ftype"], "is_list": bool(field.get("isList"))}
    if arg.get("isRequired"):  # index 1: an index 0 is an odd argument for some fields (a divisor)
        return ProbeRequest(**base, arg_index=1) if arg.get("isIndex") else ProbeRequest(**base, arg_key=b"a")
    return ProbeRequest(**base)


def plugin_event(payload: bytes, plugin_id: int) -> bytes:
    return encode_plugin_event(payload, ts=1_700_000_000_000_000_000, plugin_id=plugin_id)


def syscall_event(rng: random.Random, evt_type: int) -> bytes:
    params = [rng.randbytes(rng.choice((0, 1, 4, 8, 30))) for _ in range(rng.randint(0, 6))]
    return encode_event(evt_type, params, ts=1_700_000_000_000_000_000, tid=rng.randint(1, 1 << 20))


@dataclass(frozen=True)
class Target:
    """A (source, plugin ID, event types) the plugin accepts for extraction or parsing."""

    source: str
    plugin_id: int
    types: tuple[int, ...]


def events_for(
    rng: random.Random, target: Target, items: Sequence[Payload], syscalls: Sequence[bytes] = ()
) -> Iterator[tuple[bytes, str]]:
    """Events of the target: plugin events carry the payloads; syscall events are the real ones
    (from sourcing or ``--with``) then random parameters on each accepted type."""
    if target.source == "syscall":
        accepted = set(target.types)
        for i, event in enumerate(e for e in syscalls if int.from_bytes(e[20:22], "little") in accepted):
            if i == 8:
                break
            yield event, f"real syscall event {i + 1}"
        for t in target.types[:16]:
            yield syscall_event(rng, t), f"a random syscall event of type {t}"
        return
    for item in items:
        yield plugin_event(item.data, target.plugin_id), item.what

