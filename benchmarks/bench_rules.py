"""Rules evaluation throughput: 50 rules over one source, against the same loop with no rules.

Workload: the official k8saudit rules file (48 rules, 45 macros, 18 lists) plus two rules of our own
(a transformer and an exception), 50 rules on the ``k8s_audit`` source, with the field table of
``tests/filter_support.py``. Events are synthetic audit events: mostly ordinary activity (allowed users,
reads), some creations of pods/services/roles, a few privileged pods; most events alert nothing.

Two pure-Python ValueSources are measured (the real-plugin variant is added separately):

* ``precomputed``: every field value of the event is already known (a dict); ``value`` is a lookup.
  This isolates the cost of the rules themselves.
* ``json``: the event is its JSON text; the ValueSource parses it once per event on first use and
  extracts fields lazily with a per-event cache, as an extractor plugin would.

Each run reports events/s with the rules and with no rules (the same loop and ValueSource, an empty
rule set), and the ratio. Run: ``python benchmarks/bench_rules.py [--events N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from filter_support import PLUGIN_VERSIONS, official_sources

from falcoplug.rules import RuleEngine, RulesLoader

RULES_FILE = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "rules" / "k8s_audit_rules.yaml"
EXTRA_RULES = """
- rule: Exec Into Pod By Human
  desc: an exec into a pod by a user whose name is not lowercase
  condition: kevt and ka.target.subresource = exec and not tolower(ka.user.name) = val(ka.user.name)
  output: exec by %ka.user.name into %ka.target.namespace/%ka.target.name
  priority: NOTICE
  source: k8s_audit
- rule: Secret Read
  desc: a secret read outside system namespaces
  condition: kevt and ka.target.resource = secrets and ka.verb in (get, list)
  output: secret %ka.target.name read by %ka.user.name
  priority: INFO
  source: k8s_audit
  exceptions:
    - name: system_namespaces
      fields: ka.target.namespace
      values: [kube-system, kube-public]
"""

USERS = [
    "admin",
    "system:serviceaccount:kube-system:replicaset-controller",
    "system:kube-scheduler",
    "kubelet",
    "minikube-user",
    "Jane.Doe",
    "bob",
]
RESOURCES = [
    "pods",
    "services",
    "configmaps",
    "deployments",
    "secrets",
    "namespaces",
    "roles",
    "clusterroles",
    "rolebindings",
    "serviceaccounts",
    "nodes",
    "events",
]
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
IMAGES = ["nginx", "busybox", "docker.io/library/alpine", "registry.k8s.io/pause", "evil/miner"]


def make_event(rng: random.Random) -> dict[str, Any]:
    """One synthetic audit event, as the field values an extractor would give."""
    verb = rng.choices(VERBS, weights=[30, 25, 20, 8, 8, 5, 4])[0]
    resource = rng.choice(RESOURCES)
    event: dict[str, Any] = {
        "jevt.value[/stage]": rng.choices(["ResponseComplete", "ResponseStarted"], weights=[9, 1])[0],
        "jevt.rawtime": str(1_700_000_000 + rng.randint(0, 10_000)),
        "ka.verb": verb,
        "ka.target.resource": resource,
        "ka.user.name": rng.choices(USERS, [8, 8, 5, 5, 3, 1, 1])[0],
        "ka.target.namespace": rng.choice(["default", "kube-system", "prod"]),
        "ka.target.name": f"obj-{rng.randint(0, 50)}",
        "ka.response.code": rng.choice(["200", "201", "403", "404"]),
        "ka.uri": f"/api/v1/{resource}",
        "ka.auth.decision": "allow",
        "ka.auth.reason": "RBAC",
    }
    if rng.random() < 0.1:
        event["ka.target.subresource"] = rng.choice(["exec", "attach", "status"])
    if resource == "pods" and verb == "create":
        images = rng.sample(IMAGES, rng.randint(1, 2))
        event["ka.req.pod.containers.image"] = images
        event["ka.req.pod.containers.image.repository"] = images
        event["ka.req.pod.containers.privileged"] = [rng.choice(["false", "false", "true"])]
        event["ka.req.pod.host_network"] = rng.choice(["false", "true"])
    return event


# --- ValueSources ---------------------------------------------------------------------------------
class PrecomputedValues:
    """``value`` is the bound ``get`` of a dict from BoundField to value: the cheapest possible source."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: Callable[[Any], Any] = {}.get

    def reset(self, values: Mapping[Any, Any]) -> None:
        self.value = values.get  # type: ignore[assignment]


class JsonValues:
    """Parses the event JSON on first use, then extracts and caches field values per event."""

    __slots__ = ("_cache", "_doc", "_text")

    def __init__(self) -> None:
        self._text = ""
        self._doc: dict[str, Any] | None = None
        self._cache: dict[int, Any] = {}

    def reset(self, text: str) -> None:
        self._text = text
        self._doc = None
        self._cache = {}

    def value(self, field: Any) -> Any:
        key = id(field)
        cache = self._cache
        if key in cache:
            return cache[key]
        if self._doc is None:
            self._doc = json.loads(self._text)
        value = self._doc.get(field.text)
        cache[key] = value
        return value


# --- runs -----------------------------------------------------------------------------------------
def load_engine(mode: str) -> tuple[RuleEngine, Mapping[str, Any]]:
    sources = official_sources()
    loader = RulesLoader(sources, PLUGIN_VERSIONS)
    for content, name in ((RULES_FILE.read_text(), str(RULES_FILE)), (EXTRA_RULES, "extra.yaml")):
        result = loader.load(content, name)
        if not result.successful:
            raise SystemExit(result.as_verbose_string(loader.contents))
    return RuleEngine(loader.rules, rule_matching=mode), sources


def bound_events(events: list[dict[str, Any]], resolver: Any) -> list[dict[Any, Any]]:
    def bind(text: str) -> Any:
        name, _, arg = text.partition("[")
        return resolver.resolve(name, arg[:-1] if arg else None)

    return [{bind(k): v for k, v in e.items()} for e in events]


def timed(loop: Callable[[], int], rounds: int, events: int) -> tuple[float, int]:
    best = float("inf")
    matches = 0
    for _ in range(rounds):
        start = time.perf_counter()
        matches = loop()
        best = min(best, time.perf_counter() - start)
    return events / best, matches


def run_precomputed(
    engine: RuleEngine, empty: RuleEngine, events: list[dict[Any, Any]], rounds: int
) -> dict[str, Any]:
    vs = PrecomputedValues()

    def loop(eng: RuleEngine) -> Callable[[], int]:
        def run() -> int:
            n = 0
            match = eng.match
            for values in events:
                vs.reset(values)
                n += len(match("k8s_audit", vs))  # type: ignore[arg-type]
            return n

        return run

    with_rules, matches = timed(loop(engine), rounds, len(events))
    without, _ = timed(loop(empty), rounds, len(events))
    return {"with_rules": with_rules, "no_rules": without, "matches": matches}


def run_json(engine: RuleEngine, empty: RuleEngine, texts: list[str], rounds: int) -> dict[str, Any]:
    vs = JsonValues()
    fields = engine.fields("k8s_audit")

    def loop(eng: RuleEngine, touch: bool) -> Callable[[], int]:
        def run() -> int:
            n = 0
            match = eng.match
            for text in texts:
                vs.reset(text)
                if touch:
                    vs.value(fields[0])  # the no-rules run still decodes each event once
                n += len(match("k8s_audit", vs))  # type: ignore[arg-type]
            return n

        return run

    with_rules, matches = timed(loop(engine, False), rounds, len(texts))
    without, _ = timed(loop(empty, True), rounds, len(texts))
    return {"with_rules": with_rules, "no_rules": without, "matches": matches}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mode", choices=["first", "all"], default="first")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    engine, sources = load_engine(args.mode)
    empty = RuleEngine([])
    rules = engine.sources["k8s_audit"].rules
    rng = random.Random(args.seed)
    raw = [make_event(rng) for _ in range(args.events)]
    print(
        f"{len(rules)} rules on k8s_audit, rule_matching={args.mode}, {args.events} events, best of {args.rounds}"
    )
    for name, result in (
        ("precomputed", run_precomputed(engine, empty, bound_events(raw, sources["k8s_audit"]), args.rounds)),
        ("json", run_json(engine, empty, [json.dumps(e) for e in raw], args.rounds)),
    ):
        ratio = result["no_rules"] / result["with_rules"]
        per_event = 1e6 / result["with_rules"] - 1e6 / result["no_rules"]
        print(
            f"{name:12s} rules: {result['with_rules']:>10,.0f} ev/s   no rules: {result['no_rules']:>12,.0f} ev/s"
            f"   ratio {ratio:5.2f}x   rules cost {per_event:5.2f} us/event   alerts {result['matches']}"
        )


if __name__ == "__main__":
    main()
