"""falcoplug: the Falco plugin framework and plugin SDK, in Python."""

__version__ = "0.1.0"
PLUGIN_API_VERSION = "3.12.0"
