"""Matching: the enabled rules of each source, evaluated in definition order.

A rule is enabled when its ``enabled`` flag is set and its priority is at least as severe as the
threshold (Falco's ``priority`` setting). With ``rule_matching: first`` (Falco's default) an event
alerts the first matching rule only; with ``all``, every matching rule.

Speed: most rules start with an equality that every match must pass (``ka.verb=create and ...``,
``okta.evt.type = "x" and ...``); :class:`~falcoplug.filter.Guard` describes it. Rules are indexed by
one guard each (the most selective field), so an event only evaluates the rules whose guard admits
the event's value (one dictionary lookup per guard field), plus the rules without guard. Skipping a
rule whose necessary condition fails cannot change the result, so the order and semantics are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..filter import BoundField, Guard, ValueSource
from .compiler import CompiledRule
from .priority import Priority

Getter = Callable[[Any], Any]


class SourceRules:
    """The enabled rules of one event source, indexed for matching."""

    def __init__(self, source: str, rules: Iterable[CompiledRule], first_match: bool = True) -> None:
        self.source = source
        self.rules: tuple[CompiledRule, ...] = tuple(rules)
        self.first_match = first_match
        self._tests = tuple(r.filter.test for r in self.rules)
        seen: dict[int, BoundField] = {}
        for rule in self.rules:
            for f in rule.fields:
                seen.setdefault(id(f), f)
        self.fields: tuple[BoundField, ...] = tuple(seen.values())
        self._build_index()

    def _build_index(self) -> None:
        """Candidate sets as bit masks (bit i = rule i): OR-ing them keeps the definition order."""
        chosen = _choose_guards(self.rules)
        self._always = sum(1 << i for i, g in enumerate(chosen) if g is None)
        indexes: dict[int, tuple[BoundField, dict[Any, int]]] = {}
        for i, guard in enumerate(chosen):
            if guard is None:
                continue
            _, masks = indexes.setdefault(id(guard.field), (guard.field, {}))
            for value in guard.values:
                masks[value] = masks.get(value, 0) | (1 << i)
        self._indexes = tuple(indexes.values())
        self.index_fields = tuple(f for f, _ in self._indexes)

    def candidates(self, getter: Getter) -> int:
        """The rules whose guards admit this event, as a bit mask."""
        mask = self._always
        for field, masks in self._indexes:
            value = getter(field)
            if value is not None:
                try:
                    mask |= masks.get(value, 0)
                except TypeError:  # an unhashable value cannot equal any guard constant
                    pass
        return mask

    def match(self, values: ValueSource) -> list[CompiledRule]:
        return self.match_getter(values.value)

    def match_getter(self, getter: Getter) -> list[CompiledRule]:
        tests = self._tests
        mask = self.candidates(getter)
        out: list[CompiledRule] = []
        while mask:
            low = mask & -mask
            i = low.bit_length() - 1
            if tests[i](getter):
                out.append(self.rules[i])
                if self.first_match:
                    break
            mask ^= low
        return out


def _choose_guards(rules: tuple[CompiledRule, ...]) -> list[Guard | None]:
    """One guard per rule: on the field the rules split most (the most distinct guard values across
    the rules, a proxy for selectivity: ``ka.target.resource`` beats ``jevt.value[/stage]``, which
    every event has), then the guard admitting the fewest values."""
    distinct: dict[int, set[Any]] = {}
    for rule in rules:
        for guard in rule.filter.guards:
            distinct.setdefault(id(guard.field), set()).update(guard.values)

    def score(guard: Guard) -> tuple[int, int]:
        return (-len(distinct[id(guard.field)]), len(guard.values))

    return [min(rule.filter.guards, key=score) if rule.filter.guards else None for rule in rules]


class RuleEngine:
    """The rules to match per source, with Falco's priority threshold and ``rule_matching`` mode."""

    def __init__(
        self,
        rules: Iterable[CompiledRule],
        *,
        min_priority: Priority | str = Priority.DEBUG,
        rule_matching: str = "first",
        include: Callable[[CompiledRule], bool] | None = None,
    ) -> None:
        if rule_matching not in ("first", "all"):
            raise ValueError(f"rule_matching must be 'first' or 'all', not {rule_matching!r}")
        threshold = min_priority if isinstance(min_priority, Priority) else Priority.parse(min_priority)
        if threshold is None:
            raise ValueError(f"invalid priority {min_priority!r}")
        self.min_priority = threshold
        self.rule_matching = rule_matching
        by_source: dict[str, list[CompiledRule]] = {}
        for rule in sorted(rules, key=lambda r: r.order):
            if rule.enabled and rule.priority <= threshold and (include is None or include(rule)):
                by_source.setdefault(rule.source, []).append(rule)
        first = rule_matching == "first"
        self.sources: dict[str, SourceRules] = {s: SourceRules(s, rs, first) for s, rs in by_source.items()}

    def fields(self, source: str) -> tuple[BoundField, ...]:
        """Every field the conditions of ``source`` may read (for per-plugin prefetch)."""
        rules = self.sources.get(source)
        return rules.fields if rules is not None else ()

    def match(self, source: str, values: ValueSource) -> list[CompiledRule]:
        """The rules that match this event of ``source`` (at most one with ``rule_matching: first``)."""
        rules = self.sources.get(source)
        return rules.match_getter(values.value) if rules is not None else []
