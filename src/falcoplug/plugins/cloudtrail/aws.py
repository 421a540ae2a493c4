"""The AWS SDK settings of the official plugin's ``aws.go`` (accepted; the S3 and SQS inputs
they configure are not supported by this port)."""

from __future__ import annotations

from dataclasses import dataclass

from falcoplug.sdk import option


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
