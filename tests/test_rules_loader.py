"""The rules loader: items, keys, macros and lists, append/override, exceptions, sources, versions,
YAML shapes and warnings, with Falco's messages (reference §6 items 11-24)."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
from filter_support import TEST_FIELDS, fi, resolver

from falcoplug.rules import ErrorCode, LoadResult, Priority, RulesLoader, WarningCode

# no field flagged addOutput here, so that outputs stay as written (see test_suggested_output)
SOURCES = {"test": resolver("test", [f for f in TEST_FIELDS if not f.add_output])}


def rule(
    name: str = "r",
    condition: str = "t.str = a",
    output: str = "out %t.str",
    priority: str = "INFO",
    source: str = "test",
    **extra: Any,
) -> str:
    lines = [
        f"- rule: {name}",
        "  desc: a rule",
        f"  condition: {condition}",
        f"  output: {output}",
        f"  priority: {priority}",
        f"  source: {source}",
    ]
    lines += [
        f"  {k.replace('_', '-') if k == 'skip_if_unknown_filter' else k}: {v}" for k, v in extra.items()
    ]
    return "\n".join(lines) + "\n"


def load(*contents: str, plugin_versions: dict[str, str] | None = None) -> tuple[RulesLoader, LoadResult]:
    loader = RulesLoader(SOURCES, plugin_versions or {})
    result = LoadResult("")
    for i, content in enumerate(contents):
        result = loader.load(textwrap.dedent(content), f"rules{i}.yaml")
        if not result.successful:
            break
    return loader, result


def error(*contents: str) -> tuple[ErrorCode, str]:
    _, result = load(*contents)
    assert not result.successful, "expected an error"
    problem = result.errors[0]
    assert isinstance(problem.code, ErrorCode)
    return problem.code, problem.message


def warnings(*contents: str) -> list[tuple[WarningCode, str]]:
    loader, result = load(*contents)
    assert result.successful, result.as_verbose_string(loader.contents)
    return [(w.code, w.message) for w in result.warnings]  # type: ignore[misc]


def conditions(*contents: str) -> dict[str, str]:
    loader, result = load(*contents)
    assert result.successful, result.as_verbose_string(loader.contents)
    return {r.name: r.condition for r in loader.rules}


# --- 11. undefined macros -------------------------------------------------------------------------
def test_undefined_macro_in_rule() -> None:
    assert error(rule(condition="t.str = a and nope")) == (
        ErrorCode.LOAD_ERR_VALIDATE,
        "Undefined macro 'nope' used in filter.",
    )


def test_undefined_macro_in_unused_macro_fails_the_load() -> None:
    assert error("- macro: m\n  condition: nope\n" + rule()) == (
        ErrorCode.LOAD_ERR_VALIDATE,
        "Undefined macro 'nope' used in filter.",
    )


def test_syntax_error_in_unused_macro_fails_the_load() -> None:
    code, message = error("- macro: m\n  condition: t.str =\n" + rule())
    assert code is ErrorCode.LOAD_ERR_COMPILE_CONDITION
    assert message.startswith("expected a string value or a field with a valid transformer")


# --- 12. macro visibility and loops ---------------------------------------------------------------
def test_macro_cannot_reference_a_later_macro() -> None:
    content = "- macro: a\n  condition: b\n- macro: b\n  condition: t.str = x\n" + rule(condition="a")
    assert error(content) == (ErrorCode.LOAD_ERR_VALIDATE, "Undefined macro 'b' used in filter.")


def test_rule_can_reference_a_later_macro() -> None:
    content = rule(condition="later and t.num = 1") + "- macro: later\n  condition: t.str = x\n"
    assert conditions(content) == {"r": "(t.str = x and t.num = 1)"}


def test_macros_expand_recursively() -> None:
    content = "- macro: a\n  condition: t.str = x\n- macro: b\n  condition: a or t.num = 2\n" + rule(
        condition="b"
    )
    assert conditions(content) == {"r": "(t.str = x or t.num = 2)"}


def test_macro_reference_loop() -> None:
    content = (
        "- macro: a\n  condition: t.str = x\n"
        "- macro: a\n  condition: or a\n  override:\n    condition: append\n" + rule(condition="a")
    )
    assert error(content) == (ErrorCode.LOAD_ERR_VALIDATE, "reference loop in macro 'a'")


# --- 13. lists ------------------------------------------------------------------------------------
def test_list_referencing_earlier_list_expands() -> None:
    content = "- list: base\n  items: [a, b]\n- list: more\n  items: [base, c]\n" + rule(
        condition="t.str in (more)"
    )
    assert conditions(content) == {"r": "t.str in (a, b, c)"}


def test_list_referencing_later_list_stays_literal() -> None:
    content = "- list: more\n  items: [later, c]\n- list: later\n  items: [a]\n" + rule(
        condition="t.str in (more)"
    )
    # "later" stays a literal item; it is then substituted as a list name in the condition text
    assert conditions(content) == {"r": "t.str in (a, c)"}


def test_empty_list_in_a_value_list() -> None:
    content = "- list: empty\n  items: []\n" + rule(condition="t.str in (a, empty) or t.num in (empty)")
    assert conditions(content) == {"r": "(t.str in (a) or t.num in ())"}


def test_list_items_with_spaces_are_quoted() -> None:
    content = '- list: l\n  items: ["a b", c]\n' + rule(condition="t.str in (l)")
    assert conditions(content) == {"r": 't.str in ("a b", c)'}


def test_list_substitution_is_textual() -> None:
    # even inside quotes, when blanks delimit the name
    content = "- list: l\n  items: [x]\n" + rule(condition="t.str = l or t.str = 'in l now' or t.str = 'l'")
    assert conditions(content) == {"r": '(t.str = x or t.str = "in x now" or t.str = l)'}


def test_list_append() -> None:
    content = "- list: l\n  items: [a]\n- list: l\n  items: [b]\n  override:\n    items: append\n" + rule(
        condition="t.str in (l)"
    )
    assert conditions(content) == {"r": "t.str in (a, b)"}


# --- 14. appending conditions ---------------------------------------------------------------------
def test_append_without_and_is_a_condition_error() -> None:
    content = rule(condition="t.str = a") + "- rule: r\n  condition: t.num = 1\n  append: true\n"
    code, message = error(content)
    assert code is ErrorCode.LOAD_ERR_COMPILE_CONDITION
    assert message == "unexpected token after 'a', expecting 'or', 'and'"


def test_condition_that_is_only_a_word_is_an_undefined_macro() -> None:
    assert error(rule(condition="bar")) == (
        ErrorCode.LOAD_ERR_VALIDATE,
        "Undefined macro 'bar' used in filter.",
    )


def test_append_with_and() -> None:
    content = rule(condition="t.str = a") + "- rule: r\n  condition: and t.num = 1\n  append: true\n"
    assert conditions(content) == {"r": "(t.str = a and t.num = 1)"}


def test_append_is_deprecated() -> None:
    content = rule() + "- rule: r\n  condition: and t.num = 1\n  append: true\n"
    assert (
        WarningCode.LOAD_DEPRECATED_ITEM,
        (
            "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead."
        ),
    ) in warnings(content)


# --- 15. append/override errors -------------------------------------------------------------------
def test_no_previous_item() -> None:
    assert error("- list: l\n  items: [a]\n  append: true\n")[1] == (
        "List uses 'append' or 'override.items: append' but no list by that name already exists"
    )
    assert error("- macro: m\n  condition: x\n  override:\n    condition: append\n")[1] == (
        "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists"
    )
    assert error("- rule: r\n  condition: and x\n  append: true\n")[1] == (
        "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists"
    )
    assert error("- rule: r\n  output: x\n  override:\n    output: replace\n")[1] == (
        "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists"
    )


def test_override_replace_of_list_or_macro_before_definition_defines_it() -> None:
    content = (
        "- list: l\n  items: [a]\n  override:\n    items: replace\n"
        "- macro: m\n  condition: t.num = 1\n  override:\n    condition: replace\n"
        + rule(condition="m and t.str in (l)")
    )
    assert conditions(content) == {"r": "(t.num = 1 and t.str in (a))"}


def test_override_and_append_together() -> None:
    code, message = error(
        rule() + "- rule: r\n  condition: and x\n  append: true\n  override:\n    condition: append\n"
    )
    assert code is ErrorCode.LOAD_ERR_YAML_VALIDATE
    assert message.startswith("Keys 'override' and 'append: true' cannot be used together.")


def test_priority_cannot_be_appended() -> None:
    assert error(rule() + "- rule: r\n  priority: DEBUG\n  override:\n    priority: append\n")[1] == (
        "Key 'priority' cannot be appended to, use 'replace' instead"
    )


def test_key_without_override_entry() -> None:
    content = rule() + "- rule: r\n  output: new\n  desc: d\n  override:\n    output: replace\n"
    assert error(content) == (
        ErrorCode.LOAD_ERR_YAML_VALIDATE,
        "Unexpected key 'desc': no corresponding entry under 'override' is defined.",
    )


def test_override_entry_without_key() -> None:
    assert error(rule() + "- rule: r\n  override:\n    enabled: replace\n")[1] == (
        "An replace override for 'enabled' was specified but 'enabled' is not defined"
    )


def test_invalid_override_operation() -> None:
    assert error(rule() + "- rule: r\n  output: x\n  override:\n    output: merge\n")[1] == (
        "Invalid override operation for key 'output': 'merge'. Allowed values are: append replace "
    )


def test_override_replace_and_append() -> None:
    content = rule(condition="t.str = a") + textwrap.dedent("""\
        - rule: r
          condition: and t.num = 1
          output: "new %t.num"
          priority: ERROR
          tags: [x]
          override:
            condition: append
            output: replace
            priority: replace
            tags: append
        """)
    loader, result = load(content)
    assert result.successful
    (compiled,) = loader.rules
    assert compiled.condition == "(t.str = a and t.num = 1)"
    assert compiled.output == "new %t.num"
    assert compiled.priority is Priority.ERROR
    assert compiled.tags == {"x"}


# --- 16. enabled ----------------------------------------------------------------------------------
def test_enabled_only_item_toggles_with_deprecation_warning() -> None:
    loader, result = load(rule(), "- rule: r\n  enabled: false\n")
    assert result.successful
    assert not loader.rules[0].enabled
    assert [w.code for w in result.warnings] == [WarningCode.LOAD_DEPRECATED_ITEM]
    assert result.warnings[0].message.startswith("The standalone 'enabled' key usage is deprecated.")


def test_enabled_only_item_without_rule() -> None:
    assert error("- rule: nope\n  enabled: false\n")[1] == (
        "Rule has 'enabled' key but no rule by that name already exists"
    )


def test_enabled_in_append_item_is_ignored() -> None:
    loader, result = load(
        rule(enabled="false") + "- rule: r\n  condition: and t.num = 1\n  enabled: true\n  append: true\n"
    )
    assert result.successful and not loader.rules[0].enabled


def test_enabled_replace() -> None:
    loader, _ = load(
        rule(enabled="false") + "- rule: r\n  enabled: true\n  override:\n    enabled: replace\n"
    )
    assert loader.rules[0].enabled


# --- 17. redefinition -----------------------------------------------------------------------------
def test_redefined_rule_replaces_and_keeps_its_position() -> None:
    loader, result = load(
        rule("a", condition="t.str = 1") + rule("b") + rule("a", condition="t.str = 2", priority="ERROR")
    )
    assert result.successful
    assert [(r.name, r.condition, r.priority) for r in loader.rules] == [
        ("a", "t.str = 2", Priority.ERROR),
        ("b", "t.str = a", Priority.INFORMATIONAL),
    ]


def test_later_files_override_earlier_ones() -> None:
    loader, result = load(
        rule("a") + rule("b"),
        "- rule: a\n  enabled: false\n",
        "- macro: m\n  condition: t.num = 3\n" + rule("b", condition="m"),
    )
    assert result.successful
    assert [(r.name, r.enabled, r.condition) for r in loader.rules] == [
        ("a", False, "t.str = a"),
        ("b", True, "t.num = 3"),
    ]


# --- 18. required keys and values -----------------------------------------------------------------
@pytest.mark.parametrize("missing", ["condition", "output", "desc", "priority"])
def test_new_rule_needs_all_four_keys(missing: str) -> None:
    lines = [line for line in rule().splitlines() if not line.strip().startswith(f"{missing}:")]
    assert error("\n".join(lines) + "\n") == (
        ErrorCode.LOAD_ERR_YAML_VALIDATE,
        f"Item has no mapping for key '{missing}'",
    )


def test_empty_values() -> None:
    assert error(rule(condition=""))[1] == "Mapping for key 'condition' is empty"
    assert error(rule(condition='""'))[1] == "Value must be non-empty"
    assert error(rule(condition="[a]"))[1] == "Value is not a scalar value"


def test_priorities() -> None:
    assert error(rule(priority="LOUD")) == (ErrorCode.LOAD_ERR_YAML_VALIDATE, "Invalid priority")
    for text, expected in (
        ("info", Priority.INFORMATIONAL),
        ("INFO", Priority.INFORMATIONAL),
        ("Warning", Priority.WARNING),
        ("emergency", Priority.EMERGENCY),
    ):
        loader, result = load(rule(priority=text))
        assert result.successful and loader.rules[0].priority is expected


def test_bad_boolean() -> None:
    assert error(rule(enabled="maybe"))[1] == "Can't decode YAML scalar value"


def test_lists_need_items() -> None:
    assert error("- list: l\n")[1] == "Item has no mapping for key 'items'"
    assert error("- list: l\n  items: a\n")[1] == "Value is not a sequence"
    assert error("- list: l\n  items: [[a]]\n")[1] == "sequence value is not scalar"


# --- 19. outputs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("output", ["'bad %nope.field'", "'x %'", "'%foo'", "'%(t.str)'"])
def test_bad_outputs(output: str) -> None:
    assert error(rule(output=output))[0] is ErrorCode.LOAD_ERR_COMPILE_OUTPUT


def test_output_messages() -> None:
    assert error(rule(output="'x %'"))[1] == "invalid formatting syntax: formatting cannot end with a %"
    assert error(rule(output="'%nope.field'"))[1] == "unknown filter: nope.field"


def test_skip_if_unknown_filter_turns_errors_into_warnings() -> None:
    loader, result = load(
        rule("a", output="'%nope.field'", skip_if_unknown_filter="true")
        + rule("b", condition="nope.field = 1", skip_if_unknown_filter="true")
        + rule("c")
    )
    assert result.successful
    assert [r.name for r in loader.rules] == ["c"]
    assert [(w.code, w.message) for w in result.warnings] == [
        (WarningCode.LOAD_UNKNOWN_FILTER, "unknown filter: nope.field"),
        (WarningCode.LOAD_UNKNOWN_FILTER, "filter_check called with nonexistent field nope.field"),
    ]


def test_unknown_field_in_condition() -> None:
    assert error(rule(condition="t.nope = 1")) == (
        ErrorCode.LOAD_ERR_COMPILE_CONDITION,
        "filter_check called with nonexistent field t.nope",
    )


def test_output_is_trimmed() -> None:
    loader, _ = load(rule(output="'  spaced %t.str  '"))
    assert loader.rules[0].output == "spaced %t.str"


def test_disabled_rules_are_compiled() -> None:
    assert error(rule(condition="t.nope = 1", enabled="false"))[0] is ErrorCode.LOAD_ERR_COMPILE_CONDITION


# --- 20. exceptions -------------------------------------------------------------------------------
def with_exceptions(body: str, condition: str = "t.str = a") -> str:
    return rule(condition=condition) + "  exceptions:\n" + textwrap.indent(textwrap.dedent(body), "    ")


def test_exception_compiled_condition_text() -> None:
    content = with_exceptions(
        """\
        - name: ex
          fields: [t.str]
          comps: [contains]
          values:
            - [curl 127.0.0.1]
        """,
        condition="(t.str contains curl or t.str contains wget)",
    )
    assert conditions(content) == {
        "r": '((t.str contains curl or t.str contains wget) and not t.str contains "curl 127.0.0.1")'
    }


def test_exception_forms() -> None:
    content = with_exceptions("""\
        - name: single
          fields: t.str
          comps: pmatch
          values: [/a, /b c]
        - name: pairs
          fields: [t.str, t.num]
          values:
            - [x, 1]
        - name: list_value
          fields: [t.str, t.num]
          comps: [in, intersects]
          values:
            - [[p, "q r"], 7]
        - name: no_values
          fields: [t.str]
        """)
    assert conditions(content) == {
        "r": (
            '(t.str = a and not t.str pmatch (/a, "/b c") and not (t.str = x and t.num = 1)'
            ' and not (t.str in (p, "q r") and t.num intersects (7)))'
        )
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "- name: e\n  fields: [t.str, t.num]\n  comps: [=]\n  values: [[a, 1]]\n",
            "Fields and comps lists must have equal length",
        ),
        (
            "- name: e\n  fields: [t.str, t.num]\n  values: [[a]]\n",
            "Fields and values lists must have equal length",
        ),
        (
            "- name: e\n  fields: [t.str]\n  comps: [like]\n  values: [[a]]\n",
            "'like' is not a supported comparison operator",
        ),
        ("- name: e\n  fields: [t.nope]\n  values: [[a]]\n", "'t.nope' is not a supported filter field"),
        ("- name: e\n  fields: t.nope\n  values: [a]\n", "'t.nope' is not a supported filter field"),
        (
            "- name: e\n  fields: t.str\n  comps: =\n  values: [a]\n",
            "When fields is a single value, comps must be one of (in, pmatch, intersects)",
        ),
        ("- name: e\n  values: [a]\n", "Item has no mapping for key 'fields'"),
        (
            "- name: e\n  fields: t.str\n  values: [[a]]\n",
            "Expected values array to contain a list of strings",
        ),
    ],
)
def test_exception_errors(body: str, message: str) -> None:
    assert error(with_exceptions(body))[1] == message


def test_exception_with_modifier_comp() -> None:
    content = with_exceptions(
        "- name: e\n  fields: [t.str]\n  comps: [startswith anyof]\n  values: [[[x, y]]]\n"
    )
    assert conditions(content) == {"r": "(t.str = a and not t.str startswith anyof (x, y))"}


def test_appending_exception_values() -> None:
    content = with_exceptions("- name: e\n  fields: [t.str]\n  values: [[x]]\n") + textwrap.dedent("""\
        - rule: r
          exceptions:
            - name: e
              values: [[y]]
            - name: new
              fields: t.num
              values: [5]
          override:
            exceptions: append
        """)
    assert conditions(content) == {"r": "(t.str = a and not (t.str = x or t.str = y) and not t.num in (5))"}


def test_appending_fields_to_existing_exception_is_an_error() -> None:
    content = with_exceptions("- name: e\n  fields: [t.str]\n  values: [[x]]\n") + (
        "- rule: r\n  exceptions:\n    - name: e\n      fields: [t.num]\n      values: [[1]]\n"
        "  override:\n    exceptions: append\n"
    )
    assert error(content)[1] == "Can not append exception fields to existing exception, only values"


def test_new_exception_by_append_needs_fields() -> None:
    content = (
        rule() + "- rule: r\n  exceptions:\n    - name: e\n      values: [[1]]\n  override:\n"
        "    exceptions: append\n"
    )
    assert error(content)[1] == "Rule exception must have fields property with a list of fields"


def test_duplicate_exception_names_warn() -> None:
    content = with_exceptions(
        "- name: e\n  fields: [t.str]\n  values: [[x]]\n- name: e\n  fields: [t.num]\n  values: [[1]]\n"
    )
    assert (
        WarningCode.LOAD_EXCEPTION_NAME_NOT_UNIQUE,
        "Exceptions names in the same object must be unique",
    ) in warnings(content)


# --- 21. sources ----------------------------------------------------------------------------------
def test_unknown_source_is_skipped_with_a_warning() -> None:
    loader, result = load(rule("a", source="other") + rule("b"))
    assert [r.name for r in loader.rules] == ["b"]
    assert [(w.code, w.message) for w in result.warnings] == [
        (WarningCode.LOAD_UNKNOWN_SOURCE, "Unknown source other, skipping")
    ]


def test_default_source_is_syscall() -> None:
    content = "- rule: r\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: INFO\n"
    assert warnings(content) == [(WarningCode.LOAD_UNKNOWN_SOURCE, "Unknown source syscall, skipping")]


def test_redefinition_with_another_source_is_an_error() -> None:
    assert error(rule("a") + rule("a", source="other")) == (
        ErrorCode.LOAD_ERR_VALIDATE,
        "Rule has been re-defined with a different source",
    )


def test_unknown_source_rules_are_not_field_checked() -> None:
    content = (
        rule(source="other", condition="x.y = 1") + "  exceptions:\n    - name: e\n      fields: [x.z]\n"
        "      values: [[1]]\n"
    )
    assert warnings(content) == [(WarningCode.LOAD_UNKNOWN_SOURCE, "Unknown source other, skipping")]


# --- 22. versions ---------------------------------------------------------------------------------
def test_required_engine_version() -> None:
    assert error("- required_engine_version: 100\n") == (
        ErrorCode.LOAD_ERR_VALIDATE,
        "Rules require engine version 0.100.0, but engine version is 0.63.0",
    )
    assert load("- required_engine_version: 26\n")[1].successful
    assert load("- required_engine_version: 0.26.0\n")[1].successful
    assert error("- required_engine_version: 1.0.0\n")[1] == (
        "Rules require engine version 1.0.0, but engine version is 0.63.0"
    )
    assert error("- required_engine_version: seven\n") == (
        ErrorCode.LOAD_ERR_YAML_VALIDATE,
        "Unable to parse engine version 'seven' as a semver string. Expected \"x.y.z\" semver format.",
    )


def test_required_plugin_versions() -> None:
    content = textwrap.dedent("""\
        - required_plugin_versions:
          - name: k8saudit
            version: 0.18.0
            alternatives:
              - name: k8saudit-eks
                version: 0.12.0
          - name: json
            version: 0.7.0
        """)

    def check(versions: dict[str, str]) -> str | None:
        return load(content, plugin_versions=versions)[0].check_plugin_requirements()

    assert check({"k8saudit": "0.18.1", "json": "0.7.0"}) is None
    assert check({"k8saudit-eks": "0.12.0", "json": "0.8.0"}) is None
    assert check({"json": "0.7.0"}) == (
        "Plugin requirement not satisfied, must load one of: k8saudit (>= 0.18.0), k8saudit-eks (>= 0.12.0)"
    )
    assert check({"k8saudit": "0.17.0", "json": "0.7.0"}) == (
        "Plugin 'k8saudit' version '0.17.0' is not compatible with required plugin version '0.18.0'"
    )
    assert check({"k8saudit": "1.18.0", "json": "0.7.0"}) == (
        "Plugin 'k8saudit' version '1.18.0' is not compatible with required plugin version '0.18.0'"
    )


def test_plugin_version_errors() -> None:
    assert (
        error("- required_plugin_versions: x\n")[1] == "Value of required_plugin_versions must be a sequence"
    )
    assert error("- required_plugin_versions:\n  - name: a\n")[1] == "Item has no mapping for key 'version'"
    assert error("- required_plugin_versions:\n  - name: a\n    version: x\n")[1] == (
        "Invalid required version 'x' for plugin 'a'"
    )
    assert error(
        "- required_plugin_versions:\n  - name: a\n    version: 1.0.0\n    alternatives:\n"
        "      - name: a\n        version: 1.0.0\n"
    )[1] == ("Defined multiple alternative version requirements for plugin 'a'")


# --- 23. YAML shapes ------------------------------------------------------------------------------
def test_not_yaml() -> None:
    code, _ = error("- rule: [unclosed\n")
    assert code is ErrorCode.LOAD_ERR_YAML_PARSE


def test_mapping_at_top_level() -> None:
    assert error("rule: r\n") == (
        ErrorCode.LOAD_ERR_YAML_VALIDATE,
        "Rules content is not yaml array of objects",
    )
    assert error("just text\n") == (ErrorCode.LOAD_ERR_YAML_VALIDATE, "Rules content is not yaml")


def test_sequence_of_scalars() -> None:
    assert error("- a\n- b\n") == (
        ErrorCode.LOAD_ERR_YAML_VALIDATE,
        "Unexpected element type. Each element should be a yaml associative array.",
    )


def test_error_in_second_document_stops_the_load() -> None:
    loader, result = load(rule("a") + "---\n- list: l\n---\n" + rule("b"))
    assert not result.successful
    assert result.errors[0].message == "Item has no mapping for key 'items'"
    assert loader.rules == []


def test_empty_documents_and_null_items_are_ignored() -> None:
    loader, result = load("---\n---\n- ~\n" + rule())
    assert result.successful and len(loader.rules) == 1


# --- 24. warnings ---------------------------------------------------------------------------------
def test_unused_macro_and_list() -> None:
    content = "- macro: m\n  condition: t.str = x\n- list: l\n  items: [a]\n" + rule()
    assert warnings(content) == [
        (WarningCode.LOAD_UNUSED_MACRO, "Macro not referred to by any other rule/macro"),
        (WarningCode.LOAD_UNUSED_LIST, "List not referred to by any other rule/macro"),
    ]


def test_unknown_key() -> None:
    assert warnings(rule(descr="x")) == [
        (WarningCode.LOAD_UNKNOWN_KEY, "Unknown key 'descr'. The key will be ignored.")
    ]


def test_unknown_top_level_item() -> None:
    assert warnings("- bogus: 1\n" + rule()) == [(WarningCode.LOAD_UNKNOWN_ITEM, "Unknown top level item")]


def test_unsafe_na_check() -> None:
    sources = {"k8s": resolver("k8s", [])}
    from filter_support import K8SAUDIT

    loader = RulesLoader({"k8s": resolver("k8s", K8SAUDIT)})
    result = loader.load(rule(condition="ka.user.name = <NA>", source="k8s", output="o"), "x.yaml")
    assert result.successful and sources
    assert [w.code for w in result.warnings] == [WarningCode.LOAD_UNSAFE_NA_CHECK]


def test_invalid_names_warn() -> None:
    content = "- macro: bad-name\n  condition: t.str = x\n" + rule()
    assert (
        WarningCode.LOAD_INVALID_MACRO_NAME,
        "Macro has an invalid name. Macro names must match a regular expression: ([a-zA-Z]+[a-zA-Z0-9_]*)",
    ) in warnings(content)


def test_condition_warnings_are_reported() -> None:
    assert (
        WarningCode.LOAD_COMPILE_CONDITION,
        "'t.num' may be a valid field misused as a const string value",
    ) in warnings(rule(condition="t.str = t.num"))


# --- locations ------------------------------------------------------------------------------------
def test_error_context_names_file_item_and_line() -> None:
    loader, result = load("- list: l\n  items: [a]\n" + rule(condition="t.str = a and t.nope = 1"))
    text = result.as_verbose_string(loader.contents)
    assert text.startswith(
        "rules0.yaml: Invalid\n1 Errors:\nIn rules content: (rules0.yaml:0:0)\n"
        "    rule 'r': (rules0.yaml:2:2)\n    rule condition: (rules0.yaml:4:13)\n"
        '    condition expression: ("t.str = a and t.n...":5:28)\n'
    )
    assert text.endswith(
        "LOAD_ERR_COMPILE_CONDITION (Error compiling condition): "
        "filter_check called with nonexistent field t.nope\n"
    )
    problem = result.errors[0]
    assert problem.context.file == "rules0.yaml" and problem.context.line == 4


def test_suggested_output() -> None:
    loader = RulesLoader({"test": resolver("test", [fi("t.str"), fi("t.added", add_output=True)])})
    assert loader.load(rule(output="'out'"), "x.yaml").successful
    assert loader.rules[0].output == "out t_added=%t.added"


def test_a_rules_folder_gives_its_yaml_files_by_name(tmp_path):
    """As Falco: a folder given as rules stands for its .yml and .yaml files, in name order."""
    from falcoplug.rules.loader import expand_paths

    for name in ("b.yaml", "a.yml", "notes.txt", "c.json"):
        (tmp_path / name).write_text("[]")
    (tmp_path / "sub.yaml").mkdir()
    assert expand_paths([tmp_path]) == [str(tmp_path / "a.yml"), str(tmp_path / "b.yaml")]
    assert expand_paths([tmp_path / "notes.txt"]) == [str(tmp_path / "notes.txt")]  # a file named: read


# -- the YAML composer: libyaml where it is, PyYAML's own for errors -------------------------------


def _node_tree(node: Any) -> list[tuple[Any, ...]]:
    import yaml

    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append((type(n).__name__, n.tag, n.start_mark.index, n.start_mark.line, n.start_mark.column,
                    n.end_mark.line, n.end_mark.column, n.value if isinstance(n, yaml.ScalarNode) else None))  # fmt: skip
        if isinstance(n, yaml.MappingNode):
            stack += [x for pair in reversed(n.value) for x in reversed(pair)]
        elif isinstance(n, yaml.SequenceNode):
            stack += reversed(n.value)
    return out


def test_libyaml_and_pyyaml_compose_the_same_nodes() -> None:
    import glob

    import yaml

    from falcoplug.rules import yamlnodes

    if yamlnodes._FAST_LOADER is None:
        pytest.skip("PyYAML has no libyaml 0.2.5+ here")
    files = glob.glob(str(yamlnodes.__file__).rsplit("/rules/", 1)[0] + "/plugins/data/rules/*.yaml")
    texts = [open(f, encoding="utf-8").read() for f in files]
    texts.append("- rule: é ü 日本\n  desc: \"h\\u00e9 ☃\"\n  condition: >\n    a and b\n  x: [1, {a: 3}]\n  y: |\n    é\n")
    assert files
    for text in texts:
        fast = [d.node for d in yamlnodes.load_documents(text) if d is not None]
        slow = list(yaml.compose_all(text, Loader=yamlnodes._DepthLimitedLoader))
        assert [_node_tree(d) for d in fast] == [_node_tree(d) for d in slow]


def test_a_yaml_error_is_worded_by_pyyaml_with_its_place() -> None:
    from falcoplug.rules.yamlnodes import YamlParseError, load_documents

    with pytest.raises(YamlParseError) as info:
        load_documents("- rule: a\n  desc: [unclosed\n")
    assert info.value.mark is not None and info.value.mark.line >= 1
    with pytest.raises(YamlParseError, match="nesting deeper than 1000 levels"):
        load_documents("[" * 1200 + "]" * 1200)
