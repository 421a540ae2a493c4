"""Glue of the entry points every plugin has: init, destroy, set_config, metrics.

Paired with ``c/common.c`` (identity strings, the state, last error). The C side calls the
``extern "Python"`` functions declared in :func:`declarations` and defined in :func:`install`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from ..sdk.describe import Description
from ..sdk.driver import PluginDriver

if TYPE_CHECKING:
    from .runtime import Runtime

C_SOURCE: Final = "common.c"
FAILURE: Final = 1
SUCCESS: Final = 0
_METRIC_U64, _METRIC_S64, _METRIC_D = 2, 3, 4


def declarations(desc: Description) -> str:
    decl = [
        'extern "Python" int fpy_init(fp_state* s, const ss_plugin_init_input* in);',
        'extern "Python" void fpy_destroy(fp_state* s);',
    ]
    if desc.has("set_config"):
        decl.append('extern "Python" int fpy_set_config(fp_state* s, const ss_plugin_set_config_input* in);')
    if desc.has("get_metrics"):
        decl.append('extern "Python" ss_plugin_metric* fpy_get_metrics(fp_state* s, uint32_t* num_metrics);')
    return "\n".join(decl)


def defines(desc: Description) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    if desc.init_schema is not None:
        out["FP_INIT_SCHEMA"] = desc.init_schema
    if desc.has("set_config"):
        out["FP_HAS_SET_CONFIG"] = None
    if desc.has("get_metrics"):
        out["FP_HAS_GET_METRICS"] = None
    if desc.required_event_schema_version is not None:
        out["FP_REQUIRED_EVENT_SCHEMA_VERSION"] = desc.required_event_schema_version
    return out


def _text(ffi: Any, ptr: Any) -> str:
    return "" if ptr == ffi.NULL else ffi.string(ptr).decode("utf-8", "replace")


def install(rt: Runtime) -> None:
    ffi = rt.ffi

    @ffi.def_extern(name="fpy_init", error=FAILURE)
    @rt.guarded("init", FAILURE)
    def fpy_init(state: Any, init_input: Any) -> int:
        driver = PluginDriver(rt.description)
        host, link = rt.host_context(state, init_input)
        if not driver.init(_text(ffi, init_input.config), rt.log_sink(init_input.owner, init_input.log_fn), host):
            rt.set_error(state, driver.last_error)
            driver.destroy()  # detaches the log route; the plugin object was not created
            for key in [k for k, ex in rt.owned.items() if ex.state_addr == link.addr]:
                del rt.owned[key]
            link.addr = 0
            return FAILURE
        state.id = rt.add_driver(driver, link)
        return SUCCESS

    @ffi.def_extern(name="fpy_destroy")
    @rt.guarded("destroy", None)
    def fpy_destroy(state: Any) -> None:
        driver = rt.drivers.get(state.id)
        try:
            if driver is not None:
                driver.destroy()  # first: entries the plugin held are given back while the state lives
        finally:
            rt.forget(state.id)

    if rt.description.has("set_config"):

        @ffi.def_extern(name="fpy_set_config", error=FAILURE)
        @rt.guarded("set_config", FAILURE)
        def fpy_set_config(state: Any, set_input: Any) -> int:
            driver = rt.drivers[state.id]
            if driver.set_config(_text(ffi, set_input.config)):
                return SUCCESS
            rt.set_error(state, driver.last_error)
            return FAILURE

    if rt.description.has("get_metrics"):

        @ffi.def_extern(name="fpy_get_metrics", error=ffi.NULL)
        @rt.guarded("get_metrics", ffi.NULL)
        def fpy_get_metrics(state: Any, num_metrics: Any) -> Any:
            driver = rt.drivers[state.id]
            metrics = driver.metrics()
            if metrics is None:
                rt.set_error(state, driver.last_error)
                return ffi.NULL
            out = ffi.new("ss_plugin_metric[]", max(1, len(metrics)))
            names = [ffi.new("char[]", m.name.encode("utf-8", "replace")) for m in metrics]
            for slot, metric, name in zip(out, metrics, names):
                slot.name = name
                slot.type = 0 if metric.monotonic else 1
                _set_metric_value(slot, metric.value)
            rt.keep(state.id, "get_metrics", (out, names))
            num_metrics[0] = len(metrics)
            return out


def _set_metric_value(slot: Any, value: int | float) -> None:
    if isinstance(value, float):
        slot.value.d, slot.value_type = value, _METRIC_D
    elif value >= 0:
        slot.value.u64, slot.value_type = min(value, 2**64 - 1), _METRIC_U64
    else:
        slot.value.s64, slot.value_type = max(value, -(2**63)), _METRIC_S64
