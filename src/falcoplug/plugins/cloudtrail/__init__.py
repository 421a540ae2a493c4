"""cloudtrail: a port of the official Falco ``cloudtrail`` plugin; AWS CloudTrail log files in,
``ct.*``, ``s3.*``, ``ec2.*``, ``ecr.*`` and ``iam.*`` fields out. Its user documentation is
``README.md`` beside this file.

This module gives the plugin its identity and joins its halves: the source (``source.py``) and
the fields (``fields.py``).
"""

from __future__ import annotations

import json

from falcoplug.sdk import Event

from .aws import AwsConfig
from .config import CloudTrailConfig
from .extract import event_info, get_user, parse_record, short_source, text
from .fields import CloudTrailFields
from .source import (
    MAX_RECORD_SIZE,
    CloudTrailError,
    CloudTrailFiles,
    CloudTrailSource,
    file_records,
    parse_event_time,
    parse_records,
    split_records,
)

__all__ = [
    "AwsConfig",
    "CloudTrailConfig",
    "CloudTrailError",
    "CloudTrailFiles",
    "CloudTrailPlugin",
    "file_records",
    "parse_event_time",
    "parse_record",
    "parse_records",
    "split_records",
]


class CloudTrailPlugin(CloudTrailSource, CloudTrailFields):
    """reads cloudtrail JSON data saved to file in the directory specified in the settings"""

    name = "cloudtrail"
    version = "0.14.0"
    contact = "github.com/falcosecurity/plugins/"
    id = 2
    event_source = "aws_cloudtrail"
    max_event_size = MAX_RECORD_SIZE

    def init(self, config: CloudTrailConfig) -> None:
        self.config = config

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
