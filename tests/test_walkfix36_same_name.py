"""walkfix36 (walk36): a second agent who gives the name of one already in
the session. Found: the host's question about the second 'Alice' said
nothing of the first; the user could not tell they were two. Expected: one
line more in the question, naming the other as every line does (name and
address). The real host (without ``--once``) and two views on
pseudo-terminals. (``/view``'s line for an agent away names the address
too: tests/transport/test_ends36_away_control_again.py.)"""

from __future__ import annotations

import re

from test_walk32_ended_not_resumed import _StayingHost
from transport.test_attack_prompts import _credentials
from transport.test_view_cli_send_screens import PtyView


def test_the_question_says_an_agent_of_that_name_is_already_watching() -> None:
    host = _StayingHost()
    views: list[PtyView] = []
    try:
        port, code, password = _credentials(host)
        for _ in range(2):
            views.append(PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                                 "--name", "Alice"))  # fmt: skip
            host.wait_for(rf"Question {len(views)}: .*?\[y/N\] ")
            host.type("y")
            views[-1].wait_for(r"decoded")
        first = re.search(r"Question 1: .*?\[y/N\] ", host.text, re.DOTALL)
        second = re.search(r"Question 2: .*?\[y/N\] ", host.text, re.DOTALL)
        assert first is not None and second is not None, host.text
        assert "another agent" not in first.group(0), first.group(0)
        shared = re.search(r"'Alice' \((127\.0\.0\.1:\d+)\) asks", first.group(0))
        assert shared is not None, host.text
        assert (f"***   (another agent named 'Alice' ({shared.group(1)}) is already watching)\n"
                in second.group(0)), second.group(0)  # fmt: skip
    finally:
        for view in views:
            view.close()
        host.close()


def test_the_question_says_an_agent_of_that_name_is_away_and_comes_back_unasked() -> None:
    """parked38: a copy of an away agent's ticket is asked about as a new
    viewer, under whatever name it gives: the question says the agent of
    that name, away, would come back without asking, so the user does not
    take this one for the agent's return."""
    host = _StayingHost()
    views: list[PtyView] = []
    try:
        port, code, password = _credentials(host)
        views.append(PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                             "--name", "Alice"))  # fmt: skip
        host.wait_for(r"Question 1: .*?\[y/N\] ")
        host.type("y")
        views[0].wait_for(r"decoded")
        views[0].proc.kill()  # no Bye: its link is lost, its session away
        views[0].proc.wait(timeout=10)
        host.wait_for(r"'Alice' may reconnect within")
        views.append(PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                             "--name", "Alice"))  # fmt: skip
        host.wait_for(r"Question 2: .*?\[y/N\] ")
        second = re.search(r"Question 2: .*?\[y/N\] ", host.text, re.DOTALL)
        assert second is not None, host.text
        words = " ".join(second.group(0).replace("***   ", " ").split())
        assert re.search(r"\(another agent named 'Alice' \(127\.0\.0\.1:\d+\) is in the session,"
                         r" its connection lost for now; their own program comes back without"
                         r" asking you, so this request is a new connection\)", words), words
    finally:
        for view in views:
            view.close()
        host.close()
