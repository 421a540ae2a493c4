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


def test_a_doubling_chain_compiles_once_per_shared_node_and_matches_as_written_out() -> None:
    """2**30 checks once expanded: compiled in the time of the 31 macros, and the compiled filter
    answers as the same condition written out does (on a small chain, where that is possible)."""
    from falcoplug.filter import compile_filter

    fields = official_sources()["k8s_audit"]

    def doubled(levels: int) -> ast.Node:
        macros: dict[str, ast.Node] = {"m0": parse("ka.verb = create and not ka.user.name = bob")}
        for i in range(1, levels + 1):
            macros[f"m{i}"] = resolve_macros(parse(f"(m{i - 1} or m{i - 1})"), macros).node
        return macros[f"m{levels}"]

    start = time.perf_counter()
    big = compile_filter(doubled(30), fields)
    assert time.perf_counter() - start < 5.0
    small = compile_filter(doubled(4), fields)
    written = compile_filter(" or ".join(["(ka.verb = create and not ka.user.name = bob)"] * 16), fields)
    for verb in ("create", "delete", None):
        for user in ("bob", "alice", None):
            values = {"ka.verb": verb, "ka.user.name": user}
            getter = lambda bound: values[bound.info.name]  # noqa: E731
            assert small.test(getter) == written.test(getter)
            if small.test(getter):  # a false answer walks all 2**30 branches, as libsinsp would
                assert big.test(getter)


def test_a_flat_condition_of_many_terms_compiles_in_linear_time(tmp_path: Path) -> None:
    """The constants of a long condition reach the generated code as one tuple (binding them as
    keyword arguments was quadratic)."""
    def seconds(n: int) -> float:
        terms = " or ".join(f'ka.user.name = "u{i}"' for i in range(n))
        return validate(tmp_path, HEAD + RULE.format(cond=terms))[1]

    small, large = seconds(2_000), seconds(16_000)
    assert large < max(8 * 3 * small, 3.0)  # 8x the terms: well under 24x the time
