"""Plugins bundled with falcoplug, written with its SDK, loadable by name.

``-p 'k8saudit||audit.log'``, ``load_plugins: [k8saudit, json]`` and Falco's own library names
(``library_path: libk8saudit.so`` when no such file exists) all reach these.
"""

from __future__ import annotations

import os

# name -> the module defining the plugin (a module with one plugin class)
BUNDLED: dict[str, str] = {
    "k8saudit": "falcoplug.plugins.k8saudit",
    "json": "falcoplug.plugins.json",
    "cloudtrail": "falcoplug.plugins.cloudtrail",
}


def bundled_reference(location: str) -> str | None:
    """The module reference of a bundled plugin named by ``location``, else ``None``.

    A bare name (``k8saudit``) or Falco's library name (``libk8saudit.so``, any folder) that is not
    an existing file names a bundled plugin.
    """
    if location in BUNDLED:
        return BUNDLED[location]
    base = os.path.basename(location)
    if base.startswith("lib") and base.endswith(".so") and not os.path.exists(location):
        return BUNDLED.get(base[3:-3])
    return None
