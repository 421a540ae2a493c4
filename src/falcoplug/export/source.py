"""Glue of the event sourcing entry points: open, close, progress, list_open_params,
event_to_string. Paired with ``c/source.c``, where next_batch (the hot path) lays the events out
in C after one call into :meth:`falcoplug.sdk.driver.InstanceDriver.next_batch`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from ..sdk.describe import Description

if TYPE_CHECKING:
    from .runtime import Runtime

C_SOURCE: Final = "source.c"
FAILURE: Final = 1
SUCCESS: Final = 0


def declarations(desc: Description) -> str:
    decl = [
        'extern "Python" int fpy_open(fp_state* s, fp_instance* inst, const char* params);',
        'extern "Python" void fpy_close(fp_state* s, fp_instance* inst);',
        'extern "Python" const char* fpy_get_progress(fp_state* s, fp_instance* inst, uint32_t* progress_pct);',
    ]
    if desc.has("list_open_params"):
        decl.append('extern "Python" const char* fpy_list_open_params(fp_state* s, ss_plugin_rc* rc);')
    if desc.has("event_to_string"):
        decl.append('extern "Python" const char* fpy_event_to_string(fp_state* s, const ss_plugin_event_input* evt);')
    return "\n".join(decl)


def defines(desc: Description) -> dict[str, str | int | None]:
    assert desc.sourcing is not None
    out: dict[str, str | int | None] = {
        "FP_ID": desc.info.id,
        "FP_EVENT_SOURCE": desc.info.event_source,
        "FP_MAX_EVENT_SIZE": desc.sourcing.max_event_size,
    }
    if desc.has("list_open_params"):
        out["FP_HAS_LIST_OPEN_PARAMS"] = None
    if desc.has("event_to_string"):
        out["FP_HAS_EVENT_TO_STRING"] = None
    return out


def install(rt: Runtime) -> None:
    ffi = rt.ffi

    @ffi.def_extern(name="fpy_open", error=FAILURE)
    @rt.guarded("open", FAILURE)
    def fpy_open(state: Any, inst: Any, params: Any) -> int:
        driver = rt.drivers[state.id]
        instance = driver.open(ffi.string(params).decode("utf-8", "replace"))
        if instance is None:
            rt.set_error(state, driver.last_error)
            return FAILURE
        inst.id = rt.add_instance(instance)
        return SUCCESS

    @ffi.def_extern(name="fpy_close")
    @rt.guarded("close", None)
    def fpy_close(state: Any, inst: Any) -> None:
        instance = rt.instances.pop(inst.id, None)
        if instance is not None:
            instance.close()

    @ffi.def_extern(name="fpy_get_progress", error=ffi.NULL)
    @rt.guarded("get_progress", ffi.NULL)
    def fpy_get_progress(state: Any, inst: Any, progress_pct: Any) -> Any:
        pct, text = rt.instances[inst.id].progress()
        progress_pct[0] = pct
        return rt.c_string(state.id, "get_progress", text)

    if rt.description.has("list_open_params"):

        @ffi.def_extern(name="fpy_list_open_params", error=ffi.NULL)
        @rt.guarded("list_open_params", ffi.NULL)
        def fpy_list_open_params(state: Any, rc: Any) -> Any:
            driver = rt.drivers[state.id]
            text = driver.list_open_params()
            if text is None:
                rt.set_error(state, driver.last_error)
                rc[0] = FAILURE
                return ffi.NULL
            rc[0] = SUCCESS
            return rt.c_string(state.id, "list_open_params", text)

    if rt.description.has("event_to_string"):

        @ffi.def_extern(name="fpy_event_to_string", error=ffi.NULL)
        @rt.guarded("event_to_string", ffi.NULL)
        def fpy_event_to_string(state: Any, evt: Any) -> Any:
            driver = rt.drivers[state.id]
            data = ffi.buffer(ffi.cast("char*", evt.evt), evt.evt.len)[:]
            source = None if evt.evtsrc == ffi.NULL else ffi.string(evt.evtsrc).decode("utf-8", "replace")
            text = driver.event_to_string(data, evt.evtnum, source)
            if text is None:
                rt.set_error(state, driver.last_error)
            return rt.c_string(state.id, "event_to_string", text)
