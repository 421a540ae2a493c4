"""The bundled cloudtrail plugin (a port of the official Go plugin): identity, every field on the
shared sample logs and on synthetic records (expected values computed here from the raw JSON,
not with the plugin's code), reading files and directories, event_to_string, and the same results
from the plugin built into a shared library and loaded through the C adapter."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from falcoplug.errors import FalcoplugError
from falcoplug.framework import Inspector
from falcoplug.plugins import bundled_reference
from falcoplug.plugins.cloudtrail import CloudTrailPlugin

from shared_data import CLOUDTRAIL_DIR as SHARED  # noqa: E402
LOCAL = Path(__file__).resolve().parent / "data" / "cloudtrail"
SAMPLES = [SHARED / "alice_start_instances.json", SHARED / "alice_start_instances_bigevent.json"]
SYNTHETIC = [LOCAL / "field_cases.json", LOCAL / "rule_triggers.json"]
ALL_FILES = SAMPLES + SYNTHETIC

needs_samples = pytest.mark.skipif(not SHARED.is_dir(), reason="shared sample data not available")

# The official fields (Go plugin, v0.14.0 line): name, type, display, properties, in this order.
OFFICIAL_FIELDS = [
    ("ct.id", "string", "Event ID", ()), ("ct.error", "string", "Error Code", ()),
    ("ct.errormessage", "string", "Error Message", ()), ("ct.time", "string", "Timestamp", ("hidden",)),
    ("ct.src", "string", "AWS Service", ()), ("ct.shortsrc", "string", "AWS Service", ()),
    ("ct.name", "string", "Event Name", ()), ("ct.user", "string", "User Name", ("conversation",)),
    ("ct.user.accountid", "string", "User Account ID", ()),
    ("ct.user.identitytype", "string", "User Identity Type", ()),
    ("ct.user.principalid", "string", "User Principal Id", ()), ("ct.user.arn", "string", "User ARN", ()),
    ("ct.region", "string", "Region", ()), ("ct.response.subnetid", "string", "Response Subnet ID", ()),
    ("ct.response.reservationid", "string", "Response Reservation ID", ()),
    ("ct.response", "string", "Response Elements", ()),
    ("ct.request.availabilityzone", "string", "Request Availability Zone", ()),
    ("ct.request.cluster", "string", "Request Cluster", ()),
    ("ct.request.functionname", "string", "Request Function Name", ()),
    ("ct.request.groupname", "string", "Request Group Name", ()),
    ("ct.request.host", "string", "Request Host Name", ()), ("ct.request.name", "string", "Host Name", ()),
    ("ct.request.policy", "string", "Host Policy", ()),
    ("ct.request.serialnumber", "string", "Request Serial Number", ()),
    ("ct.request.servicename", "string", "Request Service", ()),
    ("ct.request.subnetid", "string", "Request Subnet ID", ()),
    ("ct.request.taskdefinition", "string", "Request Task Definition", ()),
    ("ct.request.username", "string", "Request User Name", ()),
    ("ct.request", "string", "Request Parameters", ()), ("ct.srcip", "string", "Source IP", ("conversation",)),
    ("ct.useragent", "string", "User Agent", ()), ("ct.info", "string", "Info", ("info",)),
    ("ct.managementevent", "string", "Management Event", ()), ("ct.readonly", "string", "Read Only", ()),
    ("ct.requestid", "string", "Request ID", ()), ("ct.eventtype", "string", "Event Type", ()),
    ("ct.apiversion", "string", "API Version", ()), ("ct.resources", "string", "Resources", ()),
    ("ct.recipientaccountid", "string", "Recipient Account Id", ()),
    ("ct.serviceeventdetails", "string", "Service Event Details", ()),
    ("ct.sharedeventid", "string", "Shared Event ID", ()), ("ct.vpcendpointid", "string", "VPC Endpoint ID", ()),
    ("ct.eventcategory", "string", "Event Category", ()), ("ct.addendum.reason", "string", "Reason", ()),
    ("ct.addendum.updatedfields", "string", "Updated Fields", ()),
    ("ct.addendum.originalrequestid", "string", "Original Request ID", ()),
    ("ct.addendum.originaleventid", "string", "Original Event ID", ()),
    ("ct.sessioncredentialfromconsole", "string", "Session Credential From Console", ()),
    ("ct.edgedevicedetails", "string", "Edge Device Details", ()),
    ("ct.tlsdetails.tlsversion", "string", "TLS Version", ()),
    ("ct.tlsdetails.ciphersuite", "string", "TLS Cipher Suite", ()),
    ("ct.tlsdetails.clientprovidedhostheader", "string", "Client Provided Host Header", ()),
    ("ct.additionaleventdata", "string", "Additional Event Data", ()),
    ("s3.uri", "string", "Key URI", ("conversation",)), ("s3.bucket", "string", "Bucket Name", ("conversation",)),
    ("s3.key", "string", "Key Name", ()), ("s3.bytes", "uint64", "Total Bytes", ()),
    ("s3.bytes.in", "uint64", "Bytes In", ("hidden",)), ("s3.bytes.out", "uint64", "Bytes Out", ("hidden",)),
    ("s3.cnt.get", "uint64", "N Get Ops", ("hidden",)), ("s3.cnt.put", "uint64", "N Put Ops", ("hidden",)),
    ("s3.cnt.other", "uint64", "N Other Ops", ("hidden",)), ("ec2.name", "string", "Instance Name", ()),
    ("ec2.imageid", "string", "Image Id", ()), ("ecr.repository", "string", "ECR Repository name", ()),
    ("ecr.imagetag", "string", "Image Tag", ()), ("iam.role", "string", "IAM Role", ()),
    ("iam.policy", "string", "IAM Policy", ()),
]  # fmt: skip
FIELDS = [name for name, *_ in OFFICIAL_FIELDS]


# -- the expected values, from the raw records -------------------------------------------------------


def records_of(path: Path) -> list[dict[str, Any]]:
    """The records of a file the plugin turns into events: RFC 3339 eventTime and eventType
    strings, no CloudTrail Insight."""
    rfc3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
    out = []
    for rec in json.loads(path.read_bytes())["Records"]:
        when, kind = rec.get("eventTime"), rec.get("eventType")
        if (
            isinstance(when, str)
            and rfc3339.fullmatch(when)
            and isinstance(kind, str)
            and kind != "AwsCloudTrailInsight"
        ):
            out.append(rec)
    return out


def event_ns(when: str) -> int:
    """eventTime in ns (fromisoformat stops at microseconds, so the fraction is added here)."""
    base = re.sub(r"\.\d+", "", when).replace("Z", "+00:00")
    fraction = re.search(r"\.(\d+)", when)
    extra = int(fraction.group(1)[:9].ljust(9, "0")) if fraction else 0
    return int(datetime.fromisoformat(base).timestamp()) * 10**9 + extra


def at(rec: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(rec, dict):
            return None
        rec = rec.get(key)
    return rec


def string(rec: dict[str, Any], path: str) -> str | None:
    value = at(rec, path)
    return value if isinstance(value, str) else None


def as_text(rec: dict[str, Any], key: str) -> str | None:
    """A whole value: a string as is, else compact JSON; absent: None."""
    if key not in rec:
        return None
    value = rec[key]
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def byte_count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return 0
    return int(value)


def expected(rec: dict[str, Any]) -> dict[str, Any]:
    """Every field's value for one record (None: no value), written from the field semantics."""
    s = lambda path: string(rec, path)
    kind = s("userIdentity.type")
    user = {
        "Root": s("userIdentity.userName"), "IAMUser": s("userIdentity.userName"),
        "AWSService": s("userIdentity.invokedBy"),
        "AssumedRole": s("userIdentity.sessionContext.sessionIssuer.userName") or "AssumedRole",
        "AWSAccount": "AWSAccount", "FederatedUser": "FederatedUser",
    }.get(kind)  # fmt: skip
    source = s("eventSource")
    name = s("eventName")
    if "readOnly" in rec:
        readonly = "true" if rec["readOnly"] is True else "false"
    else:  # no readOnly: guessed from the name (these records only have write names)
        readonly = (
            None
            if name is None
            else "false"
            if name.startswith(("Start", "Create", "Put", "Delete"))
            else "true"
        )
    extra = rec.get("additionalEventData") if isinstance(rec.get("additionalEventData"), dict) else {}
    b_in = byte_count(extra["bytesTransferredIn"]) if "bytesTransferredIn" in extra else None
    b_out = byte_count(extra["bytesTransferredOut"]) if "bytesTransferredOut" in extra else None
    bucket, key = s("requestParameters.bucketName"), s("requestParameters.key")
    resources = rec.get("resources")
    items = at(rec, "requestParameters.tagSpecificationSet.items") or []
    instance_names = [
        next((t["value"] for t in item.get("tags", []) if t.get("key") == "Name"), None)
        for item in items if item.get("resourceType") == "instance"
    ]  # fmt: skip
    instance_names = [n for n in instance_names if n]
    images = at(rec, "responseElements.tagSpecificationSet.items") or [{}]

    def flag(key: str) -> str | None:
        return None if key not in rec else ("true" if rec[key] in (True, "true") else "false")

    return {
        "ct.id": s("eventID"), "ct.error": s("errorCode"), "ct.errormessage": s("errorMessage"),
        "ct.time": s("eventTime"), "ct.src": source,
        "ct.shortsrc": None if source is None else source.removesuffix(".amazonaws.com"),
        "ct.name": name, "ct.user": user,
        "ct.user.accountid": s("userIdentity.accountId") or s("recipientAccountId"),
        "ct.user.identitytype": kind, "ct.user.principalid": s("userIdentity.principalId"),
        "ct.user.arn": s("userIdentity.arn"), "ct.region": s("awsRegion"),
        "ct.response.subnetid": s("responseElements.subnetId"),
        "ct.response.reservationid": s("responseElements.reservationId"),
        "ct.response": as_text(rec, "responseElements"),
        "ct.request.availabilityzone": s("requestParameters.availabilityZone"),
        "ct.request.cluster": s("requestParameters.cluster"),
        "ct.request.functionname": s("requestParameters.functionName"),
        "ct.request.groupname": s("requestParameters.groupName"), "ct.request.host": s("requestParameters.Host"),
        "ct.request.name": s("requestParameters.name"), "ct.request.policy": s("requestParameters.policy"),
        "ct.request.serialnumber": s("requestParameters.serialNumber"),
        "ct.request.servicename": s("requestParameters.serviceName"),
        "ct.request.subnetid": s("requestParameters.subnetId"),
        "ct.request.taskdefinition": s("requestParameters.taskDefinition"),
        "ct.request.username": s("requestParameters.userName"),
        "ct.request": as_text(rec, "requestParameters"), "ct.srcip": s("sourceIPAddress"),
        "ct.useragent": s("userAgent"),
        "ct.info": INFO.get(s("eventID") or "", "(any)"),
        "ct.managementevent": flag("managementEvent"), "ct.readonly": readonly,
        "ct.requestid": s("requestID"), "ct.eventtype": s("eventType"), "ct.apiversion": s("apiVersion"),
        "ct.resources": ",".join(json.dumps(r, separators=(",", ":")) for r in resources) if resources else None,
        "ct.recipientaccountid": s("recipientAccountId"),
        "ct.serviceeventdetails": as_text(rec, "serviceEventDetails"), "ct.sharedeventid": s("sharedEventID"),
        "ct.vpcendpointid": s("vpcEndpointId"), "ct.eventcategory": s("eventCategory"),
        "ct.addendum.reason": s("addendum.reason"), "ct.addendum.updatedfields": s("addendum.updatedFields"),
        "ct.addendum.originalrequestid": s("addendum.originalRequestID"),
        "ct.addendum.originaleventid": s("addendum.originalEventID"),
        "ct.sessioncredentialfromconsole": flag("sessionCredentialFromConsole"),
        "ct.edgedevicedetails": as_text(rec, "edgeDeviceDetails"),
        "ct.tlsdetails.tlsversion": s("tlsDetails.tlsVersion"), "ct.tlsdetails.ciphersuite": s("tlsDetails.cipherSuite"),
        "ct.tlsdetails.clientprovidedhostheader": s("tlsDetails.clientProvidedHostHeader"),
        "ct.additionaleventdata": as_text(rec, "additionalEventData"),
        "s3.uri": f"s3://{bucket}/{key}" if bucket is not None and key is not None else None,
        "s3.bucket": bucket, "s3.key": key,
        "s3.bytes": None if b_in is None and b_out is None else (b_in or 0) + (b_out or 0),
        "s3.bytes.in": b_in, "s3.bytes.out": b_out,
        "s3.cnt.get": 1 if name == "GetObject" else None, "s3.cnt.put": 1 if name == "PutObject" else None,
        "s3.cnt.other": None if name in ("GetObject", "PutObject") else 1,
        "ec2.name": instance_names[-1] if instance_names else None,
        "ec2.imageid": images[0].get("imageId") or None,
        "ecr.repository": s("requestParameters.repositoryName"), "ecr.imagetag": s("requestParameters.imageTag"),
        "iam.role": s("requestParameters.roleName"), "iam.policy": s("requestParameters.policyName"),
    }  # fmt: skip


# ct.info, pinned by event ID: "<user> [via <srcip>] [!]<←|→> <name>" then S3 details.
ALICE_INFO = "Alice via 205.251.233.176 → StartInstances"
INFO = {
    "": ALICE_INFO,  # the two shared samples have no eventID
    "case-01-s3-get": "app-role via 10.0.3.17 ← GetObject Size=1048576 URI=s3://reports/2024/q2 {draft}.pdf",
    "case-02-s3-put-by-service": "cloudformation.amazonaws.com → PutObject Size=2048 URI=s3://templates/stack.yaml",
    "case-03-ecr-error": "dave via 203.0.113.5 !→ PutImage",
    "case-04-iam-federated": "FederatedUser via 203.0.113.6 → AttachRolePolicy",
    "case-05-aws-account": "AWSAccount via sts.amazonaws.com ← AssumeRole",
    "case-06-unknown-user-type": "<invalid cloudtrail event: userIdentity field missing>",
    "case-07-no-user-identity": "<invalid cloudtrail event: userIdentity field missing>",
    "case-08-ec2-tags": "<invalid cloudtrail event: userIdentity field missing>",
    "case-09-user-equals-srcip": "heidi ← ListBuckets Size=0 Host=s3.amazonaws.com",
    "case-10-root-delete-bucket": "root-user via 203.0.113.10 → DeleteBucket Bucket=old-logs",
    "case-11-minimal": "<invalid cloudtrail event: eventSource field missing>",  # sic: it is sourceIPAddress
    "case-12-no-region": "AssumedRole via 10.1.2.3 ← DescribeTrails",
    "case-13-no-name": "<invalid cloudtrail event: eventName field missing>",
    "trig-01-console-login-no-mfa": "bob via 198.51.100.7 → ConsoleLogin",
    "trig-02-root-login-no-mfa": "<invalid cloudtrail event: userIdentity field missing>",
    "trig-03-assumed-role-login": "Admin via 198.51.100.9 → ConsoleLogin",
    "trig-04-failed-login": "bob via 198.51.100.7 !→ ConsoleLogin",
    "trig-05-login-with-mfa": "bob via 198.51.100.7 → ConsoleLogin",
    "trig-06-deactivate-root-mfa": "<invalid cloudtrail event: userIdentity field missing>",
    "trig-07-create-user": "bob via 198.51.100.7 → CreateUser",
    "trig-08-stop-logging": "bob via 198.51.100.7 → StopLogging",
    "trig-09-public-access-block": (
        "bob via 198.51.100.7 → PutBucketPublicAccessBlock BlockPublicAcls=false BlockPublicPolicy=false "
        "IgnorePublicAcls=false RestrictPublicBuckets=false "
    ),
    "trig-10-run-instances": "bob via 198.51.100.7 → RunInstances",
}


# -- running the plugin --------------------------------------------------------------------------------


def run(location: Any, params: str, fields: list[str] | None = None) -> tuple[list[Any], list[list[Any]]]:
    """Events and the values of ``fields`` (default: all) for each, from a fresh inspector."""
    insp = Inspector()
    insp.load(location, "")
    insp.open("cloudtrail", params)
    plan = insp.plan("aws_cloudtrail", fields or FIELDS)
    events, rows = [], []
    for batch in insp.batches():
        for event, row in plan.rows(batch):
            events.append((event.ts, bytes(event.payload), insp.plugin_info(event)))
            rows.append(row)
    insp.destroy()
    return events, rows


def test_identity_and_fields():
    info = CloudTrailPlugin.plugin_info()
    assert (info.name, info.version, CloudTrailPlugin.id, CloudTrailPlugin.event_source) == (
        "cloudtrail", "0.14.0", 2, "aws_cloudtrail",
    )  # fmt: skip
    assert info.contact == "github.com/falcosecurity/plugins/"
    assert bundled_reference("cloudtrail") == "falcoplug.plugins.cloudtrail"
    fields = json.loads(CloudTrailPlugin.fields_json())
    assert [
        (f["name"], f["type"], f["display"], tuple(f.get("properties", ()))) for f in fields
    ] == OFFICIAL_FIELDS
    descs = {f["name"]: f["desc"] for f in fields}
    assert descs["ct.error"] == (
        'The error code from the event. Will be "<NA>" (e.g. the NULL/empty/none value) if there was no error.'
    )
    assert descs["ct.shortsrc"] == (
        "the source of the cloudtrail event (eventSource in the json, without the '.amazonaws.com' trailer)."
    )
    assert descs["ct.id"] == "the unique ID of the cloudtrail event (eventID in the json)."
    assert descs["ct.request.taskdefinition"] == "the task definition prrovided in the request."
    assert not any("isList" in f or "arg" in f for f in fields)


def test_init_schema_accepts_the_official_options():
    schema = json.loads(CloudTrailPlugin.config_model().schema_json())
    props = schema["properties"]
    assert {k: props[k]["default"] for k in props if k != "aws"} == {
        "s3DownloadConcurrency": 32, "s3Interval": "", "sqsDelete": True, "useAsync": True, "useS3SNS": False,
        "s3AccountList": "", "sqsOwnerAccount": "",
    }  # fmt: skip
    assert set(props["aws"]["properties"]) == {"profile", "region", "config", "credentials"}
    insp = Inspector()
    config = {"s3DownloadConcurrency": 4, "sqsDelete": False, "useAsync": False, "useS3SNS": True,
              "s3Interval": "1d", "aws": {"region": "us-east-1", "profile": "default"}}  # fmt: skip
    insp.load("cloudtrail", config)
    insp.open("cloudtrail", str(SYNTHETIC[0]))
    assert sum(len(b) for b in insp.batches()) == len(records_of(SYNTHETIC[0]))
    insp.destroy()
    with pytest.raises(FalcoplugError, match="s3DownloadConcurrency"):
        Inspector().load("cloudtrail", {"s3DownloadConcurrency": "many"})


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_field_on_every_record(path):
    if not path.exists():
        pytest.skip("shared sample data not available")
    events, rows = run("cloudtrail", str(path))
    records = records_of(path)
    assert len(events) == len(records) > 0
    raw = path.read_bytes()
    for (ts, payload, _), row, rec in zip(events, rows, records):
        assert json.loads(payload) == rec and payload in raw  # the record's original bytes
        assert ts == event_ns(rec["eventTime"])
        want = expected(rec)
        got = dict(zip(FIELDS, row))
        assert got == want, {k: (got[k], want[k]) for k in FIELDS if got[k] != want[k]}


def test_every_field_has_values_in_the_test_data():
    if not all(path.exists() for path in ALL_FILES):
        pytest.skip("shared sample data not available")
    seen: dict[str, set[Any]] = {name: set() for name in FIELDS}
    for path in ALL_FILES:
        if path.exists():
            for rec in records_of(path):
                for name, value in expected(rec).items():
                    seen[name].add(value)
    assert [name for name, values in seen.items() if not values - {None}] == []
    # ... and no value in some record, but for those that every event has.
    assert [name for name, values in seen.items() if None not in values] == [
        "ct.time",
        "ct.info",
        "ct.eventtype",
    ]


@needs_samples
def test_sample_values():
    """The shared samples, field by field, as literals."""
    for path in SAMPLES:
        events, rows = run("cloudtrail", str(path))
        assert len(events) == 1
        got = {k: v for k, v in zip(FIELDS, rows[0]) if v is not None}
        assert got == {
            "ct.time": "2014-03-06T21:22:54Z", "ct.src": "ec2.amazonaws.com", "ct.shortsrc": "ec2",
            "ct.name": "StartInstances", "ct.user": "Alice", "ct.user.accountid": "123456789012",
            "ct.user.identitytype": "IAMUser", "ct.user.principalid": "EX_PRINCIPAL_ID",
            "ct.user.arn": "arn:aws:iam::123456789012:user/Alice", "ct.region": "us-east-2",
            "ct.response": (
                '{"instancesSet":{"items":[{"instanceId":"i-ebeaf9e2","currentState":{"code":0,"name":"pending"},'
                '"previousState":{"code":80,"name":"stopped"}}]}}'
            ),
            "ct.request": '{"instancesSet":{"items":[{"instanceId":"i-ebeaf9e2"}]}}',
            "ct.srcip": "205.251.233.176", "ct.useragent": "ec2-api-tools 1.6.12.2", "ct.info": ALICE_INFO,
            "ct.readonly": "false",  # no readOnly: "Start..." is a write
            "ct.eventtype": "AwsApiCall", "s3.cnt.other": 1,
        }  # fmt: skip
        ts, _, text = events[0]
        assert ts == 1394140974 * 10**9
        assert text == "us-east-2 Alice ec2 StartInstances " + ALICE_INFO


def test_readonly_guess_without_the_property(tmp_path):
    names = ["DescribeInstances", "GetObject", "RunInstances", "TerminateInstances", "AdminGetUser", "Starter",
             "ListBuckets", "Activate", "ConsoleLogin"]  # fmt: skip
    base = {"eventTime": "2024-01-01T00:00:00Z", "eventType": "AwsApiCall"}
    records = [dict(base, eventName=n) for n in names] + [
        dict(base, readOnly=None),
        dict(base, readOnly=True),
    ]
    (tmp_path / "r.json").write_text(json.dumps({"Records": records}))
    _, rows = run("cloudtrail", str(tmp_path / "r.json"), ["ct.readonly", "ct.info"])
    assert [r[0] for r in rows] == ["true", "true", "false", "false", "false", "false", "true", "false", "true",
                                    "false", "true"]  # fmt: skip
    assert rows[-1][1] == "<invalid cloudtrail event: userIdentity field missing>"


def test_event_to_string():
    events, _ = run("cloudtrail", str(SYNTHETIC[0]), ["ct.id"])
    texts = {json.loads(payload)["eventID"]: text for _, payload, text in events}
    assert texts["case-01-s3-get"] == "eu-central-1 app-role s3 GetObject " + INFO["case-01-s3-get"]
    assert (
        texts["case-05-aws-account"] == "us-east-1 AWSAccount sts AssumeRole " + INFO["case-05-aws-account"]
    )
    # An absent user: the official plugin prints its placeholder glued to the region.
    assert texts["case-06-unknown-user-type"] == (
        "us-west-2<unknown user type> ecs CreateService <invalid cloudtrail event: userIdentity field missing>"
    )
    assert texts["case-08-ec2-tags"] == (
        "us-east-1<NA> ec2 RunInstances <invalid cloudtrail event: userIdentity field missing>"
    )
    assert texts["case-07-no-user-identity"].startswith("us-west-2 lambda CreateFunction20150331 <invalid")
    assert texts["case-11-minimal"] == "<invalid JSON: event did not contain a source>"
    assert texts["case-12-no-region"] == "<invalid JSON: event did not contain an awsRegion>"
    assert texts["case-13-no-name"] == "<invalid JSON: event did not contain an eventName>"


def test_event_time_and_record_parsing():
    from falcoplug.plugins.cloudtrail import parse_event_time, parse_record

    assert parse_event_time("2024-02-29T23:59:59Z") == 1709251199 * 10**9
    assert parse_event_time("2024-01-01T01:00:00,25+01:00") == 1704067200 * 10**9 + 250_000_000
    assert parse_event_time("2024-01-01T00:00:00.1234567891-00:30") == 1704069000 * 10**9 + 123_456_789
    for bad in (
        "2023-02-29T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:00:00z",
        "2024-01-01T00:00:00",
        "2024-01-01t00:00:00Z",
        "2024-01-01T00:00:00+24:00",
        "2024-13-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
    ):
        assert parse_event_time(bad) is None, bad  # fmt: skip
    assert parse_record(b'\0{"a": 1}\0\0') == {"a": 1}  # NUL bytes trimmed, as the official plugin
    assert parse_record(b"[1]") is None and parse_record(b"not json") is None


# -- reading files and directories ---------------------------------------------------------------------


def ids_of(params: str, config: Any = "") -> list[str]:
    insp = Inspector()
    insp.load("cloudtrail", config)
    insp.open("cloudtrail", params)
    plan = insp.plan("aws_cloudtrail", ["ct.id"])
    out = [row[0] for batch in insp.batches() for _, row in plan.rows(batch)]
    insp.destroy()
    return out


def test_directory_walk_gzip_and_progress(tmp_path):
    triggers, cases = SYNTHETIC[1], SYNTHETIC[0]
    (tmp_path / "b" / "nested").mkdir(parents=True)
    (tmp_path / "a.json").write_bytes(triggers.read_bytes())
    (tmp_path / "b" / "nested" / "x.json.gz").write_bytes(gzip.compress(cases.read_bytes()))
    (tmp_path / "b" / "0.json").write_bytes(gzip.compress(b'{"Records":[]}'))  # gzip found by magic
    (tmp_path / "b" / "notes.txt").write_bytes(triggers.read_bytes())  # not a log file name: skipped
    (tmp_path / "c.json.gz").write_bytes(b"\x1f\x8b not really gzip")  # skipped with a warning
    triggers_ids = [r["eventID"] for r in records_of(triggers)]
    cases_ids = [r["eventID"] for r in records_of(cases)]
    assert (
        ids_of(str(tmp_path)) == triggers_ids + cases_ids
    )  # a.json, b/0.json, b/nested/x.json.gz, c.json.gz

    insp = Inspector()
    insp.load("cloudtrail", "")
    insp.open("cloudtrail", str(tmp_path))
    progress = [insp.progress()]
    for _ in insp.batches():
        progress.append(insp.progress())
    insp.destroy()
    assert progress[0] == (0.0, "0.00% - 0/4 files")
    assert progress[-1] == (100.0, "100.00% - 4/4 files")
    # An explicit file is read whatever its name, gzipped or not.
    assert ids_of(str(tmp_path / "b" / "notes.txt")) == triggers_ids
    assert ids_of(str(tmp_path / "b" / "nested" / "x.json.gz")) == cases_ids


def test_batches_span_files_and_keep_order(tmp_path):
    record = json.loads(SYNTHETIC[1].read_text())["Records"][6]
    for f in range(3):
        records = [dict(record, eventID=f"{f}-{i}") for i in range(700)]
        (tmp_path / f"{f}.json").write_text(json.dumps({"Records": records}))
    assert ids_of(str(tmp_path)) == [f"{f}-{i}" for f in range(3) for i in range(700)]


def test_record_splitting(tmp_path):
    """One event per object directly inside the top-level object (arrays do not count), braces in
    strings ignored, each event the record's original bytes."""
    first = (
        '{"eventID":"a}{","eventTime":"2024-01-01T00:00:00Z","eventType":"AwsApiCall","x":{"y":[{"z":1}]}}'
    )
    second = '{ "eventID" : "b\\"{" , "eventTime":"2024-01-01T00:00:01.5Z", "eventType":"AwsApiCall"}'
    body = f'{{"Records":[{first},\n {second}, {{"eventID":"no-time","eventType":"AwsApiCall"}}], "x": 1}}'
    (tmp_path / "f.json").write_text(body)
    events, rows = run("cloudtrail", str(tmp_path / "f.json"), ["ct.id"])
    assert [e[1].decode() for e in events] == [first, second]
    assert [r[0] for r in rows] == ["a}{", 'b"{']
    assert [e[0] for e in events] == [1704067200 * 10**9, 1704067201 * 10**9 + 500_000_000]
    # A file cut short (an interrupted copy) is not JSON: its complete records still count.
    (tmp_path / "cut.json").write_text(f'{{"Records":[{first},\n {second}, {{"eventID":"cut", "eventTi')
    events, _ = run("cloudtrail", str(tmp_path / "cut.json"), ["ct.id"])
    assert [e[1].decode() for e in events] == [first, second]


def test_open_errors(tmp_path):
    def open_error(params: str) -> str:
        insp = Inspector()
        insp.load("cloudtrail", "")
        with pytest.raises(FalcoplugError) as info:
            insp.open("cloudtrail", params)
        insp.destroy()
        return str(info.value)

    assert "cloudtrail plugin error: missing input directory argument" in open_error("")
    assert f"cloudtrail plugin error: cannot open {tmp_path}/nope" in open_error(f"{tmp_path}/nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    assert f"cloudtrail plugin error: no json files found in {tmp_path}/empty" in open_error(
        f"{tmp_path}/empty"
    )
    for remote in ("s3://my-bucket/AWSLogs/111122223333/", "sqs://my-queue"):
        message = open_error(remote)
        assert "not supported by this port" in message and remote.split("/")[0] in message


def test_record_too_large(tmp_path):
    big = {
        "eventID": "big",
        "eventTime": "2024-01-01T00:00:00Z",
        "eventType": "AwsApiCall",
        "pad": "x" * 300_000,
    }
    (tmp_path / "big.json").write_text(json.dumps({"Records": [big]}))
    insp = Inspector()
    insp.load("cloudtrail", "")
    insp.open("cloudtrail", str(tmp_path / "big.json"))
    with pytest.raises(
        FalcoplugError, match=r"cloudwatch message too long: 300\d\d\d, but 262144 were written"
    ):
        list(insp.batches())
    insp.destroy()


# -- the built library ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built_library(tmp_path_factory) -> Path:
    from falcoplug.export import build_library

    if shutil.which("gcc") is None and shutil.which("cc") is None:
        pytest.skip("no C compiler")
    return build_library("falcoplug.plugins.cloudtrail", tmp_path_factory.mktemp("ct") / "libcloudtrail.so")


def test_built_library_gives_the_same_results(built_library, tmp_path):
    data = tmp_path / "logs"
    data.mkdir()
    for path in ALL_FILES:
        if path.exists():
            shutil.copy(path, data / path.name)
    (data / "more.json.gz").write_bytes(gzip.compress(SYNTHETIC[1].read_bytes()))
    in_process = run("cloudtrail", str(data))
    through_c = run(str(built_library), str(data))
    assert len(in_process[0]) == sum(len(records_of(p)) for p in ALL_FILES if p.exists()) + 10
    assert through_c == in_process


def test_both_record_splitters_agree():
    """Valid files are split by the JSON decoder (each record parsed once), others by the brace
    scan; on valid files both give the same records."""
    from falcoplug.plugins.cloudtrail import file_records, parse_records, split_records

    for path in ALL_FILES:
        if path.exists():
            data = path.read_bytes()
            assert parse_records(data.decode()) is not None
            assert [raw for raw, _ in file_records(data)] == list(split_records(data))
    tricky = '{"Records": [{"a": "}{"}, [{"b": [{"c": 1}]}]], "x": {"y": 2}, "z": [1, {"q": "\\u00e9"}]}'
    assert [raw for raw, _ in file_records(tricky.encode())] == list(split_records(tricky.encode())) == [
        b'{"a": "}{"}', b'{"b": [{"c": 1}]}', b'{"y": 2}', b'{"q": "\\u00e9"}',
    ]  # fmt: skip
    for bad in ('{"Records": [{"a": 1}]} {"Records": [{"b": 2}]}', '[{"a": {"b": 1}}]', '{"R": [{"a": 1},]}'):
        assert parse_records(bad) is None
        assert [raw for raw, _ in file_records(bad.encode())] == list(split_records(bad.encode()))
