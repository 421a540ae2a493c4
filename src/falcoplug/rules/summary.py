"""The summary Falco prints when it stops (``stats_manager::format``), line for line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .priority import Priority


def _short_name(priority: Priority) -> str:
    """Falco's short priority names, upper-cased as its summary prints them (``INFO``, ``WARNING``)."""
    return "INFO" if priority is Priority.INFORMATIONAL else priority.name


def falco_summary(
    alerts: int, by_priority: Mapping[str, int], by_rule: Mapping[str, int], rule_order: Sequence[str] = ()
) -> list[str]:
    """``Events detected``, then the counts by priority (most severe first) and by rule, in the order
    the rules were defined (Falco counts by rule id); rules not in ``rule_order`` come last.

    ``by_priority`` is keyed by priority text (``Warning``, ``Informational``), ``by_rule`` by name.
    """
    lines = [f"Events detected: {alerts}", "Rule counts by severity:"]
    counts = {Priority.parse(text): n for text, n in by_priority.items()}
    lines += [f"   {_short_name(p)}: {counts[p]}" for p in Priority if counts.get(p)]
    lines.append("Triggered rules by rule name:")
    position = {name: i for i, name in reversed(list(enumerate(rule_order)))}
    ordered = sorted((name for name, n in by_rule.items() if n), key=lambda name: position.get(name, len(position)))
    lines += [f"   {name}: {by_rule[name]}" for name in ordered]
    return lines
