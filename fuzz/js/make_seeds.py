"""Write seed streams for fuzz/js/fuzz.mjs: ``python fuzz/js/make_seeds.py DIR``.

The streams are those the cross-check test builds (tests/web/test_js_decoder.py:
synthetic scenarios with and without the history stream, a recording with
HASH, structural mutations and the hostile-decoder cases), with Python's
verdicts beside them, so the same directory also serves
tests/web/js/crosscheck.mjs.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    spec = importlib.util.spec_from_file_location(
        "_js_crosscheck", ROOT / "tests" / "web" / "test_js_decoder.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for name, messages in module.all_streams():
        module.write_stream(out, name, messages)
        count += 1
    print(f"{count} streams in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
