"""walk41: what ``host --help`` and ``view --help`` name.

Found, read as a stranger: ``--scenario SCENARIO  synthetic desktop
scenario`` named none of the scenarios (the first one tried, ``--scenario
nope``, was the way to learn them); ``--download-dir DOWNLOAD_DIR`` on the
host, ``--download-dir DIR`` on the view; ``--bind BIND``, ``--monitor
MONITOR``; and ``--password PASSWORD  prompted for if omitted`` said nothing
of what a password looks like, nor that it is typed as read out.

The real CLI in a subprocess."""

from __future__ import annotations

import re

from screencodec.capture import scenario_names
from test_walk39_cli_args import _run


def _option(help_text: str, option: str) -> str:
    """``option``'s entry in ``help_text``, its lines joined."""
    found = re.search(rf"\n  {re.escape(option)}\b(.*?)(?=\n  -|\n\n)", help_text, re.S)
    assert found, help_text
    return " ".join(found.group(1).split())


def test_host_help_names_the_scenarios_and_each_metavar() -> None:
    status, out, err = _run("host", "--help")
    assert status == 0, err
    assert _option(out, "--scenario") == (
        f"NAME what the synthetic desktop plays: {', '.join(scenario_names())} (default typing)")
    assert _option(out, "--size") == "WxH the synthetic desktop's size (default 1280x720)"
    assert _option(out, "--download-dir").startswith("DIR accept files")
    assert _option(out, "--bind").startswith("ADDRESS address for --listen")
    assert _option(out, "--monitor").startswith("N monitor shown first")
    # Each scenario named is one the host starts with.
    status, _, err = _run("host", "--source", "synthetic", "--scenario", "nope", "--listen", "0")
    assert status == 2 and "unknown scenario 'nope'" in err, err


def test_view_help_says_what_a_password_is() -> None:
    status, out, err = _run("view", "--help")
    assert status == 0, err
    assert _option(out, "--password") == (
        "PASSWORD the password the host's user reads out: 8 letters and digits (spaces or"
        " dashes between groups are fine); prompted for if omitted (keeps it out of `ps`)")
