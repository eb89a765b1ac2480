"""The ``screencodec`` command: the top layer, above the codec, the transport,
the web viewer and recordings.

One module per command (``host``, ``view``, ``relay``, ``recordings``, each
with a ``register(subparsers)``); ``main`` builds the parser and adds the
codec's own commands (demo, bench, codecs).
"""

from __future__ import annotations

from screencodec.cli.main import main

__all__ = ["main"]
