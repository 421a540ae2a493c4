"""The bundled plugins' READMEs carry a field table generated from the field declarations."""

from __future__ import annotations

import pytest

from falcoplug.plugins import readme
from falcoplug.plugins.k8saudit import K8sAuditPlugin


def test_field_tables_are_up_to_date() -> None:
    stale = readme.stale_readmes(write=False)
    assert stale == [], f"run `python -m falcoplug.plugins.readme` to regenerate {stale}"


def test_table_lists_every_field_in_order() -> None:
    table = readme.field_table(K8sAuditPlugin)
    names = [line.split("`")[1] for line in table.splitlines() if line.startswith("| `")]
    assert names == [spec.name for spec in K8sAuditPlugin.field_specs()]
    assert names[0] == "ka.auditid" and len(names) == 100
    assert "| `ka.uri.param` | `string` | Key, Required |" in table
    assert "| `ka.req.pod.containers.image` | `string (list)` | Index |" in table


def test_markers_are_required() -> None:
    with pytest.raises(ValueError, match="README-PLUGIN-FIELDS"):
        readme.with_table("no markers here", "table")
