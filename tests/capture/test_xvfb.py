"""private_xvfb: a real X server of the size asked for, and a clear error without Xvfb."""

from __future__ import annotations

import pytest

from screencodec.capture import list_monitors
from screencodec.capture.xvfb import private_xvfb
from screencodec.errors import CaptureError


def test_private_xvfb_serves_a_screen_of_the_size_asked_for() -> None:
    with private_xvfb(320, 200) as display:
        monitors = list_monitors(display=display)
        assert (monitors[0].width, monitors[0].height) == (320, 200)


def test_without_xvfb_on_the_path_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(CaptureError, match="bootstrap"), private_xvfb(320, 200):
        raise AssertionError("no server should have started")
