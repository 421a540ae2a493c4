"""Reading values out of a CloudTrail record (the Go plugin's ``extract.go`` helpers)."""

from __future__ import annotations

import json
from typing import Any, Final


AMAZONAWS_SUFFIX: Final = ".amazonaws.com"
_U64_MAX: Final = (1 << 64) - 1

# Event names that modify state, for ct.readonly when a record has no readOnly property.
WRITE_PREFIXES: Final = (
    "Start", "Stop", "Create", "Destroy", "Delete", "Add", "Remove", "Terminate", "Put", "Associate",
    "Disassociate", "Attach", "Detach", "Open", "Close", "Wipe", "Update", "Upgrade", "Unlink", "Assign",
    "Unassign", "Suspend", "Set", "Run", "Register", "Deregister", "Reboot", "Purchase", "Modify",
    "Initialize", "Enable", "Disable", "Cancel", "Admin", "Activate",
)  # fmt: skip


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
