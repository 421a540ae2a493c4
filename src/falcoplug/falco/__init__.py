"""A drop-in for Falco 0.44's command line and alert outputs, for plugin event sources.

``falcoplug falco -c falco.yaml -r rules.yaml -o json_output=true`` reads the same configuration,
takes the same options and prints the same alerts as ``falco`` does with the same plugins; see
``docs/falco.md``. The pieces: :mod:`.config` (falco.yaml and ``-o`` overrides), :mod:`.schema`
(``--config-schema``, ``--rule-schema``), :mod:`.outputs` (stdout, file, program, http, syslog),
:mod:`.app` (Falco's actions) and :mod:`.cli` (the option parser).
"""

from .cli import main

__all__ = ["main"]
