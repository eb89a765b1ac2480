"""review32 of 98e539f (screencodec.transport and screencodec.capture name
their public names lazily): what a program using the packages had before
still holds. A subpackage is an attribute of its package once the package is
imported (``import screencodec.transport as t; t.session.events``), as when
the package imported them all; and mypy still tells a misspelled public name
(a module-level ``__getattr__`` seen by mypy types every unknown name Any)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_SUBMODULES = """
import screencodec.transport as t, screencodec.capture as c
assert t.session.events.ChatDelivery is t.ChatDelivery
assert t.channel.display.safe_text is t.safe_text
assert t.relay.Relay is t.Relay
assert c.base.FrameSource is c.FrameSource
assert c.synthetic.SyntheticDesktop is c.SyntheticDesktop
assert not hasattr(t, "no_such_module") and not hasattr(c, "no_such_module")
assert not hasattr(t, "no.such") and not hasattr(c, "__wrapped__")
print("ok")
"""


def test_a_subpackage_is_an_attribute_of_its_package() -> None:
    # Before 98e539f each of these resolved; after it, AttributeError
    # "module 'screencodec.transport' has no attribute 'session'".
    done = subprocess.run([sys.executable, "-c", _SUBMODULES], capture_output=True,
                          text=True, check=False, timeout=120)  # fmt: skip
    assert done.stdout.strip() == "ok", done.stderr


def test_mypy_tells_a_misspelled_public_name(tmp_path: Path) -> None:
    bad = tmp_path / "misspelled.py"
    bad.write_text(
        "import screencodec.capture as c\n"
        "from screencodec.transport import Hots\n"
        "source = c.ScreenSourc\n"
        "from screencodec import ScreenEncodr\n"
        "import screencodec\n"
        "version: int = screencodec.__version__\n"
    )
    done = subprocess.run(
        # mypy's own cache (as `make lint` leaves it): only this file is analysed.
        [sys.executable, "-m", "mypy", "--strict", str(bad)],
        check=False, capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert 'Module "screencodec.transport" has no attribute "Hots"' in done.stdout, done.stdout
    assert '"ScreenSourc"' in done.stdout, done.stdout
    assert 'Module "screencodec" has no attribute "ScreenEncodr"' in done.stdout, done.stdout
    assert 'expression has type "str", variable has type "int"' in done.stdout, done.stdout
