"""Extraction failures are visible (issue 13, item 12): logged once per kind and field at warning
level, counted in the summary and in --metrics, fatal with --strict; each output still prints <NA>."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from falcoplug.cli.main import main
from falcoplug.errors import ExtractionError, FalcoplugError
from falcoplug.framework import extraction_errors

BAD_FIELDS = f"{Path(__file__).parent / 'misbehaving.py'}:BadFields"
ALL = "*%evt.num %boom.ok %boom.raise %boom.wrong %boom.negative %boom.scalar"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_failures_print_na_and_are_logged_once_per_kind(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="falcoplug.extraction"):
        code, out, err = run("run", "-p", f"{BAD_FIELDS}||4", "-o", ALL, "--summary")
    assert code == 0
    assert out.splitlines() == [f"{i} {i} <NA> <NA> <NA> <NA>" for i in range(1, 5)]
    warnings = [r.getMessage() for r in caplog.records if r.name == "falcoplug.extraction"]
    assert len(warnings) == 4  # one per field, not one per event
    text = "\n".join(warnings)
    assert "field boom.raise failed: ValueError: boom" in text
    assert "field boom.wrong failed: FieldValueError: expected an int, got str 'abc'" in text
    assert "field boom.negative failed: FieldValueError: -1 does not fit in an unsigned 64-bit integer" in text
    assert "field boom.scalar failed: TypeError: expected a list, got int" in text
    assert "Extraction failures: 16" in err
    assert "   boom boom.wrong (FieldValueError): 4" in err


def test_further_failures_at_debug_level_from_the_command_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "falcoplug", "-vv", "run", "-p", f"{BAD_FIELDS}||3", "-o", "*%boom.raise"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout.split() == ["<NA>"] * 3
    assert proc.stderr.count("WARNING falcoplug.extraction") == 1
    assert proc.stderr.count("DEBUG falcoplug.extraction: plugin boom: extraction of field boom.raise failed") == 2


def test_strict_makes_the_first_failure_fatal() -> None:
    code, out, err = run("run", "-p", f"{BAD_FIELDS}||3", "-o", "%boom.ok %boom.wrong", "--strict")
    assert code == 1
    assert out == ""
    assert err.strip() == (
        "falcoplug: error: plugin boom: extraction of field boom.wrong failed: "
        "FieldValueError: expected an int, got str 'abc'"
    )


def test_a_condition_counts_its_failures_too() -> None:
    code, out, err = run("run", "-p", f"{BAD_FIELDS}||3", "-f", "boom.raise = 1", "-o", "%evt.num", "--summary")
    assert code == 0 and out == ""
    assert "Extraction failures: 3" in err


def test_metrics_count_the_failures() -> None:
    code, _, err = run("run", "-p", f"{BAD_FIELDS}||2", "-o", "%boom.negative", "--metrics")
    assert code == 0
    assert f"{extraction_errors.METRIC_NAME} 2" in err.splitlines()


def test_no_failure_no_summary_line() -> None:
    code, _, err = run("run", "-p", f"{BAD_FIELDS}||2", "-o", "%boom.ok", "--summary", "--metrics")
    assert code == 0
    assert "Extraction failures" not in err
    assert f"{extraction_errors.METRIC_NAME} 0" in err.splitlines()


def test_reporter_api(caplog: pytest.LogCaptureFixture) -> None:
    errors = extraction_errors.ExtractionErrors()
    with caplog.at_level(logging.DEBUG, logger="falcoplug.extraction"):
        for _ in range(3):
            errors.report("p", "p.f", "FAILURE", "went wrong")
        errors.report("p", "p.f", "values", "2 values for a non-list field")
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.DEBUG, logging.DEBUG, logging.WARNING]
    assert errors.total == 4
    assert errors.summary_lines() == ["Extraction failures: 4", "   p p.f (FAILURE): 3", "   p p.f (values): 1"]
    strict = extraction_errors.ExtractionErrors(strict=True)
    with pytest.raises(ExtractionError, match="plugin p: extraction of field p.f failed: went wrong") as info:
        strict.report("p", "p.f", "FAILURE", "went wrong")
    assert isinstance(info.value, FalcoplugError) and info.value.plugin == "p"


def test_start_makes_a_fresh_reporter() -> None:
    first = extraction_errors.start()
    extraction_errors.report("p", "p.f", "K", "m")
    second = extraction_errors.start(strict=True)
    assert first.total == 1 and second.total == 0 and second.strict
    assert extraction_errors.current() is second
    extraction_errors.start()
