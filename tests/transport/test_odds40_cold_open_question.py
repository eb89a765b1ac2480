"""odds40: a CONTROL question still open on the customer's terminal when
the silent agent's link is taken for lost (``Timeouts.cold``, 15 s:
silent39).

The agent asked for control (``view --control``), the customer's ``host``
put Question 2 on screen, and the agent's laptop lid closed before the
answer (its link held: nothing either way, no reset). Expected: the
question is withdrawn in words, the link's loss is said, and a ``y`` the
customer types after that grants nothing to anyone: not to the link
taken for lost, nor to the session parked for the agent's return.

Real ``host`` on a pty (X input injection on a private Xvfb), real
``view``, loopback; a forwarder that stops reading both sides."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import signal
import time

from .helpers import run
from .test_attack_prompts import PtyHost, _credentials
from .test_silent39_host_parks_silent import LOST, STALLED, WITHIN
from .test_terms4_view_silence import _HeldProxy
from .test_view_cli_send_screens import PtyView
from .test_view_cli_ux import read_until, stop, viewer

#: What the customer's terminal says as the question goes (cli's TerminalQuestions).
#: consent41: it said only "no."; now why (the agent's link lost).
CLOSED = ("\n*** Question 2 closed without an answer: the connection to the agent was lost;"
          " they get nothing more.\n")  # fmt: skip
#: A line typed with no question open (cli/host_terminal.py).
NO_QUESTION = ("(not sent, and no question is open: to write to your agent, type /say and"
               " your message)")  # fmt: skip


def test_a_control_question_open_when_the_link_goes_cold_is_withdrawn(
    xvfb_display: str,
) -> None:
    """Beside it, :func:`_the_agent_back_after_the_late_yes_holds_view_only`
    in a thread, its own host and view (time53b: two tests one after the
    other, each waiting out the host's cold, ~20 s)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        back = pool.submit(_the_agent_back_after_the_late_yes_holds_view_only, xvfb_display)
        try:
            _withdrawn(xvfb_display)
        finally:
            back.result(timeout=150)


def _withdrawn(xvfb_display: str) -> None:
    host = PtyHost("--control", "xtest", "--scenario", "idle", env={"DISPLAY": xvfb_display})
    port, code, password = _credentials(host)

    async def main() -> None:
        way = _HeldProxy(port)
        await way.start()
        view = viewer(f"127.0.0.1:{way.port}", "--code", code, "--password", password,
                      "--name", "Dave", "--control")  # fmt: skip
        try:
            await asyncio.to_thread(host.wait_for, r"Question 1: .*?\[y/N\] ")
            host.type("y")
            await asyncio.to_thread(read_until, view, "asked for control")
            asked = await asyncio.to_thread(host.wait_for, r"Question 2: MORE ACCESS.*?\[y/N\] ")
            await asyncio.sleep(1)
            way.hold(True)
            way.refusing = True
            held = time.monotonic()
            view.kill()  # its end never reaches the host: the link is held
            lost = await asyncio.to_thread(host.wait_for, LOST, asked.end(), WITHIN)
            assert time.monotonic() - held < WITHIN
            # Withdrawn in words, then why: the link was lost, and the agent
            # may come back to see the screen (not to control it), unasked.
            assert host.text[asked.end():lost.start()] == CLOSED, host.text[asked.end():]
            host.type("y")  # the customer answers, late
            await asyncio.to_thread(host.wait_for, re.escape(NO_QUESTION), lost.end(), 10)
            await asyncio.sleep(1)
            said = host.text[asked.start():]
            assert "Question 2: yes" not in said and "control your screen" not in said, said
            assert "Question 3" not in said, said
        finally:
            stop(view)
            await way.close()

    try:
        run(main(), 120)
    finally:
        host.close()


def _the_agent_back_after_the_late_yes_holds_view_only(xvfb_display: str) -> None:
    """``kill -STOP`` past cold (a laptop asleep) while Question 2 is open:
    the customer's late ``y`` grants nothing; the view, running again,
    takes the session up unasked with what it held, VIEW, and the customer
    is told they see the screen, not that they control it."""
    host = PtyHost("--control", "xtest", "--scenario", "idle", env={"DISPLAY": xvfb_display})
    view = None
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                       "--name", "Dave", "--control")  # fmt: skip
        host.say_yes(1)
        asked = host.wait_for(r"Question 2: MORE ACCESS.*?\[y/N\] ")
        view.wait_for(r"asked for control")
        time.sleep(1)
        seen = len(view.text)
        os.kill(view.proc.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        lost = host.wait_for(LOST, asked.end(), WITHIN)
        assert host.text[asked.end():lost.start()] == CLOSED, host.text[asked.end():]
        host.type("y")
        host.wait_for(re.escape(NO_QUESTION), lost.end(), 10)
        time.sleep(max(0.0, stopped + STALLED - time.monotonic()))
        os.kill(view.proc.pid, signal.SIGCONT)
        back = host.wait_for(r"'Dave' \(127\.0\.0\.1:\d+\) is back after \d+ s: their"
                             r" connection had dropped; they see your screen again, as you"
                             r" allowed", lost.end())  # fmt: skip
        view.wait_for(r"back in the session", seen)
        time.sleep(2)
        said = host.text[asked.start():]
        assert "Question 2: yes" not in said and "control your screen" not in said, said
        assert "Question 3" not in said, said  # nor asked again unseen
        assert back.group(0) in said
        assert "control granted" not in view.text, view.text
        assert view.proc.poll() is None
    finally:
        if view is not None:
            os.kill(view.proc.pid, signal.SIGCONT)
            view.close()
        host.close()
