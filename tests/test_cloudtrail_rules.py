"""The official cloudtrail rules file over the bundled cloudtrail and json plugins: it loads with no
error, warning or unknown field; the shared sample logs match no enabled rule (and do match the
catch-all rule once it is enabled); synthetic records trigger the rules pinned below; the command
line and the built library give the same alerts."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from falcoplug.cli.main import main
from falcoplug.framework import Inspector
from falcoplug.pipeline import Pipeline, Rules, RuleSettings

from shared_data import CLOUDTRAIL_DIR as SHARED  # noqa: E402
from shared_data import RULES_DIR  # noqa: E402

RULES_FILE = RULES_DIR / "aws_cloudtrail_rules.yaml"
TRIGGERS = Path(__file__).resolve().parent / "data" / "cloudtrail" / "rule_triggers.json"
CASES = TRIGGERS.with_name("field_cases.json")

pytestmark = pytest.mark.skipif(
    not RULES_FILE.exists() or not SHARED.is_dir(), reason="shared rules and sample data not available"
)

# rule_matching "first" (Falco's default): the first matching rule of each event, in file order.
# Why each rule's condition holds for its record:
EXPECTED_FIRST = [
    # IAM user bob, ConsoleLogin, no errorCode, responseElements.ConsoleLogin = "Success",
    # additionalEventData.MFAUsed = "No", identity type IAMUser (not AssumedRole).
    ("Console Login Without MFA", "trig-01-console-login-no-mfa"),
    # The same for the Root identity: this rule comes before "Console Root Login Without MFA".
    ("Console Login Without MFA", "trig-02-root-login-no-mfa"),
    # identity type AssumedRole, successful ConsoleLogin without errorCode.
    ("Console Login Through Assume Role", "trig-03-assumed-role-login"),
    # (trig-04 has an errorCode and trig-05 used MFA: no rule.)
    # DeactivateMFADevice by Root, requestParameters.userName = "AWS ROOT USER", no errorCode.
    ("Deactivate MFA for Root User", "trig-06-deactivate-root-mfa"),
    # CreateUser without errorCode.
    ("Create AWS user", "trig-07-create-user"),
    # StopLogging (a trail's logging disabled) without errorCode.
    ("CloudTrail Logging Disabled", "trig-08-stop-logging"),
    # PutBucketPublicAccessBlock, requestParameters.publicAccessBlock = "" and every flag of
    # PublicAccessBlockConfiguration false (json.value gives the text "false").
    ("Delete Bucket Public Access Block", "trig-09-public-access-block"),
    # RunInstances without errorCode ("Run Instances" comes before the region rule).
    ("Run Instances", "trig-10-run-instances"),
]
# rule_matching "all": also the rules that come later in the file.
EXPECTED_ALL = sorted(EXPECTED_FIRST + [
    # Root ConsoleLogin without MFA: identity type Root.
    ("Console Root Login Without MFA", "trig-02-root-login-no-mfa"),
    # awsRegion eu-west-3 is not in approved_regions (us-east-0).
    ("Run Instances in Non-approved Region", "trig-10-run-instances"),
], key=lambda a: (a[1], a[0]))  # fmt: skip


def detector(
    location: str = "cloudtrail", rules: list[Path] | None = None, matching: str = "first"
) -> Pipeline:
    host = Inspector()
    host.load(location, "")
    host.load("json", "")
    loaded = Rules(host, RuleSettings(rule_matching=matching))
    assert loaded.load_paths(rules or [RULES_FILE]) == []  # no warning
    return Pipeline(host, rules=loaded)


def event_ids() -> dict[int, str]:
    """The eventID of the synthetic records by timestamp (each has its own eventTime)."""
    ids = {}
    for path in (TRIGGERS, CASES):
        for rec in json.loads(path.read_text())["Records"]:
            if "eventTime" in rec:
                when = datetime.fromisoformat(rec["eventTime"].replace("Z", "+00:00").replace(" ", "T"))
                ids[int(when.timestamp()) * 10**9] = rec["eventID"]
    return ids


def alerts(pipeline: Pipeline, params: str) -> list[tuple[str, str | None, str]]:
    """(rule, eventID, alert text) of every alert, in event order."""
    host, ids = pipeline.host, event_ids()
    host.open("cloudtrail", params)
    out = []
    for batch in host.batches():
        for alert in pipeline.alerts(batch):
            out.append((alert.rule.name, ids.get(alert.time_ns), alert.text))
    host.destroy()
    return out


def test_official_rules_load_with_every_field_known():
    pipeline = detector()
    assert pipeline.rules is not None and pipeline.rules.count == 20  # 22 rules, 2 disabled
    engine = pipeline.rules.engine
    assert engine is not None and set(engine.sources) == {"aws_cloudtrail"}
    resolver = pipeline.host.resolver("aws_cloudtrail")
    used = {"ct.error", "ct.name", "ct.region", "ct.request.username", "ct.src", "ct.user.identitytype", "ct.id",
            "ct.user", "ct.srcip", "ct.user.arn", "ct.user.principalid", "s3.bucket", "ct.request.policy"}  # fmt: skip
    for name in used:
        assert resolver.resolve(name, None) is not None
    pipeline.host.destroy()


def test_sample_logs_match_no_enabled_rule():
    """The samples hold one StartInstances call each: no enabled rule's condition names that event
    (the only rule for any event, "All Cloudtrail Events", is disabled in the file)."""
    assert alerts(detector(), str(SHARED)) == []


def test_sample_logs_with_the_catch_all_rule_enabled(tmp_path):
    enable = tmp_path / "enable.yaml"
    enable.write_text("- rule: All Cloudtrail Events\n  enabled: true\n  override:\n    enabled: replace\n")
    found = alerts(detector(rules=[RULES_FILE, enable]), str(SHARED))
    info = "us-east-2 Alice ec2 StartInstances Alice via 205.251.233.176 → StartInstances"
    assert [(rule, text.split(": ", 1)[1]) for rule, _, text in found] == [
        ("All Cloudtrail Events",
         f"Debug Some Cloudtrail Event (evtnum={n} info={info} ts=2014-03-06T21:22:54.000000000+0000 id=<NA> error=<NA>)")
        for n in (1, 2)
    ]  # fmt: skip


def test_synthetic_records_trigger_the_pinned_rules():
    found = alerts(detector(), str(TRIGGERS))
    assert [(rule, ct_id) for rule, ct_id, _ in found] == EXPECTED_FIRST
    texts = {ct_id: text for _, ct_id, text in found}
    assert texts["trig-01-console-login-no-mfa"] == (
        "10:00:00.000000000: Critical Detected a console login without MFA "
        "(requesting user=bob, requesting IP=198.51.100.7, AWS region=us-east-1)"
    )
    assert texts["trig-10-run-instances"].endswith(
        "(requesting user=bob, requesting IP=198.51.100.7, AWS region=eu-west-3, availability zone=eu-west-3a, "
        "subnet id=subnet-0123456789abcdef0, reservation id=r-0123456789abcdef0)"
    )


def test_synthetic_records_with_all_matching_rules():
    found = alerts(detector(matching="all"), str(TRIGGERS))
    assert sorted(((r, i) for r, i, _ in found), key=lambda a: (a[1], a[0])) == EXPECTED_ALL
    region_alert = next(text for rule, _, text in found if rule == "Run Instances in Non-approved Region")
    assert region_alert.endswith("reservation id=r-0123456789abcdef0, image id=i-0123456789abcdef0)")


def test_built_library_gives_the_same_alerts(tmp_path):
    from falcoplug.export import build_library

    if shutil.which("gcc") is None and shutil.which("cc") is None:
        pytest.skip("no C compiler")
    lib = build_library("falcoplug.plugins.cloudtrail", tmp_path / "libcloudtrail.so")
    logs = tmp_path / "logs"
    logs.mkdir()
    for path in (TRIGGERS, CASES, *SHARED.glob("*.json")):
        shutil.copy(path, logs / path.name)
    in_process = alerts(detector(matching="all"), str(logs))
    through_c = alerts(detector(str(lib), matching="all"), str(logs))
    assert len(in_process) == 14 and through_c == in_process


def test_command_line(tmp_path):
    result = CliRunner().invoke(main, [
        "run", "-p", f"cloudtrail||{TRIGGERS.parent}", "-p", "json", "-r", str(RULES_FILE), "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    rules = [d["rule"] for d in docs]
    # field_cases.json sorts first: ECS Service Created, Create Lambda Function, Run Instances.
    assert rules == ["ECS Service Created", "Create Lambda Function", "Run Instances"] + [
        r for r, _ in EXPECTED_FIRST
    ]
    assert docs[3]["output_fields"]["ct.user"] == "bob" and docs[3]["source"] == "aws_cloudtrail"
