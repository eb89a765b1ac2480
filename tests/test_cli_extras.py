"""Installed without the session extras, the session commands say what to install."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Runs the real CLI in a fresh interpreter where the transport's dependency
# cannot be imported, as after `pip install screencodec` without extras.
_PROGRAM = """
import sys
sys.modules["spake2"] = None
from screencodec.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    ("argv", "extra"),
    [
        (["host", "--source", "synthetic", "--listen", "0"], "transport"),
        (["view", "127.0.0.1:1", "--code", "123456789"], "transport"),
        (["relay", "--listen", "0"], "relay"),
        (["recordings", "list", "."], "record"),
    ],
)
def test_a_session_command_without_its_extra_names_it_in_one_line(
    argv: list[str], extra: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, *argv],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"screencodec {argv[0]}: needs the '{extra}' extra (missing module 'spake2'):"
        f" pip install 'screencodec[{extra}]'"
    ]


def test_other_commands_still_refuse_unknown_arguments() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, "codecs", "--bogus"],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "unrecognized arguments: --bogus" in done.stderr


# As _PROGRAM, with the module named first blocked: an option's own extra.
_WITHOUT = """
import sys
sys.modules[sys.argv[1]] = None
from screencodec.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize(
    ("module", "argv", "what", "extra"),
    [
        ("aiohttp", ["view", "127.0.0.1:9", "--code", "123456789", "--password", "abcd2345",
                     "--web"], "screencodec view: --web", "web"),
        ("aiohttp", ["recordings", "play", "x.screc", "--web"],
         "screencodec recordings play: --web", "web"),
        ("redis", ["relay", "--listen", "0", "--directory", "redis://127.0.0.1:9/0",
                   "--advertise", "127.0.0.1:7390"], "screencodec relay: --directory", "relay"),
        ("prometheus_client", ["relay", "--listen", "0", "--metrics-port", "0"],
         "screencodec relay: --metrics-port", "relay"),
    ],
)  # fmt: skip
def test_an_option_without_its_extra_is_said_as_a_command_is(
    module: str, argv: list[str], what: str, extra: str, tmp_path: object
) -> None:
    """tail39: ``view --web`` said "--web needs the web extra: pip install
    'screencodec[web]'", ``relay --directory redis://...`` "--directory: No
    module named 'redis'": one wording for all, a command's (above)."""
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT, module, *argv],
        check=False, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2, done
    assert done.stderr.strip().splitlines() == [
        f"{what} needs the '{extra}' extra (missing module '{module}'):"
        f" pip install 'screencodec[{extra}]'"
    ]
