"""One exception tree (issue 16, STYLE.md §2.4): every error a caller or a plugin author may catch
derives from FalcoplugError, keeps the builtin it used to be, and Ctrl-C is defined once."""

from __future__ import annotations

import pytest

import falcoplug.sdk.extract
from falcoplug import errors
from falcoplug.abi.async_events import Rejected
from falcoplug.backend import AsyncEventRejected
from falcoplug.errors import FalcoplugError
from falcoplug.rules.yamlnodes import YamlParseError
from falcoplug.sdk import AsyncEventError, BatchFullError, EventWriter
from falcoplug.sdk.fieldtypes import FieldValueError, value_type


@pytest.mark.parametrize(
    "cls",
    [AsyncEventRejected, Rejected, AsyncEventError, FieldValueError, BatchFullError, YamlParseError,
     errors.ExtractionError, errors.PluginError, errors.ConfigError, errors.EventError],
)
def test_every_error_is_in_the_tree(cls: type) -> None:
    assert issubclass(cls, FalcoplugError)


def test_one_refusal_type_for_async_events() -> None:
    assert Rejected is AsyncEventRejected is errors.AsyncEventRejected


def test_builtins_still_catch_them() -> None:
    writer = EventWriter(1)
    writer.add(b"x")
    with pytest.raises(OverflowError, match="the batch is full"):
        writer.add(b"y")
    with pytest.raises(TypeError, match="expected an int"):
        value_type(int).convert("abc")


def test_interrupts_are_defined_once() -> None:
    assert errors.INTERRUPTS == (KeyboardInterrupt,)
    assert not hasattr(falcoplug.sdk.extract, "INTERRUPTS")
    assert not errors.is_user_interrupt(SystemExit())  # a plugin's sys.exit() is a plugin failure


def test_no_exception_class_of_the_package_is_outside_the_tree() -> None:
    """Every module walked, so that a new error class cannot be forgotten by a hand-kept list."""
    import importlib
    import inspect
    import pkgutil

    import falcoplug
    from falcoplug.errors import FalcoplugError

    outside = []
    for info in pkgutil.walk_packages(falcoplug.__path__, "falcoplug."):
        if info.name.endswith("__main__") or ".plugins._" in info.name:
            continue
        module = importlib.import_module(info.name)
        for cls in vars(module).values():
            if (inspect.isclass(cls) and issubclass(cls, BaseException) and cls.__module__ == module.__name__
                    and not issubclass(cls, FalcoplugError)):  # fmt: skip
                outside.append(f"{cls.__module__}.{cls.__qualname__}")
    assert outside == []
