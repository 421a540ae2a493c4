"""Rules never hang and never overflow the stack (issue 13, items 6 and 7): macros expand into shared
sub-trees (a chain of macros, each using the previous one twice, costs its length, not 2**length),
500 nested macros load as in Falco, deeper ones and a 10,000-level YAML value are one load error
with the file and position."""

from __future__ import annotations

import time
from pathlib import Path

from filter_support import official_sources

from falcoplug.filter import ast, parse
from falcoplug.rules import validate_files
from falcoplug.rules.expansion import boolean_depth, resolve_macros

HEAD = "- required_engine_version: 0.10.0\n"
RULE = "- rule: r\n  desc: d\n  condition: {cond}\n  output: o\n  priority: INFO\n  source: k8s_audit\n"


def chain(n: int, body: str) -> str:
    """Macros m0..m{n-1}, m{i} defined from m{i-1} with ``body`` (``{p}``: the previous name)."""
    lines = ["- macro: m0\n  condition: ka.verb = create\n"]
    lines += [f"- macro: m{i}\n  condition: {body.format(p=f'm{i - 1}', i=i)}\n" for i in range(1, n)]
    return "".join(lines) + RULE.format(cond=f"m{n - 1}")


def validate(tmp_path: Path, text: str) -> tuple[str, float]:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    start = time.perf_counter()
    result = validate_files([path], official_sources())
    return result.stdout, time.perf_counter() - start


def test_macros_nested_500_deep_load_as_in_falco(tmp_path: Path) -> None:
    out, seconds = validate(tmp_path, chain(500, "{p} and ka.user.name = u{i}"))
    assert out.strip().endswith("rules.yaml: Ok") and seconds < 30


def test_macros_nested_too_deep_are_one_load_error(tmp_path: Path) -> None:
    out, seconds = validate(tmp_path, chain(1200, "not {p}"))
    assert "rules.yaml: Invalid" in out and seconds < 30
    # the first macro past the limit is the one reported
    assert "macros nested too deeply: the expanded condition is 1001 and/or/not levels deep (the maximum is 1000)" in out
    assert "macro 'm1001': (" in out and "/rules.yaml:2002:2)" in out  # the item, its file and line


def test_a_doubling_chain_expands_into_shared_trees() -> None:
    macros: dict[str, ast.Node] = {"m0": parse("ka.verb = create")}
    for i in range(1, 41):  # 2**40 checks written out; 41 distinct nodes shared
        macros[f"m{i}"] = resolve_macros(parse(f"(m{i - 1} or m{i - 1})"), macros).node
    start = time.perf_counter()
    resolution = resolve_macros(parse("m40 and ka.user.name = u"), macros)
    assert time.perf_counter() - start < 1.0
    assert resolution.first_problem() is None
    assert boolean_depth(resolution.node) == 41
    assert len(list(ast.walk(resolution.node))) < 200  # walked as a graph: each node once


def test_a_yaml_value_nested_10000_deep_is_a_parse_error(tmp_path: Path) -> None:
    text = "- rule: r\n  desc: " + "[" * 10_000 + "\n  condition: ka.verb = x\n  output: o\n  priority: INFO\n"
    out, seconds = validate(tmp_path, text)
    assert seconds < 30
    assert "rules.yaml: Invalid" in out
    assert "LOAD_ERR_YAML_PARSE (YAML parse error): nesting deeper than 1000 levels" in out
    assert "value for: (" in out and "rules.yaml:1:" in out
