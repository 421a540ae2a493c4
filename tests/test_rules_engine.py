"""Matching: rule_matching first/all, the priority threshold, evaluation order, and the guard index
(which must never change results: checked against a plain evaluation of every rule)."""

from __future__ import annotations

import random
import textwrap

import pytest
from filter_support import TEST_FIELDS, DictValues, resolver

from falcoplug.rules import Priority, RuleEngine, RulesLoader

SOURCES = {"test": resolver("test", [f for f in TEST_FIELDS if not f.add_output])}


def rules_text(*specs: tuple[str, str, str]) -> str:
    out = []
    for name, condition, priority in specs:
        out.append(
            textwrap.dedent(f"""\
            - rule: {name}
              desc: d
              condition: {condition}
              output: "{name} %t.str"
              priority: {priority}
              source: test
            """)
        )
    return "".join(out)


def loaded(*specs: tuple[str, str, str]) -> RulesLoader:
    loader = RulesLoader(SOURCES)
    result = loader.load(rules_text(*specs), "rules.yaml")
    assert result.successful, result.as_verbose_string(loader.contents)
    return loader


SPECS = (
    ("r1", "t.str = a", "WARNING"),
    ("r2", "t.str in (a, b)", "ERROR"),
    ("r3", "t.num > 1", "DEBUG"),
    ("r4", "t.str = a and t.num = 5", "CRITICAL"),
)


def names(engine: RuleEngine, values: dict[str, object]) -> list[str]:
    return [r.name for r in engine.match("test", DictValues(values))]


def test_first_match_only_by_default() -> None:
    engine = RuleEngine(loaded(*SPECS).rules)
    assert names(engine, {"t.str": "a", "t.num": 5}) == ["r1"]
    assert names(engine, {"t.str": "b", "t.num": 5}) == ["r2"]
    assert names(engine, {"t.str": "z"}) == []


def test_all_matches() -> None:
    engine = RuleEngine(loaded(*SPECS).rules, rule_matching="all")
    assert names(engine, {"t.str": "a", "t.num": 5}) == ["r1", "r2", "r3", "r4"]


def test_priority_threshold() -> None:
    engine = RuleEngine(loaded(*SPECS).rules, min_priority="error", rule_matching="all")
    assert names(engine, {"t.str": "a", "t.num": 5}) == ["r2", "r4"]
    engine = RuleEngine(loaded(*SPECS).rules, min_priority=Priority.WARNING)
    assert names(engine, {"t.str": "z", "t.num": 5}) == []
    with pytest.raises(ValueError):
        RuleEngine([], min_priority="loud")
    with pytest.raises(ValueError):
        RuleEngine([], rule_matching="some")


def test_disabled_rules_do_not_match() -> None:
    loader = RulesLoader(SOURCES)
    assert loader.load(rules_text(*SPECS) + "- rule: r1\n  enabled: false\n", "x.yaml").successful
    assert names(RuleEngine(loader.rules), {"t.str": "a"}) == ["r2"]


def test_evaluation_order_is_first_definition() -> None:
    loader = RulesLoader(SOURCES)
    content = rules_text(
        ("a", "t.num = 1", "INFO"), ("b", "t.num = 1", "INFO"), ("a", "t.num in (1, 2)", "INFO")
    )
    assert loader.load(content, "x.yaml").successful
    assert names(RuleEngine(loader.rules), {"t.num": 1}) == ["a"]


def test_unknown_source_matches_nothing() -> None:
    engine = RuleEngine(loaded(*SPECS).rules)
    assert engine.match("other", DictValues({})) == []
    assert engine.fields("other") == ()


def test_fields_to_prefetch() -> None:
    engine = RuleEngine(loaded(*SPECS).rules)
    assert sorted(f.text for f in engine.fields("test")) == ["t.num", "t.str"]


def test_include_filter() -> None:
    engine = RuleEngine(loaded(*SPECS).rules, include=lambda r: r.name != "r1")
    assert names(engine, {"t.str": "a"}) == ["r2"]


def test_guard_index_is_used() -> None:
    engine = RuleEngine(loaded(*SPECS).rules)
    rules = engine.sources["test"]
    assert [f.text for f in rules.index_fields] == ["t.str"]
    values = DictValues({"t.str": "zzz", "t.num": 0})
    assert rules.match(values) == []
    # r3 (no guard) is the only candidate; r1, r2 and r4 are skipped by the index
    assert rules.candidates(values.value).bit_count() == 1


CONDITIONS = [
    "t.str = {a}",
    "t.str in ({a}, {b})",
    "t.str != {a}",
    "not t.str = {a}",
    "t.num = {n}",
    "t.num in ({n}, 3)",
    "t.str = {a} and t.num = {n}",
    "(t.str = {a} or t.str = {b}) and t.num > {n}",
    "t.str = {a} or t.num = {n}",
    "t.str2 = {b} and t.str intersects ({a})",
    "t.num exists",
    "t.str startswith {a}",
    "t.bool = true",
    "t.str = {a} and (t.num in (1, 2) or t.num = {n})",
    "t.list intersects ({a}, {b})",
    "t.str2 = {a} and not t.num = 3",
]


@pytest.mark.parametrize("seed", range(5))
def test_index_never_changes_results(seed: int) -> None:
    rng = random.Random(seed)
    letters = ["a", "b", "c", "d"]
    specs = []
    for i in range(30):
        template = rng.choice(CONDITIONS)
        condition = template.format(a=rng.choice(letters), b=rng.choice(letters), n=rng.randint(0, 4))
        specs.append((f"r{i}", condition, rng.choice(["INFO", "ERROR"])))
    loader = loaded(*specs)
    for mode in ("first", "all"):
        engine = RuleEngine(loader.rules, rule_matching=mode)
        for _ in range(200):
            event: dict[str, object] = {}
            for field, choices in (
                ("t.str", letters),
                ("t.str2", letters),
                ("t.num", [0, 1, 2, 3, 4]),
                ("t.bool", [True, False]),
                ("t.list", [["a"], ["c", "d"], []]),
            ):
                if rng.random() < 0.8:
                    event[field] = rng.choice(choices)
            expected = [r.name for r in loader.rules if r.filter.evaluate(DictValues(event))]
            if mode == "first":
                expected = expected[:1]
            assert names(engine, event) == expected, (event, mode)
