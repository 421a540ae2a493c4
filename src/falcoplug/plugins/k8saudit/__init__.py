"""k8saudit: a Python port of the official Falco ``k8saudit`` plugin; Kubernetes audit events in,
``ka.*`` fields out. Its user documentation is ``README.md`` beside this file.

This module gives the plugin its identity and joins its halves: the sources (``source.py``,
``webhook.py``) and the fields (``fields.py``, ``containers.py``).
"""

from __future__ import annotations

from falcoplug.sdk import Event

from .config import K8sAuditConfig
from .containers import ContainerFields
from .decode import AuditDecoder
from .source import AuditFileInstance, AuditSource
from .timefmt import parse_time
from .walk import uri_param
from .webhook import AuditWebhookInstance

__all__ = [
    "AuditDecoder",
    "AuditFileInstance",
    "AuditWebhookInstance",
    "K8sAuditConfig",
    "K8sAuditPlugin",
    "parse_time",
    "uri_param",
]


class K8sAuditPlugin(AuditSource, ContainerFields):
    """Read Kubernetes Audit Events and monitor Kubernetes Clusters"""

    name = "k8saudit"
    version = "0.18.0"
    description = "Read Kubernetes Audit Events and monitor Kubernetes Clusters"
    contact = "github.com/falcosecurity/plugins"
    id = 1
    event_source = "k8s_audit"
    batch_capacity = 512
    max_event_size = (64 << 20) - 38

    def init(self, config: K8sAuditConfig) -> None:
        self.config = config

    def event_to_string(self, event: Event) -> str:
        return event.payload.decode("utf-8", "replace")
