"""The plugin API's numbers, for the C boundary (they live in :mod:`falcoplug.api`)."""

from ..api import *  # noqa: F403
from ..api import (  # noqa: F401 - the names the host side uses
    API_VERSION,
    API_VERSION_STR,
    FIELD_TYPE_NAMES,
    MAX_ERRLEN,
    UINT64_MAX,
    Capability,
    FieldType,
    LogSeverity,
    MetricValueType,
    Rc,
    SchemaType,
    StateType,
)
