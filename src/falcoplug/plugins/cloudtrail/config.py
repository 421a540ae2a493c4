"""cloudtrail's init config (the Go plugin's ``config.go``)."""

from __future__ import annotations

from dataclasses import dataclass

from falcoplug.sdk import option

from .aws import AwsConfig


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
