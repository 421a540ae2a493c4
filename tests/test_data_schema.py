"""Columns of extracted values as Arrow arrays (falcoplug.data.schema): the arrays built from their
buffers are the arrays ``pa.array`` builds, value for value, and no array imports pandas."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pa = pytest.importorskip("pyarrow", reason="the arrow extra is not installed")

from falcoplug.data.schema import _direct_array, _direct_list, arrow_type, to_array  # noqa: E402
from falcoplug.filter.fields import (  # noqa: E402
    FT_ABSTIME, FT_BOOL, FT_IPADDR, FT_RELTIME, FT_STRING, FT_UINT64, FieldInfo,
)  # fmt: skip

U64 = st.integers(0, 2**64 - 1)
TEXT = st.text()  # lone surrogates included: they are not UTF-8, so they are no value


def _signed(v: object) -> object:
    return v - 2**64 if type(v) is int and v >= 2**63 else v


def reference(info: FieldInfo, values: list) -> object:
    """What the column is, built value by value with ``pa.array`` (a value it refuses: null)."""
    kind = arrow_type(info)
    cells = []
    for v in values:
        if info.ftype == FT_ABSTIME:  # a time before 1970, wrapped
            v = [_signed(x) for x in v] if type(v) is list else _signed(v)
        try:
            pa.array([v], type=kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            v = None
        cells.append(v)
    return pa.array(cells, type=kind)


@settings(max_examples=150, deadline=None)
@given(
    ftype=st.sampled_from([FT_UINT64, FT_ABSTIME, FT_RELTIME]),
    values=st.lists(st.one_of(st.none(), U64, st.integers(-5, -1), st.just("7")), max_size=40),
)
def test_number_columns_are_what_pa_array_makes(ftype, values):
    info = FieldInfo("x.n", ftype)
    built = to_array(info, values)
    assert built.type == arrow_type(info)
    assert built.equals(reference(info, values)), (values, built)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.one_of(st.none(), TEXT, st.integers(0, 9), st.binary(max_size=6)), max_size=40))
def test_text_columns_are_what_pa_array_makes(values):
    info = FieldInfo("x.s", FT_STRING)
    built = to_array(info, values)  # a number in a text field is outside its type: no value
    assert built.type == pa.string()
    assert built.equals(reference(info, values)), (values, built)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.booleans(), st.integers(0, 1)), max_size=40))
def test_bool_columns_are_what_pa_array_makes(values):
    info = FieldInfo("x.b", FT_BOOL)
    assert to_array(info, values).equals(reference(info, values)), values


ITEMS = {FT_UINT64: U64, FT_ABSTIME: st.one_of(U64, st.just(2**64 - 1_000)), FT_STRING: TEXT | st.binary(max_size=4)}


@settings(max_examples=200, deadline=None)
@given(data=st.data(), ftype=st.sampled_from(sorted(ITEMS)))
def test_list_columns_are_what_pa_array_makes(data, ftype):
    odd = st.just("7") if ftype != FT_STRING else st.integers(0, 9)  # outside the type: no value
    items = st.lists(st.one_of(st.none(), ITEMS[ftype]), max_size=5)
    values = data.draw(st.lists(st.one_of(st.none(), items, items, st.lists(odd | ITEMS[ftype], max_size=3)), max_size=20))
    info = FieldInfo("x.l", ftype, is_list=True)
    built = to_array(info, values)
    assert built.type == arrow_type(info)
    assert built.equals(reference(info, values)), (values, built)


def test_the_direct_path_is_taken_for_the_common_columns_and_declines_the_rest():
    assert _direct_array(pa, FT_UINT64, [1, None, 3]).to_pylist() == [1, None, 3]
    assert _direct_array(pa, FT_ABSTIME, [2**64 - 1_000]).cast(pa.int64()).to_pylist() == [-1_000]
    assert _direct_array(pa, FT_STRING, ["a", None, "é"]).to_pylist() == ["a", None, "é"]
    assert _direct_array(pa, FT_IPADDR, ["10.0.0.1"]).to_pylist() == ["10.0.0.1"]
    assert _direct_array(pa, FT_RELTIME, [2**63]) is None  # beyond a signed duration
    assert _direct_array(pa, FT_UINT64, [-1]) is None
    assert _direct_array(pa, FT_STRING, ["a", 1]) is None
    assert _direct_array(pa, FT_STRING, ["\udc80"]) is None  # not UTF-8
    assert _direct_array(pa, FT_STRING, ["a", b"\xff"]) is None  # bytes, not UTF-8 either
    assert _direct_array(pa, FT_BOOL, [True, None, False]).to_pylist() == [True, None, False]
    assert _direct_array(pa, FT_BOOL, [1]) is None
    texts = FieldInfo("x.l", FT_STRING, is_list=True)
    assert _direct_list(pa, texts, [["a", "b"], None, []]).to_pylist() == [["a", "b"], None, []]
    assert _direct_list(pa, texts, [("a",)]) is None


def test_reading_events_and_detecting_alerts_do_not_import_pandas():
    script = (
        "import sys, falcoplug.data as fd\n"
        "t = fd.read_table(['k8saudit', 'json'], fields=['evt.num', 'evt.rawtime', 'ka.verb', 'ka.response.code'],\n"
        "                  open=sys.argv[1], limit=20)\n"
        "assert t.num_rows == 20 and t.column('ka.verb').null_count < 20\n"
        "a = fd.detect(['k8saudit', 'json'], open=sys.argv[1], rules=[sys.argv[2]])\n"
        "assert a.num_rows == 46 and ['k8s'] in a.column('tags').to_pylist()\n"
        "print('pandas' in sys.modules)\n"
    )
    from test_data import RULES, SAMPLES

    done = subprocess.run([sys.executable, "-c", script, str(SAMPLES), str(RULES)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
