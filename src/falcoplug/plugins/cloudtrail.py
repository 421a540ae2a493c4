"""cloudtrail: a port of the official Falco ``cloudtrail`` plugin (falcosecurity/plugins,
plugins/cloudtrail, Go, v0.14.0) to the falcoplug Python SDK.

It reads AWS CloudTrail log files and emits one event per CloudTrail record, with the record's
original JSON text as the payload and its ``eventTime`` as the timestamp; its fields (``ct.*``,
``s3.*``, ``ec2.*``, ``ecr.*``, ``iam.*``) are read from each record. The same name, plugin ID (2)
and event source (``aws_cloudtrail``) as the official plugin, so the official rules file
(``aws_cloudtrail_rules.yaml``, with the ``json`` plugin) runs unchanged::

    falcoplug run -p 'cloudtrail||/path/to/cloudtrail/logs' -p json -r aws_cloudtrail_rules.yaml
    falcoplug build falcoplug.plugins.cloudtrail -o libcloudtrail.so

Open parameters: the path of a CloudTrail file or of a directory. A directory is walked
recursively, in lexical order, for files named ``*.json`` or ``*.json.gz`` (as the official
plugin); a file named explicitly is read whatever its name. A file is gunzipped when it starts
with the gzip magic bytes, whatever its name. Each file holds ``{"Records": [...]}``.

``s3://bucket/prefix`` and ``sqs://queue`` (remote inputs of the official plugin) are not
supported by this port: opening them fails with a message saying so. Their init options
(``s3DownloadConcurrency``, ``sqsDelete``, ``useS3SNS``, ``aws``...) are accepted and ignored.

Where the official versions disagree, this port takes (see the notes in docs/notes):

- fields: the 68 fields of the Go plugin (v0.14.0 line), in its order, with its names, displays,
  descriptions and properties; not the four fields only the 2026 Rust rewrite has;
- a string field whose JSON value is not a string has no value (Go releases and Rust), except the
  fields holding a whole object (``ct.request``, ``ct.response``, ``ct.additionaleventdata``,
  ``ct.serviceeventdetails``, ``ct.edgedevicedetails``): a string gives its text, anything else
  compact JSON (Rust; the Go dev build gave ``""`` for the last two);
- ``ct.readonly`` without ``readOnly`` in the record: the event-name heuristic (Go releases, Rust);
- records are split with a scan that skips braces inside strings (Rust; Go's scan did not);
- the timestamp is ``eventTime`` (Go; Rust leaves it to the host);
- ``event_to_string`` is the Go text ``<region>[ <user>] <service> <eventName> <ct.info>`` (Rust
  returns the raw JSON);
- ``ct.managementevent`` and ``ct.sessioncredentialfromconsole``: "true" for JSON true and also for
  the string "true" (CloudTrail writes sessionCredentialFromConsole as a string, which both
  official versions miss), "false" for any other present value, no value when absent.

As the official plugin, a record is skipped when it is not JSON, has no RFC 3339 ``eventTime``
string or no ``eventType`` string, or is a CloudTrail Insight; a record over 256 KiB fails the
stream. Field values carry no offsets into the event (the SDK does not report them).
"""

from __future__ import annotations

import calendar
import functools
import gzip
import json
import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from falcoplug.sdk import (
    EOF,
    Event,
    EventWriter,
    ExtractPlugin,
    Progress,
    SourceInstance,
    SourcePlugin,
    Status,
    field,
    option,
)

AMAZONAWS_SUFFIX: Final = ".amazonaws.com"
# The Go SDK's default event buffer: a longer record fails the stream, as in the official plugin.
MAX_RECORD_SIZE: Final = 256 * 1024
GZIP_MAGIC: Final = b"\x1f\x8b"
_U64_MAX: Final = (1 << 64) - 1

# Event names that modify state, for ct.readonly when a record has no readOnly property.
WRITE_PREFIXES: Final = (
    "Start", "Stop", "Create", "Destroy", "Delete", "Add", "Remove", "Terminate", "Put", "Associate",
    "Disassociate", "Attach", "Detach", "Open", "Close", "Wipe", "Update", "Upgrade", "Unlink", "Assign",
    "Unassign", "Suspend", "Set", "Run", "Register", "Deregister", "Reboot", "Purchase", "Modify",
    "Initialize", "Enable", "Disable", "Cancel", "Admin", "Activate",
)  # fmt: skip


class CloudTrailError(Exception):
    """An input the plugin cannot read (the message is the official plugin's where it has one)."""


# -- configuration -----------------------------------------------------------------------------


@dataclass
class AwsConfig:
    """AWS SDK settings (used by the S3 and SQS inputs, which this port does not support)."""

    profile: str = option(
        "",
        title="AWS Profile",
        description=(
            "If non-empty overrides the AWS shared configuration profile (e.g. 'default') and environment "
            "variables such as AWS_PROFILE (Default: empty)"
        ),
    )
    region: str = option(
        "",
        title="AWS Region",
        description=(
            "If non-empty overrides the AWS region specified in the profile (e.g. 'us-east-1') and "
            "environment variables such as AWS_REGION (Default: empty)"
        ),
    )
    config: str = option(
        "",
        title="Shared AWS Config File",
        description=(
            "If non-empty overrides the AWS shared configuration filepath (e.g. ~/.aws/config) and env "
            "variables such as AWS_CONFIG_FILE (Default: empty)"
        ),
    )
    credentials: str = option(
        "",
        title="Shared AWS Credentials File",
        description=(
            "If non-empty overrides the AWS shared credentials filepath (e.g. ~/.aws/credentials) and env "
            "variables such as AWS_SHARED_CREDENTIALS_FILE (Default: empty)"
        ),
    )


@dataclass
class CloudTrailConfig:
    """The official plugin's init config; only local files are read here, so every option is
    accepted for compatibility and none changes what the plugin does."""

    s3_download_concurrency: int = option(
        32,
        alias="s3DownloadConcurrency",
        title="S3 download concurrency",
        description="Controls the number of background goroutines used to download S3 files (Default: 32)",
    )
    s3_interval: str = option(
        "",
        alias="s3Interval",
        title="S3 log interval",
        description="Download log files over the specified interval (Default: no interval)",
    )
    sqs_delete: bool = option(
        True,
        alias="sqsDelete",
        title="Delete SQS messages",
        description=(
            "If true then the plugin will delete SQS messages from the queue immediately after receiving "
            "them (Default: true)"
        ),
    )
    use_async: bool = option(
        True,
        alias="useAsync",
        title="Use async extraction",
        description="If true then async extraction optimization is enabled (Default: true)",
    )
    use_s3_sns: bool = option(
        False,
        alias="useS3SNS",
        title="Use S3 SNS",
        description=(
            "If true then the plugin will expect SNS messages to originate from S3 instead of directly from "
            "Cloudtrail (Default: false)"
        ),
    )
    s3_account_list: str = option(
        "",
        alias="s3AccountList",
        title="S3 account list",
        description=(
            "A comma separated list of account IDs for organizational Cloudtrails (Default: no account IDs)"
        ),
    )
    sqs_owner_account: str = option(
        "",
        alias="sqsOwnerAccount",
        title="SQS owner account",
        description=(
            "The AWS account ID that owns the SQS queue in case the queue is owned by a different account "
            "(Default: no account ID)"
        ),
    )
    aws: AwsConfig = option(default_factory=AwsConfig, description="AWS SDK settings")


# -- reading files -----------------------------------------------------------------------------

# One match per structural brace: everything up to it (plain text and whole strings, so that
# braces inside strings do not count), then the brace; the last match ends at the end of the
# data. An unterminated string runs to the end. Possessive quantifiers: no backtracking, and no
# failed match to retry, so the scan is linear.
_UP_TO_BRACE: Final = re.compile(
    rb'(?:[^{}"]++|"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z))*+([{}]|\Z)',
    re.DOTALL,
)


def split_records(data: bytes) -> Iterator[bytes]:
    """The objects directly inside the top-level object of ``data`` (in a CloudTrail file, the
    elements of ``Records``), each as its original bytes. Arrays do not count as a level, as in
    the official plugin, and a closing brace on the last byte closes nothing."""
    depth = 0
    start = 0
    last = len(data) - 1
    for match in _UP_TO_BRACE.finditer(data):
        pos = match.start(1)
        if pos == len(data):
            break
        if data[pos] == 0x7B:  # "{"
            if depth == 1:
                start = pos
            depth += 1
        else:
            depth -= 1
            if depth == 1 and pos < last:
                yield data[start : pos + 1]


_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")
_DECODER: Final = json.JSONDecoder()


def parse_records(text: str) -> list[tuple[str, Any]] | None:
    """The same objects as :func:`split_records`, each with its parsed value, when ``text`` is one
    valid JSON object (the usual case: each record is then parsed once, by the C decoder);
    ``None`` for anything else, which :func:`split_records` then scans."""
    ws, decode = _WHITESPACE.match, _DECODER.raw_decode
    found: list[tuple[str, Any]] = []

    def value(pos: int) -> int:
        """Skip the value at ``pos`` (objects found; arrays entered: they are no level)."""
        head = text[pos]
        if head == "{":
            record, end = decode(text, pos)
            found.append((text[pos:end], record))
            return end
        if head != "[":
            return decode(text, pos)[1]
        pos = ws(text, pos + 1).end()
        if text[pos] == "]":
            return pos + 1
        while True:
            pos = ws(text, value(pos)).end()
            if text[pos] == "]":
                return pos + 1
            if text[pos] != ",":
                raise ValueError("bad array")
            pos = ws(text, pos + 1).end()

    try:
        pos = ws(text, 0).end()
        if text[pos] != "{":
            return None
        pos = ws(text, pos + 1).end()
        while text[pos] != "}":
            if text[pos] != '"':
                return None
            pos = ws(text, decode(text, pos)[1]).end()
            if text[pos] != ":":
                return None
            pos = ws(text, value(ws(text, pos + 1).end())).end()
            if text[pos] == ",":
                pos = ws(text, pos + 1).end()
            elif text[pos] != "}":
                return None
        if ws(text, pos + 1).end() != len(text):
            return None
    except (ValueError, IndexError, RecursionError):
        return None
    return found


def file_records(data: bytes) -> Iterator[tuple[bytes, Any]]:
    """``(original bytes, parsed value or None)`` of each record of a file's content."""
    text = data.decode("utf-8", "surrogateescape")  # reversible, even for invalid UTF-8
    parsed = parse_records(text)
    if parsed is None:
        for raw in split_records(data):
            yield raw, None
    else:
        for piece, record in parsed:
            yield piece.encode("utf-8", "surrogateescape"), record


_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:Z|([+-])(\d{2}):(\d{2}))\Z", re.ASCII
)


@functools.lru_cache(maxsize=4096)  # records of a file share few distinct times
def parse_event_time(text: str) -> int | None:
    """Nanoseconds since the epoch of an RFC 3339 time, as Go's ``time.Parse(time.RFC3339, ...)``
    reads it (fractional seconds accepted, nanosecond precision); ``None`` when it does not parse."""
    m = _RFC3339.match(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    if year == 0 or not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    offset = 0
    if m.group(8):
        zh, zm = int(m.group(9)), int(m.group(10))
        if zh > 23 or zm > 59:
            return None
        offset = (zh * 3600 + zm * 60) * (1 if m.group(8) == "+" else -1)
    fraction = (m.group(7) or "")[:9].ljust(9, "0")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset
    # Go stores UnixNano() in a uint64: a time before 1970 wraps around, as there.
    return (seconds * 1_000_000_000 + int(fraction)) & _U64_MAX


def list_log_files(path: str) -> list[str]:
    """The files an open parameter names: the file itself, or a directory's ``*.json`` and
    ``*.json.gz`` files, recursively, in lexical order (directories walked where they sort)."""
    if not os.path.isdir(path):
        return [path]
    found: list[str] = []

    def walk(directory: str) -> None:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return
        for name in names:
            full = os.path.join(directory, name)
            if os.path.isdir(full) and not os.path.islink(full):
                walk(full)
            elif name.endswith((".json", ".json.gz")) and os.path.isfile(full):
                found.append(full)

    walk(path)
    return found


def read_log_file(path: str) -> bytes | None:
    """A file's content, gunzipped when it starts with the gzip magic; ``None`` when that fails."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == GZIP_MAGIC:
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return None
    return data


def record_event(raw: bytes, record: Any = None) -> tuple[bytes, int] | None:
    """``(payload, timestamp)`` for one record (``record``: its value, when already parsed), or
    ``None`` when the official plugin skips it: not JSON, no string ``eventTime`` in RFC 3339, no
    string ``eventType``, or a CloudTrail Insight."""
    if record is None:
        try:
            record = json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            return None
    if type(record) is not dict:
        return None
    when = record.get("eventTime")
    if type(when) is not str:
        return None
    ts = parse_event_time(when)
    if ts is None:
        return None
    kind = record.get("eventType")
    if type(kind) is not str or kind == "AwsCloudTrailInsight":
        return None
    if len(raw) > MAX_RECORD_SIZE:
        raise CloudTrailError(f"cloudwatch message too long: {len(raw)}, but {MAX_RECORD_SIZE} were written")
    return raw, ts


class CloudTrailFiles(SourceInstance):
    """The records of a list of files, file after file; progress is counted in files."""

    def __init__(self, files: list[str], warn: Callable[[str], None]) -> None:
        self.files = files
        self.opened = 0  # files opened so far (the official plugin's curFileNum)
        self.warn = warn
        self.records: Iterator[tuple[bytes, int]] | None = None

    def _file_events(self, path: str) -> Iterator[tuple[bytes, int]]:
        data = read_log_file(path)
        if data is None:
            self.warn(f"skipping {path}: not a valid gzip file")
            return
        for raw, record in file_records(data):
            item = record_event(raw, record)
            if item is not None:
                yield item

    def next_batch(self, events: EventWriter) -> Status | None:
        while True:
            if self.records is not None:
                room = events.remaining
                if events.extend(self.records) == room:
                    return None
                self.records = None  # this file is done
            if self.opened >= len(self.files):
                return EOF
            path = self.files[self.opened]
            self.opened += 1
            self.records = self._file_events(path)

    def progress(self) -> Progress:
        total = len(self.files)
        fraction = self.opened / total if total else 1.0
        return Progress(fraction * 100, f"{fraction * 100:.2f}% - {self.opened}/{total} files")


# -- reading records ---------------------------------------------------------------------------


def text(value: Any) -> str | None:
    """A JSON string's text (cut at a NUL, as a C host reads it); ``None`` for any other value."""
    if type(value) is not str:
        return None
    return value.partition("\0")[0] if "\0" in value else value


def member(record: Any, *keys: str) -> Any:
    """The value at ``record[k1][k2]...`` through objects only; ``None`` when absent or null."""
    node = record
    for key in keys:
        if type(node) is not dict:
            return None
        node = node.get(key)
    return node


def dumps(value: Any) -> str:
    """Compact JSON text (keys in their order, no spaces, non-ASCII kept)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def whole(record: dict[str, Any], key: str) -> str | None:
    """A present value as text: a string's text, anything else (null included) compact JSON."""
    if key not in record:
        return None
    value = record[key]
    return text(value) if type(value) is str else dumps(value)


def parse_record(payload: bytes) -> dict[str, Any] | None:
    """A record for field extraction (NUL bytes trimmed first, as the official plugin); ``None``
    when it is not a JSON object."""
    if payload[:1] == b"\0" or payload[-1:] == b"\0":
        payload = payload.strip(b"\0")
    try:
        record = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        return None
    return record if type(record) is dict else None


def get_user(record: dict[str, Any]) -> tuple[bool, str]:
    """``(present, name)`` of the user, as the official getUser: the name depends on
    ``userIdentity.type``; when absent the text is what the official String() then prints."""
    kind = text(member(record, "userIdentity", "type"))
    if kind is None:
        return False, ""
    if kind in ("Root", "IAMUser"):
        name = text(member(record, "userIdentity", "userName"))
    elif kind == "AWSService":
        name = text(member(record, "userIdentity", "invokedBy"))
    elif kind == "AssumedRole":
        name = text(member(record, "userIdentity", "sessionContext", "sessionIssuer", "userName"))
        if name is None:
            return True, "AssumedRole"
    elif kind in ("AWSAccount", "FederatedUser"):
        return True, kind
    else:
        return False, "<unknown user type>"
    if name is None:
        return False, "<NA>"
    return True, name


def read_only(record: dict[str, Any]) -> str | None:
    """ct.readonly: the ``readOnly`` flag, else a guess from the event name."""
    if "readOnly" in record:
        return "true" if record["readOnly"] is True else "false"
    name = text(record.get("eventName"))
    if name is None:
        return None
    return "false" if name.startswith(WRITE_PREFIXES) else "true"


def transferred(value: Any) -> int:
    """A byte count as the official getvalueU64: an unsigned integer, else a float truncated, else 0."""
    if type(value) is int:
        return value if 0 <= value <= _U64_MAX else 0
    if type(value) is float and 0.0 <= value < 18446744073709551616.0:
        return int(value)
    return 0


def s3_bytes(record: dict[str, Any]) -> int | None:
    data = record.get("additionalEventData")
    if type(data) is not dict or ("bytesTransferredIn" not in data and "bytesTransferredOut" not in data):
        return None
    total = 0
    for key in ("bytesTransferredIn", "bytesTransferredOut"):
        if key in data:
            total += transferred(data[key])
    return total & _U64_MAX


def s3_uri(record: dict[str, Any]) -> str | None:
    bucket = text(member(record, "requestParameters", "bucketName"))
    key = text(member(record, "requestParameters", "key"))
    if bucket is None or key is None:
        return None
    return f"s3://{bucket}/{key}"


def event_info(record: dict[str, Any]) -> str:
    """ct.info: who, from where, read or write, failed or not, what; then S3 details."""
    present, user = get_user(record)
    if not present:
        return "<invalid cloudtrail event: userIdentity field missing>"
    srcip = text(record.get("sourceIPAddress"))
    if srcip is None:
        return "<invalid cloudtrail event: eventSource field missing>"  # sic: the official text
    failed = "!" if text(record.get("errorCode")) is not None else ""
    arrow = "→" if read_only(record) == "false" else "←"
    name = text(record.get("eventName"))
    if name is None:
        return "<invalid cloudtrail event: eventName field missing>"
    if user == srcip:
        info = f"{user} {failed}{arrow} {name}"
    else:
        info = f"{user} via {srcip} {failed}{arrow} {name}"
    if name == "PutBucketPublicAccessBlock":
        if type(member(record, "requestParameters", "PublicAccessBlockConfiguration")) is dict:
            # The official plugin reads these four flags at the top level of the record (where
            # they never are), so they print false; kept as it is, trailing space included.
            for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
                info += f" {flag}={'true' if record.get(flag) is True else 'false'}"
            info += " "
        return info
    size = s3_bytes(record)
    if size is not None:
        info += f" Size={size}"
    for label, value in (
        ("URI", s3_uri(record)),
        ("Bucket", text(member(record, "requestParameters", "bucketName"))),
        ("Key", text(member(record, "requestParameters", "key"))),
        ("Host", text(member(record, "requestParameters", "Host"))),
    ):
        if value is not None:
            return f"{info} {label}={value}"
    return info


def short_source(source: str) -> str:
    if len(source) > len(AMAZONAWS_SUFFIX) and source.endswith(AMAZONAWS_SUFFIX):
        return source[: -len(AMAZONAWS_SUFFIX)]
    return source


# -- fields read at a fixed path ---------------------------------------------------------------


def _string_at(name: str, display: str, path: str, desc: str, properties: tuple[str, ...] = ()) -> Any:
    """A string field: the JSON string at a dotted ``path`` of the record; no value when it is
    absent or not a string."""
    keys = tuple(path.split("."))
    if len(keys) == 1:
        (key,) = keys

        def get(self: CloudTrailPlugin, event: Event) -> str | None:
            record = self.record(event)
            return None if record is None else text(record.get(key))

    else:

        def get(self: CloudTrailPlugin, event: Event) -> str | None:
            record = self.record(event)
            return None if record is None else text(member(record, *keys))

    get.__name__ = get.__qualname__ = name.replace(".", "_")
    return field(name, display=display, desc=desc, properties=properties)(get)


def _whole_at(name: str, display: str, key: str, desc: str) -> Any:
    """A field holding a whole value: a string's text, anything else as compact JSON."""

    def get(self: CloudTrailPlugin, event: Event) -> str | None:
        record = self.record(event)
        return None if record is None else whole(record, key)

    get.__name__ = get.__qualname__ = name.replace(".", "_")
    return field(name, display=display, desc=desc)(get)


def _flag_at(name: str, display: str, key: str, desc: str) -> Any:
    """A boolean property as "true"/"false": "true" for JSON true and for the string "true" (how
    CloudTrail writes sessionCredentialFromConsole, which the official plugin reads as false),
    "false" for any other value, null included; absent: no value."""

    def get(self: CloudTrailPlugin, event: Event) -> str | None:
        record = self.record(event)
        if record is None or key not in record:
            return None
        value = record[key]
        return "true" if value is True or value == "true" else "false"

    get.__name__ = get.__qualname__ = name.replace(".", "_")
    return field(name, display=display, desc=desc)(get)


_NO_ERROR: Final = ' Will be "<NA>" (e.g. the NULL/empty/none value) if there was no error.'
_IN_JSON: Final = "the {what} of the cloudtrail event ({key} in the json)."
_UPLOAD, _DOWNLOAD = "bytesTransferredIn", "bytesTransferredOut"


class CloudTrailPlugin(SourcePlugin, ExtractPlugin):
    """reads cloudtrail JSON data saved to file in the directory specified in the settings"""

    name = "cloudtrail"
    version = "0.14.0"
    contact = "github.com/falcosecurity/plugins/"
    id = 2
    event_source = "aws_cloudtrail"
    max_event_size = MAX_RECORD_SIZE
    _last: tuple[bytes | None, dict[str, Any] | None] = (None, None)  # the last record parsed

    def init(self, config: CloudTrailConfig) -> None:
        self.config = config

    # -- sourcing ------------------------------------------------------------------------------

    def open(self, params: str) -> CloudTrailFiles:
        for scheme in ("s3://", "sqs://"):
            if params.startswith(scheme):
                raise CloudTrailError(
                    f"cloudtrail plugin error: {scheme} inputs are not supported by this port of the plugin "
                    f"(local files and directories only); download the log files and open their path"
                )
        if not params:
            raise CloudTrailError("cloudtrail plugin error: missing input directory argument")
        if not os.path.exists(params):
            raise CloudTrailError(f"cloudtrail plugin error: cannot open {params}")
        files = list_log_files(params)
        if not files:
            raise CloudTrailError(f"cloudtrail plugin error: no json files found in {params}")
        return CloudTrailFiles(files, self.log.warning)

    def event_to_string(self, event: Event) -> str:
        """``<region>[ <user>] <service> <eventName> <ct.info>``, or the official error texts."""
        try:
            record = json.loads(event.payload.decode("utf-8", "replace"))
        except ValueError as exc:
            # The official format string lacks its argument: Go prints %!s(MISSING), then the error.
            return f"<invalid JSON: %!s(MISSING)>{exc}"
        source = text(record.get("eventSource")) if type(record) is dict else None
        if source is None:
            return "<invalid JSON: event did not contain a source>"
        region = text(record.get("awsRegion"))
        if region is None:
            return "<invalid JSON: event did not contain an awsRegion>"
        name = text(record.get("eventName"))
        if name is None:
            return "<invalid JSON: event did not contain an eventName>"
        present, user = get_user(record)
        # As the official plugin: a space before a present user; an absent one's placeholder
        # (<NA>, <unknown user type>) is printed glued to the region.
        if present and user:
            user = " " + user
        return f"{region}{user} {short_source(source)} {name} {event_info(record)}"

    # -- extraction: the official fields, in the official order ------------------------------------

    def record(self, event: Event) -> dict[str, Any] | None:
        """The event's record, parsed once for all the fields asked of the event: a host asks
        for its fields in several requests (the condition's, then the output's), so the last
        record is kept with its payload, as the official plugin keeps it by event number."""
        payload = event.payload
        last_payload, last_record = self._last
        if payload == last_payload:
            return last_record
        record = parse_record(payload)
        self._last = (payload, record)
        return record

    ct_id = _string_at("ct.id", "Event ID", "eventID", _IN_JSON.format(what="unique ID", key="eventID"))
    ct_error = _string_at("ct.error", "Error Code", "errorCode", "The error code from the event." + _NO_ERROR)
    ct_errormessage = _string_at(
        "ct.errormessage", "Error Message", "errorMessage", "The description of an error." + _NO_ERROR
    )
    ct_time = _string_at(
        "ct.time", "Timestamp", "eventTime", _IN_JSON.format(what="timestamp", key="eventTime"),
        properties=("hidden",),
    )  # fmt: skip
    ct_src = _string_at(
        "ct.src", "AWS Service", "eventSource", _IN_JSON.format(what="source", key="eventSource")
    )

    @field("ct.shortsrc", display="AWS Service", desc=(
        "the source of the cloudtrail event (eventSource in the json, without the '.amazonaws.com' "
        "trailer)."))  # fmt: skip
    def ct_shortsrc(self, event: Event) -> str | None:
        record = self.record(event)
        source = None if record is None else text(record.get("eventSource"))
        return None if source is None else short_source(source)

    ct_name = _string_at("ct.name", "Event Name", "eventName", _IN_JSON.format(what="name", key="eventName"))

    @field("ct.user", display="User Name", properties=["conversation"],
           desc="the user of the cloudtrail event (userIdentity.userName in the json).")  # fmt: skip
    def ct_user(self, event: Event) -> str | None:
        record = self.record(event)
        if record is None:
            return None
        present, user = get_user(record)
        return user if present else None

    @field("ct.user.accountid", display="User Account ID",
           desc="the account id of the user of the cloudtrail event.")  # fmt: skip
    def ct_user_accountid(self, event: Event) -> str | None:
        record = self.record(event)
        if record is None:
            return None
        account = text(member(record, "userIdentity", "accountId"))
        return account if account is not None else text(record.get("recipientAccountId"))

    ct_user_identitytype = _string_at(
        "ct.user.identitytype", "User Identity Type", "userIdentity.type",
        "the kind of user identity (e.g. Root, IAMUser,AWSService, etc.)",
    )  # fmt: skip
    ct_user_principalid = _string_at(
        "ct.user.principalid", "User Principal Id", "userIdentity.principalId",
        "A unique identifier for the user that made the request.",
    )  # fmt: skip
    ct_user_arn = _string_at(
        "ct.user.arn", "User ARN", "userIdentity.arn",
        "the Amazon Resource Name (ARN) of the user that made the request.",
    )  # fmt: skip
    ct_region = _string_at(
        "ct.region", "Region", "awsRegion", _IN_JSON.format(what="region", key="awsRegion")
    )
    ct_response_subnetid = _string_at(
        "ct.response.subnetid", "Response Subnet ID", "responseElements.subnetId",
        "the subnet ID included in the response.",
    )  # fmt: skip
    ct_response_reservationid = _string_at(
        "ct.response.reservationid", "Response Reservation ID", "responseElements.reservationId",
        "the reservation ID included in the response.",
    )  # fmt: skip
    ct_response = _whole_at("ct.response", "Response Elements", "responseElements", "All response elements.")
    ct_request_availabilityzone = _string_at(
        "ct.request.availabilityzone", "Request Availability Zone", "requestParameters.availabilityZone",
        "the availability zone included in the request.",
    )  # fmt: skip
    ct_request_cluster = _string_at(
        "ct.request.cluster", "Request Cluster", "requestParameters.cluster",
        "the cluster included in the request.",
    )  # fmt: skip
    ct_request_functionname = _string_at(
        "ct.request.functionname", "Request Function Name", "requestParameters.functionName",
        "the function name included in the request.",
    )  # fmt: skip
    ct_request_groupname = _string_at(
        "ct.request.groupname", "Request Group Name", "requestParameters.groupName",
        "the group name included in the request.",
    )  # fmt: skip
    ct_request_host = _string_at(
        "ct.request.host", "Request Host Name", "requestParameters.Host", "the host included in the request"
    )
    ct_request_name = _string_at(
        "ct.request.name", "Host Name", "requestParameters.name",
        "the name of the entity being acted on in the request.",
    )  # fmt: skip
    ct_request_policy = _string_at(
        "ct.request.policy", "Host Policy", "requestParameters.policy", "the policy included in the request"
    )
    ct_request_serialnumber = _string_at(
        "ct.request.serialnumber", "Request Serial Number", "requestParameters.serialNumber",
        "the serial number provided in the request.",
    )  # fmt: skip
    ct_request_servicename = _string_at(
        "ct.request.servicename", "Request Service", "requestParameters.serviceName",
        "the service name provided in the request.",
    )  # fmt: skip
    ct_request_subnetid = _string_at(
        "ct.request.subnetid", "Request Subnet ID", "requestParameters.subnetId",
        "the subnet ID provided in the request.",
    )  # fmt: skip
    ct_request_taskdefinition = _string_at(
        "ct.request.taskdefinition", "Request Task Definition", "requestParameters.taskDefinition",
        "the task definition prrovided in the request.",  # sic, as the official description
    )  # fmt: skip
    ct_request_username = _string_at(
        "ct.request.username", "Request User Name", "requestParameters.userName",
        "the username provided in the request.",
    )  # fmt: skip
    ct_request = _whole_at("ct.request", "Request Parameters", "requestParameters", "All request parameters.")
    ct_srcip = _string_at(
        "ct.srcip", "Source IP", "sourceIPAddress",
        "the IP address generating the event (sourceIPAddress in the json).", properties=("conversation",),
    )  # fmt: skip
    ct_useragent = _string_at(
        "ct.useragent", "User Agent", "userAgent",
        "the user agent generating the event (userAgent in the json).",
    )  # fmt: skip

    @field("ct.info", display="Info", properties=["info"], desc=(
        "summary information about the event. This varies depending on the event type and, for some "
        "events, it contains event-specific details."))  # fmt: skip
    def ct_info(self, event: Event) -> str | None:
        record = self.record(event)
        return None if record is None else event_info(record)

    ct_managementevent = _flag_at(
        "ct.managementevent", "Management Event", "managementEvent",
        "'true' if the event is a management event (AwsApiCall, AwsConsoleAction, AwsConsoleSignIn, or "
        "AwsServiceEvent), 'false' otherwise.",
    )  # fmt: skip

    @field("ct.readonly", display="Read Only", desc=(
        "'true' if the event only reads information (e.g. DescribeInstances), 'false' if the event "
        "modifies the state (e.g. RunInstances, CreateLoadBalancer...)."))  # fmt: skip
    def ct_readonly(self, event: Event) -> str | None:
        record = self.record(event)
        return None if record is None else read_only(record)

    ct_requestid = _string_at(
        "ct.requestid", "Request ID", "requestID", "The value that identifies the request."
    )
    ct_eventtype = _string_at(
        "ct.eventtype", "Event Type", "eventType",
        "Identifies the type of event that generated the event record.",
    )  # fmt: skip
    ct_apiversion = _string_at(
        "ct.apiversion", "API Version", "apiVersion",
        "The API version associated with the AwsApiCall eventType value.",
    )  # fmt: skip

    @field("ct.resources", display="Resources", desc="A list of resources accessed in the event.")
    def ct_resources(self, event: Event) -> str | None:
        record = self.record(event)
        resources = None if record is None else record.get("resources")
        if type(resources) is not list or not resources:
            return None
        return ",".join(dumps(resource) for resource in resources)

    ct_recipientaccountid = _string_at(
        "ct.recipientaccountid", "Recipient Account Id", "recipientAccountId",
        "The account ID that received this event.",
    )  # fmt: skip
    ct_serviceeventdetails = _whole_at(
        "ct.serviceeventdetails", "Service Event Details", "serviceEventDetails",
        "Identifies the service event, including what triggered the event and the result.",
    )  # fmt: skip
    ct_sharedeventid = _string_at(
        "ct.sharedeventid", "Shared Event ID", "sharedEventID",
        "GUID generated by CloudTrail to uniquely identify CloudTrail events.",
    )  # fmt: skip
    ct_vpcendpointid = _string_at(
        "ct.vpcendpointid", "VPC Endpoint ID", "vpcEndpointId",
        "Identifies the VPC endpoint in which requests were made.",
    )  # fmt: skip
    ct_eventcategory = _string_at(
        "ct.eventcategory", "Event Category", "eventCategory",
        "Shows the event category that is used in LookupEvents calls.",
    )  # fmt: skip
    ct_addendum_reason = _string_at(
        "ct.addendum.reason", "Reason", "addendum.reason",
        "The reason that the event or some of its contents were missing.",
    )  # fmt: skip
    ct_addendum_updatedfields = _string_at(
        "ct.addendum.updatedfields", "Updated Fields", "addendum.updatedFields",
        "The event record fields that are updated by the addendum.",
    )  # fmt: skip
    ct_addendum_originalrequestid = _string_at(
        "ct.addendum.originalrequestid", "Original Request ID", "addendum.originalRequestID",
        "The original unique ID of the request.",
    )  # fmt: skip
    ct_addendum_originaleventid = _string_at(
        "ct.addendum.originaleventid", "Original Event ID", "addendum.originalEventID",
        "The original event ID.",
    )  # fmt: skip
    ct_sessioncredentialfromconsole = _flag_at(
        "ct.sessioncredentialfromconsole", "Session Credential From Console", "sessionCredentialFromConsole",
        "Shows whether or not an event originated from an AWS Management Console session.",
    )  # fmt: skip
    ct_edgedevicedetails = _whole_at(
        "ct.edgedevicedetails", "Edge Device Details", "edgeDeviceDetails",
        "Information about edge devices that are targets of a request.",
    )  # fmt: skip
    ct_tlsdetails_tlsversion = _string_at(
        "ct.tlsdetails.tlsversion", "TLS Version", "tlsDetails.tlsVersion", "The TLS version of a request."
    )
    ct_tlsdetails_ciphersuite = _string_at(
        "ct.tlsdetails.ciphersuite", "TLS Cipher Suite", "tlsDetails.cipherSuite",
        "The cipher suite (combination of security algorithms used) of a request.",
    )  # fmt: skip
    ct_tlsdetails_clientprovidedhostheader = _string_at(
        "ct.tlsdetails.clientprovidedhostheader", "Client Provided Host Header",
        "tlsDetails.clientProvidedHostHeader", "The client-provided host name used in the service API call.",
    )  # fmt: skip
    ct_additionaleventdata = _whole_at(
        "ct.additionaleventdata", "Additional Event Data", "additionalEventData",
        "All additional event data attributes.",
    )  # fmt: skip

    @field("s3.uri", display="Key URI", properties=["conversation"], desc="the s3 URI (s3://<bucket>/<key>).")
    def s3_uri(self, event: Event) -> str | None:
        record = self.record(event)
        return None if record is None else s3_uri(record)

    s3_bucket = _string_at(
        "s3.bucket", "Bucket Name", "requestParameters.bucketName", "the bucket name for s3 events.",
        properties=("conversation",),
    )  # fmt: skip
    s3_key = _string_at("s3.key", "Key Name", "requestParameters.key", "the S3 key name.")

    @field("s3.bytes", display="Total Bytes", desc="the size of an s3 download or upload, in bytes.")
    def s3_bytes(self, event: Event) -> int | None:
        record = self.record(event)
        return None if record is None else s3_bytes(record)

    @field("s3.bytes.in", display="Bytes In", properties=["hidden"],
           desc="the size of an s3 upload, in bytes.")  # fmt: skip
    def s3_bytes_in(self, event: Event) -> int | None:
        data = self._additional(event)
        return transferred(data[_UPLOAD]) if data is not None and _UPLOAD in data else None

    @field("s3.bytes.out", display="Bytes Out", properties=["hidden"],
           desc="the size of an s3 download, in bytes.")  # fmt: skip
    def s3_bytes_out(self, event: Event) -> int | None:
        data = self._additional(event)
        return transferred(data[_DOWNLOAD]) if data is not None and _DOWNLOAD in data else None

    @field("s3.cnt.get", display="N Get Ops", properties=["hidden"],
           desc=("the number of get operations. This field is 1 for GetObject events, "
                 "0 otherwise."))  # fmt: skip
    def s3_cnt_get(self, event: Event) -> int | None:
        return 1 if self._event_name(event) == "GetObject" else None

    @field("s3.cnt.put", display="N Put Ops", properties=["hidden"],
           desc=("the number of put operations. This field is 1 for PutObject events, "
                 "0 otherwise."))  # fmt: skip
    def s3_cnt_put(self, event: Event) -> int | None:
        return 1 if self._event_name(event) == "PutObject" else None

    @field("s3.cnt.other", display="N Other Ops", properties=["hidden"], desc=(
        "the number of non I/O operations. This field is 0 for GetObject and PutObject events, 1 for all "
        "the other events."))  # fmt: skip
    def s3_cnt_other(self, event: Event) -> int | None:
        if self.record(event) is None:
            return None
        return None if self._event_name(event) in ("GetObject", "PutObject") else 1

    @field("ec2.name", display="Instance Name",
           desc="the name of the ec2 instances, typically stored in the instance tags.")  # fmt: skip
    def ec2_name(self, event: Event) -> str | None:
        record = self.record(event)
        items = member(record, "requestParameters", "tagSpecificationSet", "items")
        if type(items) is not list:
            return None
        name = ""
        for item in items:
            if type(item) is not dict or text(item.get("resourceType")) != "instance":
                continue
            tags = item.get("tags")
            for tag in tags if type(tags) is list else ():
                if type(tag) is dict and text(tag.get("key")) == "Name":
                    name = text(tag.get("value")) or ""
                    break  # the first Name tag of this item; a later instance item overrides it
        return name or None

    @field("ec2.imageid", display="Image Id",
           desc="the ID for the image used to run the ec2 instance in the response.")  # fmt: skip
    def ec2_imageid(self, event: Event) -> str | None:
        record = self.record(event)
        items = member(record, "responseElements", "tagSpecificationSet", "items")
        if type(items) is not list or not items or type(items[0]) is not dict:
            return None
        return text(items[0].get("imageId")) or None

    ecr_repository = _string_at(
        "ecr.repository", "ECR Repository name", "requestParameters.repositoryName",
        "the name of the ecr Repository specified in the request.",
    )  # fmt: skip
    ecr_imagetag = _string_at(
        "ecr.imagetag", "Image Tag", "requestParameters.imageTag",
        "the tag of the image specified in the request.",
    )  # fmt: skip
    iam_role = _string_at(
        "iam.role", "IAM Role", "requestParameters.roleName", "the IAM role specified in the request."
    )
    iam_policy = _string_at(
        "iam.policy", "IAM Policy", "requestParameters.policyName", "the IAM policy specified in the request."
    )

    def _additional(self, event: Event) -> dict[str, Any] | None:
        record = self.record(event)
        data = None if record is None else record.get("additionalEventData")
        return data if type(data) is dict else None

    def _event_name(self, event: Event) -> str | None:
        record = self.record(event)
        return None if record is None else text(record.get("eventName"))
