"""A host installed without the ``x11`` extra names the extra, not a module.

Found (walk43: the wheel installed with ``[transport]`` only, then
``screencodec host`` on a display): ``(remote control unavailable: No
module named 'Xlib')``, Python's words, where every other missing extra
says which to install (README "Install").

Expected: ``(remote control unavailable: needs the 'x11' extra (missing
module 'Xlib'): pip install 'screencodec[x11]')``; the host still shares
for viewing. A real host on a pty over a real Xvfb; python-xlib hidden by
a package of that name that is not there (what Python finds without it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .test_attack_prompts import PtyHost, _credentials

SAID = ("(remote control unavailable: needs the 'x11' extra (missing module 'Xlib'):"
        " pip install 'screencodec[x11]')\n")  # fmt: skip


def test_a_host_without_python_xlib_names_the_x11_extra(
    tmp_path: Path, xvfb_display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hidden = tmp_path / "Xlib"
    hidden.mkdir()
    (hidden / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'Xlib'\", name='Xlib')\n"
    )
    monkeypatch.setenv("DISPLAY", xvfb_display)
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    host = PtyHost("--control", "xtest", env={"PYTHONPATH": path})
    try:
        _credentials(host)  # it started, sharing for viewing
        # Found: "(remote control unavailable: No module named 'Xlib')".
        assert SAID in host.text, host.text
    finally:
        host.close()
