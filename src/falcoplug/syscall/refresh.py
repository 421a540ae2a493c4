"""Regenerate the package data from the reference dumps of libsinsp's tables.

``python -m falcoplug.syscall.refresh SYSCALL_FIELDS_JSON EVENT_TABLE_JSON`` writes
``data/fields.json`` and ``data/events.json``: the same facts, in the compact form the catalogue reads
(lists instead of repeated keys, only what falcoplug uses).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


def compact_fields(doc: dict[str, Any]) -> dict[str, Any]:
    classes = []
    for cls in doc["fieldclasses"]:
        fields = [
            [f["name"], f["type"], f["flags"], f["print_format_name"], f["display"], f["desc"]]
            for f in cls["fields"]
        ]
        classes.append({"name": cls["name"], "shortdesc": cls["shortdesc"], "desc": cls["desc"],
                        "flags": cls["flags"], "fields": fields})
    return {"source": doc["source"], "classes": classes}


def compact_events(doc: dict[str, Any]) -> dict[str, Any]:
    events = []
    for e in doc["events"]:
        params = [[p["name"], p["type"], p["format"], p.get("values_table")] for p in e["params"]]
        events.append([e["code"], e["name"], e["direction"], e["category"], e["flags"], params])
    names = {t["name"]: t["selects_event_codes"] for t in doc["evttypes"]}
    syscalls = {s["code"]: s["name"] for s in doc["syscalls"]}
    return {"source": doc["source"], "events": events, "value_tables": doc["value_tables"],
            "evttypes": names, "syscalls": syscalls}


def main(argv: list[str]) -> None:
    fields_doc = json.loads(Path(argv[0]).read_text())
    events_doc = json.loads(Path(argv[1]).read_text())
    DATA.mkdir(exist_ok=True)
    (DATA / "fields.json").write_text(json.dumps(compact_fields(fields_doc), separators=(",", ":")))
    (DATA / "events.json").write_text(json.dumps(compact_events(events_doc), separators=(",", ":")))


if __name__ == "__main__":
    main(sys.argv[1:])
