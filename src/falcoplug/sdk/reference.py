"""Plugin references: how a Python plugin is named on a command line or in a config file.

- ``package.module:Class`` (``package.module`` alone when the module defines one plugin);
- ``path/to/file.py`` or ``path/to/file.py:Class``: the class may be left out when the file
  defines one plugin. A file is imported under a module name of its own (derived from its
  absolute path), with its directory on ``sys.path`` so that it can import its neighbours.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ..errors import PluginLoadError
from ..framework.loading import MODULE_PATH, has_class_suffix, looks_like_python_plugin
from .plugin import Plugin



@dataclass(frozen=True, slots=True)
class PluginRef:
    """A parsed reference: a module name or an absolute file path, and an optional class name."""

    module: str | None
    file: str | None
    cls: str | None

    @property
    def text(self) -> str:
        where = self.file or self.module or ""
        return f"{where}:{self.cls}" if self.cls else where


def parse_ref(location: str, base: str | os.PathLike[str] | None = None) -> PluginRef:
    """Split a reference; a relative file path is made absolute against ``base`` (default: cwd)."""
    text = os.fspath(location).strip()
    head, cls = (text.rsplit(":", 1) if has_class_suffix(text) else (text, None))
    if head.endswith(".py") or "/" in head or os.sep in head:
        path = Path(head).expanduser()
        if not path.is_absolute():
            path = Path(base or os.getcwd()) / path
        return PluginRef(None, str(path.resolve()), cls)
    if not MODULE_PATH.match(head):
        raise PluginLoadError(f"cannot load plugin {text}: not a module path or a .py file", plugin=text)
    return PluginRef(head, None, cls)


def file_module_name(path: str) -> str:
    """The module name a plugin file is imported under (stable per absolute path)."""
    stem = re.sub(r"\W", "_", Path(path).stem)
    return f"_falcoplug_plugin_{stem}_{hashlib.sha256(path.encode()).hexdigest()[:10]}"


def import_ref_module(ref: PluginRef) -> ModuleType:
    if ref.module is not None:
        return _import_module(ref.module)
    assert ref.file is not None
    name = file_module_name(ref.file)
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    if not os.path.isfile(ref.file):
        raise PluginLoadError(f"no such file: {ref.file}", plugin=ref.text)
    folder = str(Path(ref.file).parent)
    if folder not in sys.path:
        sys.path.append(folder)
    spec = importlib.util.spec_from_file_location(name, ref.file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing.get_type_hints look the module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _import_module(name: str) -> ModuleType:
    """Import ``name``; when its top package is not found, look in the working directory too.

    ``python -m`` puts the working directory on ``sys.path`` but a console script (``falcoplug``)
    does not, so ``mypkg.mod:Class`` typed next to ``mypkg/`` would fail; uvicorn resolves
    ``module:app`` the same way. The directory is added only when needed, and stays, so that the
    plugin's own imports of its neighbours work later too.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        top = name.partition(".")[0]
        cwd = os.getcwd()
        if exc.name != top or any(os.path.abspath(p or os.curdir) == cwd for p in sys.path):
            raise  # a missing dependency of the plugin, or the working directory was searched already
        sys.path.insert(0, cwd)
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as retry:
            if retry.name != top:
                raise  # the package is here, but something it imports is not: that is the error
            sys.path.remove(cwd)  # not there either: leave sys.path as it was
            raise exc from None


def plugin_classes(module: ModuleType) -> list[type[Plugin]]:
    """The concrete plugin classes a module defines (not the ones it imports)."""
    found = []
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, Plugin)
            and value.__module__ == module.__name__
            and getattr(value, "name", None) is not None
        ):
            found.append(value)
    return found


def load_plugin_class(location: str | PluginRef, base: str | os.PathLike[str] | None = None) -> type[Plugin]:
    """The plugin class a reference names, or :class:`PluginLoadError` saying why not."""
    ref = location if isinstance(location, PluginRef) else parse_ref(location, base)
    try:
        module = import_ref_module(ref)
    except PluginLoadError as exc:
        raise PluginLoadError(f"cannot load plugin {ref.text}: {exc}", plugin=ref.text) from None
    except BaseException as exc:  # noqa: BLE001 - any import failure is the plugin's load error
        where = _last_frame(exc)
        raise PluginLoadError(
            f"cannot load plugin {ref.text}: {type(exc).__name__}: {exc}{where}", plugin=ref.text
        ) from exc
    if ref.cls is not None:
        cls = getattr(module, ref.cls, None)
        if not (isinstance(cls, type) and issubclass(cls, Plugin)):
            raise PluginLoadError(f"cannot load plugin {ref.text}: {ref.cls} is not a plugin class", plugin=ref.text)
        return cls
    classes = plugin_classes(module)
    if len(classes) != 1:
        if not classes:
            _raise_unnamed_class_error(module, ref)
            reason = "it defines no plugin class"
        else:
            names = ", ".join(c.__name__ for c in classes)
            reason = f"it defines several plugin classes ({names}); name one as {ref.text}:Class"
        raise PluginLoadError(f"cannot load plugin {ref.text}: {reason}", plugin=ref.text)
    return classes[0]


def _raise_unnamed_class_error(module: ModuleType, ref: PluginRef) -> None:
    """When a module's only plugin class is left out because it declares no name, raise that
    class's own definition error: "declares no name" says more than "defines no plugin class".

    A class without a name is otherwise taken for an intermediate base, so only a module with a
    single such leaf class is reported this way; the SDK's own modules (whose classes are the
    nameless mixins) never are.
    """
    sdk = __name__.rpartition(".")[0]  # falcoplug.sdk
    if module.__name__ == sdk or module.__name__.startswith(sdk + "."):
        return
    unnamed = [
        value for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Plugin) and value.__module__ == module.__name__
    ]  # fmt: skip
    leaves = [cls for cls in unnamed if not any(other is not cls and issubclass(other, cls) for other in unnamed)]
    if len(leaves) != 1:
        return
    try:
        leaves[0].plugin_info()
    except PluginLoadError as exc:
        raise PluginLoadError(f"cannot load plugin {ref.text}: {exc}", plugin=ref.text) from None


def _last_frame(exc: BaseException) -> str:
    """Where in the plugin's own code the error happened (import machinery and falcoplug skipped)."""
    here = os.path.dirname(os.path.dirname(__file__))
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith("<frozen") and not f.filename.startswith(here)
    ]  # fmt: skip
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
