"""review32 of 98e539f (screencodec.transport and screencodec.capture name
their public names lazily): what a program using the packages had before
still holds. A subpackage is an attribute of its package once the package is
imported (``import screencodec.transport as t; t.session.events``), as when
the package imported them all. That mypy still tells a misspelled public name
is in tests/test_typing.py, beside the other runs of mypy."""

from __future__ import annotations

import subprocess
import sys

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
