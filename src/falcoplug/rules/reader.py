"""Read one rules file into the collector: item kinds, keys, overrides and Falco's messages.

Item kinds are tried in the order Falco tries them (``required_engine_version``,
``required_plugin_versions``, ``list``, ``macro``, ``rule``); anything else is an unknown top-level
item (a warning). Reading stops at the first error, which is reported with the item's context.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..filter import FieldResolver
from .collector import Collector, RuleLoadError
from .items import (
    EngineVersionInfo,
    Entry,
    ExceptionInfo,
    ListInfo,
    MacroInfo,
    PluginRequirement,
    RuleInfo,
    RuleUpdate,
)
from .messages import (
    ERROR_INVALID_LIST_NAME,
    ERROR_INVALID_MACRO_NAME,
    ERROR_OVERRIDE_APPEND,
    WARNING_APPEND,
    WARNING_ENABLED,
)
from .priority import Priority
from .results import Context, ErrorCode, ItemType, LoadResult, WarningCode
from .versions import Version
from .yamlnodes import YamlParseError, YNode, load_documents

_IDENTIFIER = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*")
_BARESTR = re.compile(r"[^()\"' \t\n\v\f\r=,]+")

LIST_KEYS = frozenset({"list", "items", "append", "override"})
MACRO_KEYS = frozenset({"macro", "condition", "append", "override"})
RULE_KEYS = frozenset(
    {
        "rule",
        "condition",
        "output",
        "desc",
        "priority",
        "source",
        "enabled",
        "tags",
        "exceptions",
        "capture",
        "capture_duration",
        "warn_evttypes",
        "skip-if-unknown-filter",
        "append",
        "override",
    }
)
EXCEPTION_KEYS = frozenset({"name", "fields", "comps", "values"})
PLUGIN_KEYS = frozenset({"name", "version", "alternatives"})

RULE_APPENDABLE = ("condition", "output", "desc", "tags", "exceptions")
RULE_REPLACEABLE = (
    "condition",
    "output",
    "desc",
    "priority",
    "capture",
    "capture_duration",
    "tags",
    "exceptions",
    "enabled",
    "warn_evttypes",
    "skip-if-unknown-filter",
)
_UPDATE_ATTRS = {"condition": "cond", "skip-if-unknown-filter": "skip_if_unknown_filter"}


def _invalid(message: str, ctx: Context) -> RuleLoadError:
    return RuleLoadError(ErrorCode.LOAD_ERR_YAML_VALIDATE, message, ctx)


# --- scalar decoding (Falco's decode_val) --------------------------------------------------------
def _value(item: YNode, key: str, ctx: Context, optional: bool) -> tuple[YNode, Context] | None:
    val = item.get(key)
    if val is None:
        if optional:
            return None
        raise _invalid(f"Item has no mapping for key '{key}'", ctx)
    if val.is_null:
        raise _invalid(f"Mapping for key '{key}' is empty", ctx)
    valctx = ctx.child(val.mark, ItemType.VALUE_FOR, key)
    if not val.is_scalar:
        raise _invalid("Value is not a scalar value", valctx)
    if val.text == "":
        raise _invalid("Value must be non-empty", valctx)
    return val, valctx


def decode_str(item: YNode, key: str, ctx: Context, optional: bool = False) -> str | None:
    found = _value(item, key, ctx, optional)
    return None if found is None else found[0].text


def decode_bool(item: YNode, key: str, ctx: Context, optional: bool = False) -> bool | None:
    found = _value(item, key, ctx, optional)
    if found is None:
        return None
    value = found[0].as_bool()
    if value is None:
        raise _invalid("Can't decode YAML scalar value", found[1])
    return value


def decode_uint(item: YNode, key: str, ctx: Context, optional: bool = False, bits: int = 32) -> int | None:
    found = _value(item, key, ctx, optional)
    if found is None:
        return None
    value = found[0].as_uint(bits)
    if value is None:
        raise _invalid("Can't decode YAML scalar value", found[1])
    return value


def decode_seq(item: YNode, key: str, ctx: Context, optional: bool) -> list[str] | None:
    val = item.get(key)
    if val is None:
        if optional:
            return None
        raise _invalid(f"Item has no mapping for key '{key}'", ctx)
    valctx = ctx.child(val.mark, ItemType.VALUE_FOR, key)
    if not val.is_seq:
        raise _invalid("Value is not a sequence", valctx)
    out = []
    for v in val.items():
        if not v.is_scalar:
            raise _invalid("sequence value is not scalar", valctx.child(v.mark, ItemType.LIST_ITEM))
        out.append(v.text)
    return out


class Reader:
    """Reads the documents of one file into a collector, reporting into one LoadResult."""

    def __init__(
        self, collector: Collector, sources: Mapping[str, FieldResolver], result: LoadResult
    ) -> None:
        self.collector = collector
        self.sources = sources
        self.result = result

    def read(self, content: str, name: str) -> bool:
        ctx = Context.for_file(name)
        try:
            docs = load_documents(content)
        except YamlParseError as exc:
            where = ctx if exc.mark is None else ctx.child(exc.mark, ItemType.VALUE_FOR)
            self.result.add_error(ErrorCode.LOAD_ERR_YAML_PARSE, exc.message, where)
            return False
        for doc in docs:
            if doc is None or doc.is_null:
                continue
            try:
                if not doc.is_map and not doc.is_seq:
                    raise _invalid("Rules content is not yaml", ctx)
                if not doc.is_seq:
                    raise _invalid("Rules content is not yaml array of objects", ctx)
                for item in doc.items():
                    if not item.is_null:
                        self.read_item(item, ctx)
            except RuleLoadError as exc:
                # Falco could go on with the next document, but stops at the first error.
                self.result.add_error(exc.code, exc.message, exc.ctx)
                return False
        return True

    # --- items ---------------------------------------------------------------------------------
    def read_item(self, item: YNode, parent: Context) -> None:
        if not item.is_map:
            raise _invalid(
                "Unexpected element type. Each element should be a yaml associative array.",
                parent.child(item.mark, ItemType.RULES_CONTENT_ITEM),
            )
        if item.get("required_engine_version") is not None:
            self._engine_version(item, parent)
        elif item.get("required_plugin_versions") is not None:
            self._plugin_versions(item, parent)
        elif item.get("list") is not None:
            self._list(item, parent)
        elif item.get("macro") is not None:
            self._macro(item, parent)
        elif item.get("rule") is not None:
            self._rule(item, parent)
        else:
            self.result.add_warning(
                WarningCode.LOAD_UNKNOWN_ITEM,
                "Unknown top level item",
                parent.child(item.mark, ItemType.RULES_CONTENT_ITEM),
            )

    def _warn_unknown_keys(self, item: YNode, known: frozenset[str], ctx: Context) -> None:
        for key, key_node, _ in item.pairs():
            if key not in known:
                self.result.add_warning(
                    WarningCode.LOAD_UNKNOWN_KEY,
                    f"Unknown key '{key}'. The key will be ignored.",
                    ctx.child(key_node.mark, ItemType.VALUE_FOR, key),
                )

    def _engine_version(self, item: YNode, parent: Context) -> None:
        ctx = parent.child(item.mark, ItemType.REQUIRED_ENGINE_VERSION)
        self._warn_unknown_keys(item, frozenset({"required_engine_version"}), ctx)
        try:
            number = decode_uint(item, "required_engine_version", ctx)
            assert number is not None
            version = Version.implicit(number)
        except RuleLoadError:
            text = decode_str(item, "required_engine_version", ctx) or ""
            parsed = Version.parse(text)
            if parsed is None:
                raise _invalid(
                    f"Unable to parse engine version '{text}' as a semver string. Expected \"x.y.z\" semver format.",
                    ctx,
                ) from None
            version = parsed
        self.collector.define_engine_version(EngineVersionInfo(ctx, version))

    def _plugin_versions(self, item: YNode, parent: Context) -> None:
        node = item.get("required_plugin_versions")
        assert node is not None
        ctx = parent.child(node.mark, ItemType.REQUIRED_PLUGIN_VERSIONS)
        if not node.is_seq:
            raise _invalid("Value of required_plugin_versions must be a sequence", ctx)
        for plugin in node.items():
            tmp = ctx.child(plugin.mark, ItemType.REQUIRED_PLUGIN_VERSIONS_ENTRY)
            if not plugin.is_map:
                raise _invalid("Plugin version must be a mapping", tmp)
            name = decode_str(plugin, "name", tmp) or ""
            pctx = ctx.child(plugin.mark, ItemType.REQUIRED_PLUGIN_VERSIONS_ENTRY, name)
            self._warn_unknown_keys(plugin, PLUGIN_KEYS, pctx)
            alternatives = [PluginRequirement(name, decode_str(plugin, "version", pctx) or "")]
            alts = plugin.get("alternatives")
            if alts is not None:
                if not alts.is_seq:
                    raise _invalid("Value of plugin version alternatives must be a sequence", pctx)
                for req in alts.items():
                    actx = pctx.child(req.mark, ItemType.REQUIRED_PLUGIN_VERSIONS_ALTERNATIVE)
                    if not req.is_map:
                        raise _invalid("Plugin version alternative must be a mapping", actx)
                    alt_name = decode_str(req, "name", actx) or ""
                    actx = pctx.child(req.mark, ItemType.REQUIRED_PLUGIN_VERSIONS_ALTERNATIVE, alt_name)
                    alternatives.append(PluginRequirement(alt_name, decode_str(req, "version", actx) or ""))
            self.collector.define_plugin_versions(alternatives, pctx)

    def _overrides(
        self, item: YNode, ctx: Context, appendable: tuple[str, ...], replaceable: tuple[str, ...]
    ) -> tuple[set[str], set[str]]:
        node = item.get("override")
        out_append: set[str] = set()
        out_replace: set[str] = set()
        if node is None:
            return out_append, out_replace
        octx = ctx.child(item.mark, ItemType.OVERRIDE)
        for key, key_node, value in node.pairs():
            operation = value.text
            if operation == "append":
                if key not in appendable:
                    raise _invalid(
                        f"Key '{key}' cannot be appended to, use 'replace' instead",
                        octx.child(key_node.mark, ItemType.OVERRIDE, key),
                    )
                out_append.add(key)
            elif operation == "replace":
                if key not in replaceable:
                    raise _invalid(
                        f"Key '{key}' cannot be replaced", octx.child(key_node.mark, ItemType.OVERRIDE, key)
                    )
                out_replace.add(key)
            else:
                allowed = ("append " if key in appendable else "") + (
                    "replace " if key in replaceable else ""
                )
                raise _invalid(
                    f"Invalid override operation for key '{key}': '{operation}'. Allowed values are: {allowed}",
                    octx.child(value.mark, ItemType.VALUE_FOR, key),
                )
        return out_append, out_replace

    def _append_flag(self, item: YNode, ctx: Context) -> bool:
        append = bool(decode_bool(item, "append", ctx, optional=True))
        if append:
            self.result.add_warning(WarningCode.LOAD_DEPRECATED_ITEM, WARNING_APPEND, ctx)
        return append

    def _list(self, item: YNode, parent: Context) -> None:
        name = decode_str(item, "list", parent.child(item.mark, ItemType.LIST)) or ""
        ctx = parent.child(item.mark, ItemType.LIST, name)
        self._warn_unknown_keys(item, LIST_KEYS, ctx)
        if not _BARESTR.fullmatch(name):
            self.result.add_warning(WarningCode.LOAD_INVALID_LIST_NAME, ERROR_INVALID_LIST_NAME, ctx)
        info = ListInfo(name, ctx, decode_seq(item, "items", ctx, optional=False) or [])
        append = self._append_flag(item, ctx)
        over_append, over_replace = self._overrides(item, ctx, ("items",), ("items",))
        if append and (over_append or over_replace):
            raise RuleLoadError(ErrorCode.LOAD_ERR_YAML_VALIDATE, ERROR_OVERRIDE_APPEND, ctx)
        if append or "items" in over_append:
            self.collector.append_list(info)
        else:
            self.collector.define_list(info)

    def _macro(self, item: YNode, parent: Context) -> None:
        name = decode_str(item, "macro", parent.child(item.mark, ItemType.MACRO)) or ""
        ctx = parent.child(item.mark, ItemType.MACRO, name)
        self._warn_unknown_keys(item, MACRO_KEYS, ctx)
        if not _IDENTIFIER.fullmatch(name):
            self.result.add_warning(WarningCode.LOAD_INVALID_MACRO_NAME, ERROR_INVALID_MACRO_NAME, ctx)
        info = MacroInfo(name, ctx, decode_str(item, "condition", ctx) or "")
        cond_node = item.get("condition")
        assert cond_node is not None
        info.cond_ctx = ctx.child(cond_node.mark, ItemType.MACRO_CONDITION)
        append = self._append_flag(item, ctx)
        over_append, over_replace = self._overrides(item, ctx, ("condition",), ("condition",))
        if append and (over_append or over_replace):
            raise RuleLoadError(ErrorCode.LOAD_ERR_YAML_VALIDATE, ERROR_OVERRIDE_APPEND, ctx)
        if append or "condition" in over_append:
            self.collector.append_macro(info)
        else:
            self.collector.define_macro(info)

    # --- rules ---------------------------------------------------------------------------------
    def _rule(self, item: YNode, parent: Context) -> None:
        name = decode_str(item, "rule", parent.child(item.mark, ItemType.RULE)) or ""
        ctx = parent.child(item.mark, ItemType.RULE, name)
        self._warn_unknown_keys(item, RULE_KEYS, ctx)
        append = self._append_flag(item, ctx)
        over_append, over_replace = self._overrides(item, ctx, RULE_APPENDABLE, RULE_REPLACEABLE)
        if append and (over_append or over_replace):
            raise RuleLoadError(ErrorCode.LOAD_ERR_YAML_VALIDATE, ERROR_OVERRIDE_APPEND, ctx)
        if over_append or over_replace:
            self._rule_overrides(item, name, ctx, over_append, over_replace)
        elif append:
            self._rule_append(item, name, ctx)
        else:
            self._rule_define(item, name, ctx)

    def _rule_overrides(
        self, item: YNode, name: str, ctx: Context, over_append: set[str], over_replace: set[str]
    ) -> None:
        expected = {k for k in RULE_APPENDABLE + RULE_REPLACEABLE if item.get(k) is not None}
        for kind, keys, collect in (
            ("append", over_append, self.collector.append_rule),
            ("replace", over_replace, self.collector.replace_rule),
        ):
            if not keys:
                continue
            update = RuleUpdate(name, ctx)
            for key in RULE_APPENDABLE if kind == "append" else RULE_REPLACEABLE:
                if key not in keys:
                    continue
                if key not in expected:
                    raise _invalid(
                        f"An {kind} override for '{key}' was specified but '{key}' is not defined", ctx
                    )
                expected.discard(key)
                self._update_key(item, key, update, ctx)
            collect(update, self.sources)
        for key in sorted(expected, key=(RULE_APPENDABLE + RULE_REPLACEABLE).index):
            node = item.get(key)
            assert node is not None
            raise _invalid(
                f"Unexpected key '{key}': no corresponding entry under 'override' is defined.",
                ctx.child(node.mark, ItemType.OVERRIDE, key),
            )

    def _update_key(self, item: YNode, key: str, update: RuleUpdate, ctx: Context) -> None:
        attr = _UPDATE_ATTRS.get(key, key)
        if key in ("condition", "output", "desc"):
            setattr(update, attr, decode_str(item, key, ctx))
            if key == "condition":
                node = item.get(key)
                assert node is not None
                update.cond_ctx = ctx.child(node.mark, ItemType.RULE_CONDITION)
        elif key == "tags":
            update.tags = set(decode_seq(item, "tags", ctx, optional=True) or [])
        elif key == "exceptions":
            update.exceptions = self._exceptions(item, ctx, append=True)
        elif key == "priority":
            update.priority = self._priority(item, ctx)
        elif key == "capture_duration":
            update.capture_duration = decode_uint(item, key, ctx, bits=64)
        else:
            setattr(update, attr, decode_bool(item, key, ctx))

    def _priority(self, item: YNode, ctx: Context) -> Priority:
        text = decode_str(item, "priority", ctx) or ""
        node = item.get("priority")
        assert node is not None
        priority = Priority.parse(text)
        if priority is None:
            raise _invalid("Invalid priority", ctx.child(node.mark, ItemType.RULE_PRIORITY))
        return priority

    def _rule_append(self, item: YNode, name: str, ctx: Context) -> None:
        update = RuleUpdate(name, ctx)
        cond = item.get("condition")
        if cond is not None:
            update.cond_ctx = ctx.child(cond.mark, ItemType.RULE_CONDITION)
            update.cond = decode_str(item, "condition", ctx)
        if item.get("exceptions") is not None:
            update.exceptions = self._exceptions(item, ctx, append=True)
        self.collector.append_rule(update, self.sources)

    def _rule_define(self, item: YNode, name: str, ctx: Context) -> None:
        if all(item.get(k) is None for k in ("condition", "output", "desc", "priority")):
            enabled = decode_bool(item, "enabled", ctx)
            self.result.add_warning(WarningCode.LOAD_DEPRECATED_ITEM, WARNING_ENABLED, ctx)
            self.collector.enable_rule(name, bool(enabled), ctx)
            return
        info = RuleInfo(name, ctx)
        info.cond = decode_str(item, "condition", ctx) or ""
        info.cond_ctx = ctx.child(_node(item, "condition").mark, ItemType.RULE_CONDITION)
        info.output = decode_str(item, "output", ctx) or ""
        info.output_ctx = ctx.child(_node(item, "output").mark, ItemType.RULE_OUTPUT)
        info.desc = decode_str(item, "desc", ctx) or ""
        _ = decode_str(item, "priority", ctx)
        info.output = info.output.strip()
        info.priority = self._priority(item, ctx)
        info.source = decode_str(item, "source", ctx, optional=True) or "syscall"
        for key, attr in (
            ("enabled", "enabled"),
            ("warn_evttypes", "warn_evttypes"),
            ("skip-if-unknown-filter", "skip_if_unknown_filter"),
            ("capture", "capture"),
        ):
            value = decode_bool(item, key, ctx, optional=True)
            if value is not None:
                setattr(info, attr, value)
        duration = decode_uint(item, "capture_duration", ctx, optional=True, bits=64)
        if duration is not None:
            info.capture_duration = duration
        info.tags = set(decode_seq(item, "tags", ctx, optional=True) or [])
        info.exceptions = self._exceptions(item, ctx, append=False)
        self.collector.define_rule(info, self.sources, self.result)

    # --- exceptions ----------------------------------------------------------------------------
    def _exceptions(self, item: YNode, parent: Context, append: bool) -> list[ExceptionInfo]:
        node = item.get("exceptions")
        if node is None or node.is_null:
            return []
        exes_ctx = parent.child(node.mark, ItemType.EXCEPTIONS)
        if not node.is_seq:
            raise _invalid("Rule exceptions must be a sequence", exes_ctx)
        out: list[ExceptionInfo] = []
        for ex in node.items():
            tmp = exes_ctx.child(ex.mark, ItemType.EXCEPTION)
            if not ex.is_map:
                raise _invalid("Rule exception must be a mapping", tmp)
            name = decode_str(ex, "name", tmp) or ""
            ex_ctx = parent.child(ex.mark, ItemType.EXCEPTION, name)
            self._warn_unknown_keys(ex, EXCEPTION_KEYS, ex_ctx)
            if any(e.name == name for e in out):
                self.result.add_warning(
                    WarningCode.LOAD_EXCEPTION_NAME_NOT_UNIQUE,
                    "Exceptions names in the same object must be unique",
                    ex_ctx,
                )
            info = ExceptionInfo(name, ex_ctx)
            info.fields = _entry(ex, "fields", ex_ctx, optional=append)
            info.comps = _entry(ex, "comps", ex_ctx, optional=True)
            values = ex.get("values")
            if values is not None:
                vals_ctx = ex_ctx.child(values.mark, ItemType.EXCEPTION_VALUES)
                if not values.is_seq:
                    raise _invalid("Rule exception values must be a sequence", vals_ctx)
                for val in values.items():
                    info.values.append(
                        _entry_node(val, vals_ctx.child(val.mark, ItemType.EXCEPTION_VALUE), "")
                    )
            elif append:
                self.result.add_warning(
                    WarningCode.LOAD_APPEND_NO_VALUES, "Overriding/appending exception with no values", ex_ctx
                )
            out.append(info)
        return out


def _node(item: YNode, key: str) -> YNode:
    node = item.get(key)
    assert node is not None
    return node


def _entry(item: YNode, key: str, ctx: Context, optional: bool) -> Entry:
    val = item.get(key)
    if val is None:
        if optional:
            return Entry()
        raise _invalid(f"Item has no mapping for key '{key}'", ctx)
    return _entry_node(val, ctx, key)


def _entry_node(val: YNode, ctx: Context, key: str) -> Entry:
    """An exception entry: a non-empty scalar or a sequence of entries (nested lists allowed)."""
    valctx = ctx.child(val.mark, ItemType.VALUE_FOR, key)
    entry = Entry()
    if val.is_scalar:
        if val.text == "":
            raise _invalid("Value must be non-empty", valctx)
        entry.item = val.text
    elif val.is_seq:
        entry.is_list = True
        for v in val.items():
            entry.items.append(_entry_node(v, valctx.child(v.mark, ItemType.EXCEPTION), ""))
    return entry
