"""Events and alerts as data: Arrow tables from plugins and rules, files, and runs on Dask.

::

    import falcoplug.data as fd

    events = fd.read_table(["k8saudit", "json"], open="audit-logs/", fields=["evt.rawtime", "ka.verb", "ka.user.name"])
    alerts = fd.detect(["k8saudit", "json"], open="audit-logs/", rules=["k8s_audit_rules.yaml"])
    alerts.to_pandas().groupby(["rule", "ka.user.name"]).size()

Needs the ``arrow`` extra (``pip install 'falcoplug[arrow]'``); runs on a cluster need ``dask``.
"""

from ._deps import MissingExtraError, require
from .cluster import (
    AlertLines, Counts, Job, SpilledLines, merge, merge_lines, run_here, run_on_cluster, run_partition, total, write_lines,
)  # fmt: skip
from .detect import ALERT_COLUMNS, AlertTable, detect
from .partition import Partition, split_input, stateful_plugins
from .read import ColumnBuilder, read, read_table, record_batches
from .schema import arrow_type, field_schema, parse_ip, to_array
from .sinks import TableWriter, write_table

__all__ = [
    "ALERT_COLUMNS",
    "AlertTable",
    "AlertLines",
    "ColumnBuilder",
    "Counts",
    "Job",
    "MissingExtraError",
    "Partition",
    "SpilledLines",
    "TableWriter",
    "arrow_type",
    "detect",
    "field_schema",
    "merge",
    "merge_lines",
    "parse_ip",
    "read",
    "read_table",
    "record_batches",
    "require",
    "run_here",
    "run_on_cluster",
    "run_partition",
    "split_input",
    "stateful_plugins",
    "to_array",
    "total",
    "write_lines",
    "write_table",
]
