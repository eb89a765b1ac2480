"""The ``screencodec`` command: the top layer, above the codec, the transport,
the web viewer and recordings.

One module per command (``host``, ``view``, ``relay``, ``recordings``, each
with a ``register(subparsers)``: ``host`` and ``view`` keep theirs in
``host_args`` and ``view_args``, so that parsing their words loads nothing
else; sessions.COMMANDS); ``main`` builds the parser and adds the
codec's own commands (demo, bench, codecs). The two long ones keep their
parts in modules beside them, named for the command and the concern
(``host_commands``, ``host_lines``, ``view_signals``, ``view_ending`` ...):
the command's module imports its parts, never the other way.
"""

from __future__ import annotations

from screencodec.cli.main import main

__all__ = ["main"]
