"""k8saudit's init config (the Go plugin's ``config.go``)."""

from __future__ import annotations

from dataclasses import dataclass

from falcoplug.sdk import option


@dataclass
class K8sAuditConfig:
    ssl_certificate: str = option(
        "/etc/falco/falco.pem", alias="sslCertificate", title="SSL certificate",
        description="The SSL Certificate to be used with the HTTPS Webhook endpoint (Default: /etc/falco/falco.pem)",
    )
    use_async: bool = option(
        True, alias="useAsync", title="Use async extraction",
        description="If true then async extraction optimization is enabled (Default: true)",
    )
    max_event_size: int = option(
        262144, alias="maxEventSize", minimum=0, title="Maximum event size",
        description="Maximum size of single audit event (Default: 262144)",
    )
    webhook_max_batch_size: int = option(
        12582912, alias="webhookMaxBatchSize", minimum=0, title="Maximum webhook request size",
        description="Maximum size of incoming webhook POST request bodies (Default: 12582912)",
    )
    ssl_key: str = option(
        "", alias="sslKey", title="SSL key",
        description="The private key of the HTTPS Webhook endpoint, when it is not in sslCertificate (Default: none)",
    )  # fmt: skip
