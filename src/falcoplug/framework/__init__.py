"""The host: what libsinsp does for plugins (loading rules, the plugin manager, the inspector)."""

from .inspector import FieldPlan, Inspector, SourcedBatch
from .manager import PluginManager
from .plugin import Plugin

__all__ = ["FieldPlan", "Inspector", "Plugin", "PluginManager", "SourcedBatch"]
