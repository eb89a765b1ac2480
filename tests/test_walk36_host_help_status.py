"""``screencodec host --help``'s exit status 3 says what docs/cli.md's table
says: with ``--once``, no one was let in, the agent refused or let in to
nothing (review36 made an agent that asked nothing, or not to view, exit 3).

Found (walk36): "3 with --once: the agent was refused", though a host
whose agent asked nothing is not asked, and refused no one.
"""

from __future__ import annotations

from transport.test_cli import CLI, ENV
from warm_start import warm_run


def test_host_help_says_status_3_is_no_one_let_in() -> None:
    done = warm_run([*CLI, "host", "--help"], capture_output=True, text=True, env=ENV,
                    timeout=30, check=True)  # fmt: skip
    said = " ".join(done.stdout.split())
    assert "3 with --once: the agent was refused;" not in said, said  # found
    assert ("3 with --once: no one was let in (the agent was refused, or asked nothing or not"
            " to view);") in said, said  # fmt: skip
