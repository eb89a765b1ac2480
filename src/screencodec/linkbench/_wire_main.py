"""The wire process of :func:`~.netns.run_over_wire`:
``python -m screencodec.linkbench._wire_main SPEC`` (see :mod:`.tunwire`).

Not imported by the package, so that ``-m`` runs it exactly once.
"""

from __future__ import annotations

import json
import sys

from .tunwire import serve

__all__: list[str] = []

if __name__ == "__main__":
    serve(json.loads(sys.argv[1]))
