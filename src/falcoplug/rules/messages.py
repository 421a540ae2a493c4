"""Falco's fixed rule-loading messages (``rule_loading_messages.h`` and the warning resolver)."""

WARNING_APPEND = (
    "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead."
)
WARNING_ENABLED = (
    "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry "
    "under the 'override' key (i.e. 'enabled: replace')."
)
ERROR_OVERRIDE_APPEND = (
    "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. "
    "'condition: append') under 'override' instead."
)
ERROR_NO_PREVIOUS_MACRO = (
    "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists"
)
ERROR_NO_PREVIOUS_LIST = (
    "List uses 'append' or 'override.items: append' but no list by that name already exists"
)
ERROR_NO_PREVIOUS_RULE_APPEND = (
    "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists"
)
ERROR_NO_PREVIOUS_RULE_REPLACE = (
    "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists"
)
RGX_IDENTIFIER = "([a-zA-Z]+[a-zA-Z0-9_]*)"
RGX_BARESTR = "([^()\"'[:space:]=,]+)"
ERROR_INVALID_MACRO_NAME = (
    "Macro has an invalid name. Macro names must match a regular expression: " + RGX_IDENTIFIER
)
ERROR_INVALID_LIST_NAME = (
    "List has an invalid name. List names must match a regular expression: " + RGX_BARESTR
)
WARNING_UNSAFE_NA_CHECK = (
    "comparing a field value with <NA> is unsafe and can lead to unpredictable behavior of the rule "
    "condition. If you need to  check for the existence of a field, consider using the 'exists' "
    "operator instead."
)
UNUSED_MACRO = "Macro not referred to by any other rule/macro"
UNUSED_LIST = "List not referred to by any other rule/macro"

# Deprecated libsinsp fields, in Falco's ``deprecated_field`` order, and what Falco says of them.
DEPRECATED_FIELDS = (
    "evt.dir",
    "evt.latency",
    "evt.latency.s",
    "evt.latency.ns",
    "evt.latency.quantized",
    "evt.latency.human",
    "evt.wait_latency",
)
WARNING_EVT_DIR = (
    "due to the drop of enter events, 'evt.dir = <' always evaluates to true, and 'evt.dir = >' always "
    "evaluates to false. The rule expression can be simplified by removing the condition on 'evt.dir'"
)
WARNING_NO_ENTER_EVENTS = "field is not available due to the drop of enter events."
WARNING_NO_EVTTYPE = "Rule matches too many evt.type values. This has a significant performance penalty."


def deprecated_field_title(name: str) -> str:
    return f"Used deprecated item: field '{name}'"


def deprecated_in_output(name: str) -> str:
    return f"usage of deprecated field '{name}' has been detected in the rule output"
