"""walkfix36 (walk36): a second agent who gives the name of one already in
the session. Found: the host's question about the second 'Alice' said
nothing of the first; the user could not tell they were two. Expected: one
line more in the question, naming the other as every line does (name and
address). The real host (without ``--once``, one for both tests) and two views on
pseudo-terminals. (``/view``'s line for an agent away names the address
too: tests/transport/test_ends36_away_control_again.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from test_walk32_ended_not_resumed import _StayingHost
from transport.test_attack_prompts import _credentials
from transport.test_view_cli_send_screens import PtyView


@pytest.fixture(scope="module")
def host() -> Iterator[_StayingHost]:
    """One staying host for both tests (time49c): each test's agents leave
    (Ctrl-C, a bye) before the next, which reads the host's output from its
    own mark on."""
    staying = _StayingHost()
    try:
        yield staying
    finally:
        staying.close()


def _leave(views: list[PtyView]) -> None:
    """Each view still running leaves (Ctrl-C: a bye, the host forgets it:
    no agent away for the next test); then all are closed."""
    try:
        for view in views:
            if view.proc.poll() is None:
                view.leave()
    finally:
        for view in views:
            view.close()


def _question(host: _StayingHost, mark: int) -> str:
    """The next question asked after ``mark``, waited for."""
    return host.wait_for(r"Question \d+: .*?\[y/N\] ", mark).group(0)


def test_the_question_says_an_agent_of_that_name_is_already_watching(
    host: _StayingHost,
) -> None:
    views: list[PtyView] = []
    try:
        port, code, password = _credentials(host)
        asked: list[str] = []
        for _ in range(2):
            mark = len(host.text)
            views.append(PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                                 "--name", "Alice"))  # fmt: skip
            asked.append(_question(host, mark))
            host.type("y")
            views[-1].wait_for(r"decoded")
        first, second = asked
        assert "another agent" not in first, first
        shared = re.search(r"'Alice' \((127\.0\.0\.1:\d+)\) asks", first)
        assert shared is not None, host.text
        assert (f"***   (another agent named 'Alice' ({shared.group(1)}) is already watching)\n"
                in second), second  # fmt: skip
    finally:
        _leave(views)


def test_the_question_says_an_agent_of_that_name_is_away_and_comes_back_unasked(
    host: _StayingHost,
) -> None:
    """parked38: a copy of an away agent's ticket is asked about as a new
    viewer, under whatever name it gives: the question says the agent of
    that name, away, would come back without asking, so the user does not
    take this one for the agent's return."""
    views: list[PtyView] = []
    try:
        port, code, password = _credentials(host)
        mark = len(host.text)
        views.append(PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                             "--name", "Alice"))  # fmt: skip
        _question(host, mark)
        host.type("y")
        views[0].wait_for(r"decoded")
        views[0].proc.kill()  # no Bye: its link is lost, its session away
        views[0].proc.wait(timeout=10)
        host.wait_for(r"'Alice' may reconnect within", mark)
        mark = len(host.text)
        views.append(PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                             "--name", "Alice"))  # fmt: skip
        second = _question(host, mark)
        words = " ".join(second.replace("***   ", " ").split())
        assert re.search(r"\(another agent named 'Alice' \(127\.0\.0\.1:\d+\) is in the session,"
                         r" its connection lost for now; their own program comes back without"
                         r" asking you, so this request is a new connection\)", words), words
    finally:
        for view in views:
            view.close()
