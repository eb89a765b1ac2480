"""consent41: a question whose agent went (left, or its link was lost)
says so, and a yes that comes after that grants nothing and is never
shown as a bare yes.

Found (left open last stop): the customer's terminal printed "Question 2:
yes" for a yes that the session then dropped (the agent's link had closed:
review40b), the audit log's consent row read as a grant with no grant row,
a question closed because the agent went said only "closed without an
answer: no.", and an agent who left while asked was told as "session with
... ended" though no session took place.

Real TerminalQuestions on a pipe with the host's question queue; a real
Host with a Recorder and a real Viewer on loopback (a proxy the test cuts),
its file read back with ``screencodec recordings export --log``; the real
``screencodec host`` on a pty and a real ``view``."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
from pathlib import Path

import pytest

from screencodec.recording import Recorder
from screencodec.transport import CONTROL, VIEW
from screencodec.transport.session.consent import (
    GONE,
    QuestionQueue,
    TerminalQuestions,
    ask_permission,
)
from screencodec.transport.session.endreasons import AGENT_LEFT, LINK_LOST
from screencodec.transport.session.events import PermissionChanged, SessionEnded
from screencodec.transport.session.permissions import ConsentRequest, Grant
from warm_start import warm_run

from .helpers import ended_lost, run, typing_pipe, until
from .test_attack_prompts import PtyHost, _credentials
from .test_cli import CLI, ENV
from .test_resume import _granted, _Setup
from .test_view_cli_ux import read_until, stop, viewer

#: What the customer reads of Question 2 (CONTROL) when the yes came too late.
TOO_LATE = ("*** Question {n}: your yes came too late, the connection to the agent was lost:"
            " they get nothing more.\n")  # fmt: skip
LATE_AFTER = ("*** Question {n}: that yes came too late, the connection to the agent was"
              " lost: they get nothing more.\n")  # fmt: skip


async def _asked(out: io.StringIO, prompts: int = 1) -> None:
    await until(lambda: out.getvalue().count("[y/N] ") >= prompts, 10, "the question")


@pytest.mark.parametrize("when", ["before the yes", "as the yes went back"])
def test_a_yes_after_the_agent_went_is_said_too_late_and_grants_nothing(when: str) -> None:
    """The question's asker goes (its ``gone`` says why) before the user's
    line is read, or right after it was read, before the answer reaches the
    session: the answer is GONE (nothing granted, the user's yes kept in
    ``given``), and the terminal never leaves a bare yes."""

    async def main() -> None:
        with typing_pipe() as (stdin, w):
            out = io.StringIO()
            ui = TerminalQuestions(stdin, out, settle=0)
            queue, asker, why = QuestionQueue(), object(), [None]

            async def consent(request: ConsentRequest) -> Grant:
                grant = await ui.permission(request)
                if when == "as the yes went back":
                    why[0] = LINK_LOST  # type: ignore[call-overload]
                return grant

            assert queue.reserve(asker)
            request = ConsentRequest("Dave", "127.0.0.1:1", CONTROL, upgrade=True)
            asking = asyncio.ensure_future(ask_permission(
                queue, asker, consent, request, 30, gone=lambda: why[0]))  # fmt: skip
            await _asked(out)
            if when == "before the yes":
                why[0] = LINK_LOST  # type: ignore[call-overload]
            os.write(w, b"y\n")
            answer = await asking
        assert answer.outcome == GONE and not answer.value.granted, answer
        assert answer.given == Grant(CONTROL) and answer.why == LINK_LOST, answer
        said = out.getvalue().split("[y/N] ", 1)[1]
        if when == "before the yes":
            assert said == TOO_LATE.format(n=1), said
        else:  # read while the agent was there: the yes waits for its asker
            assert said == LATE_AFTER.format(n=1), said

    run(main(), 30)


def test_a_yes_the_hosts_program_failed_to_take_is_not_shown_as_yes() -> None:
    """The user's yes is read, then the host program's own code around the
    terminal raises: the agent is refused (the callback failed), and the
    terminal says the yes was not taken, not "yes"."""

    async def main() -> None:
        with typing_pipe() as (stdin, w):
            out = io.StringIO()
            ui = TerminalQuestions(stdin, out)
            queue, asker = QuestionQueue(), object()

            async def consent(request: ConsentRequest) -> Grant:
                await ui.permission(request)
                raise RuntimeError("the host's own bug")

            assert queue.reserve(asker)
            request = ConsentRequest("Dave", "127.0.0.1:1", VIEW)
            asking = asyncio.ensure_future(ask_permission(queue, asker, consent, request, 30))
            await _asked(out)
            os.write(w, b"y\n")
            answer = await asking
        assert answer.outcome == "failed" and not answer.value.granted, answer
        assert out.getvalue().split("[y/N] ", 1)[1] == (
            "*** Question 1: your yes was not taken (the host's program failed): nothing was"
            " shared.\n")  # fmt: skip

    run(main(), 30)


def test_a_question_withdrawn_as_its_agent_left_says_why() -> None:
    async def main() -> None:
        with typing_pipe() as (stdin, _):
            out = io.StringIO()
            ui = TerminalQuestions(stdin, out)
            queue, asker, why = QuestionQueue(), object(), [None]
            assert queue.reserve(asker)
            request = ConsentRequest("Dave", "127.0.0.1:1", VIEW)
            asking = asyncio.ensure_future(ask_permission(
                queue, asker, ui.permission, request, 30, gone=lambda: why[0]))  # fmt: skip
            await _asked(out)
            why[0] = AGENT_LEFT  # type: ignore[call-overload]
            asking.cancel()
            await asyncio.gather(asking, return_exceptions=True)
        assert out.getvalue().endswith(
            "\n*** Question 1 closed without an answer: the agent left; nothing was shared.\n")

    run(main(), 30)


def _audit(path: Path, tmp: Path) -> list[dict[str, object]]:
    """The audit log of one recording, as ``screencodec recordings export`` writes it."""
    log = tmp / f"{path.stem}.jsonl"
    done = warm_run([*CLI, "recordings", "export", str(path), "--log", str(log)],
                    check=False, capture_output=True, env=ENV, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_the_audit_says_a_yes_that_came_too_late_granted_nothing(tmp_path: Path) -> None:
    """review40b's race (the link reset, the user's yes to CONTROL right
    after, before the question was withdrawn), recorded: the consent row
    keeps the user's answer, and a not_granted row right after it says it
    granted nothing and why; no grant of CONTROL anywhere."""
    rec = tmp_path / "rec"
    rec.mkdir()

    async def main() -> None:
        recorder = Recorder(rec, host_id="test-host")
        async with _Setup(recorder=recorder) as s:

            async def consent(request: ConsentRequest) -> Grant:
                s.asked.append(request)
                if request.upgrade:
                    (link,) = s.host._runtime.serving
                    while not link.channel.closed:  # the user reads the question...
                        await asyncio.sleep(0)
                return Grant(request.level)  # ...and says yes as the link goes

            s.host._runtime.consent = recorder.wrap_consent(consent)
            viewer_, task = await s.join(VIEW, who="Dave")
            await _granted(viewer_)
            asking = asyncio.ensure_future(viewer_.request(CONTROL))
            await until(lambda: len(s.asked) == 2, 10, "the CONTROL question")
            s.proxy.cut()
            await ended_lost(viewer_, task)
            asking.cancel()
            await asyncio.gather(asking, return_exceptions=True)
        recorder.close()

    run(main(), 60)
    (path,) = rec.glob("*.screc")
    rows = [r for r in _audit(path, tmp_path) if r["type"] in ("consent", "grant", "not_granted")]
    asked = [i for i, r in enumerate(rows) if r["type"] == "consent" and r["upgrade"]]
    assert len(asked) == 1, rows
    consent, after = rows[asked[0]], rows[asked[0] + 1:]
    assert consent["answer"] == "control", rows
    assert [{k: v for k, v in r.items() if k != "t"} for r in after] == [
        {"type": "not_granted", "answer": "control",
         "why": "the connection to the agent was lost: the answer came too late"}], rows


def test_the_audit_says_a_first_yes_that_came_too_late_granted_nothing(tmp_path: Path) -> None:
    """The same race on the first question: the agent's link reset while
    the customer is asked, their yes right after. Expected: no grant row
    and no picture; the consent row's answer (view) and a not_granted row."""
    rec = tmp_path / "rec"
    rec.mkdir()

    async def main() -> None:
        recorder = Recorder(rec, host_id="test-host")
        async with _Setup(recorder=recorder) as s:

            async def consent(request: ConsentRequest) -> Grant:
                s.asked.append(request)
                (link,) = s.host._runtime.serving
                while not link.channel.closed:
                    await asyncio.sleep(0)
                return Grant(request.level)

            s.host._runtime.consent = recorder.wrap_consent(consent)
            joining = asyncio.ensure_future(s.join(VIEW, who="Dave"))
            await until(lambda: len(s.asked) == 1, 10, "the first question")
            s.proxy.cut()
            await asyncio.gather(joining, return_exceptions=True)
            ended = await s.event(SessionEnded)
            assert isinstance(ended, SessionEnded) and ended.resumable == 0, ended
            assert not any(isinstance(e, PermissionChanged) for e in s.seen), s.seen
        recorder.close()

    run(main(), 60)
    (path,) = rec.glob("*.screc")
    rows = _audit(path, tmp_path)
    assert not [r for r in rows if r["type"] in ("grant", "update")], rows
    said = [{k: v for k, v in r.items() if k in ("type", "answer", "why")}
            for r in rows if r["type"] in ("consent", "not_granted")]  # fmt: skip
    assert said == [
        {"type": "consent", "answer": "view"},
        {"type": "not_granted", "answer": "view",
         "why": "the connection to the agent was lost: the answer came too late"}], rows


@pytest.mark.parametrize("how", ["leaves", "is lost"])
def test_an_agent_gone_while_asked_is_not_told_as_a_session_that_ended(how: str) -> None:
    """The customer is asked (Question 1) and the agent goes: its view
    left by Ctrl-C (its Bye; SIGTERM is told as a stop since words52:
    test_words52_viewer_stopped) or killed (no Bye). The question's own
    line says why it closed, then one line says nothing was shared; before,
    "closed without an answer: no." and "session with ... ended: the agent
    left the session"."""
    host = PtyHost()
    view = None
    try:
        port, code, password = _credentials(host)
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                      "--name", "Alice")  # fmt: skip
        asked = host.wait_for(r"Question 1: .*?\[y/N\] ")
        read_until(view, "waiting for the host's user to accept")
        view.send_signal(signal.SIGINT if how == "leaves" else signal.SIGKILL)
        view.communicate(timeout=30)
        gone = AGENT_LEFT if how == "leaves" else LINK_LOST
        told = host.wait_for(rf"'Alice' \(127\.0\.0\.1:\d+\): {gone} before you answered;"
                             r" nothing was shared\n", asked.end())  # fmt: skip
        said = host.text[asked.end():told.end()]
        assert said.startswith(f"\n*** Question 1 closed without an answer: {gone}; nothing"
                               f" was shared.\n"), said  # fmt: skip
        assert "session with" not in host.text[asked.end():], host.text[asked.end():]
        assert host.proc.wait(timeout=30) == 0  # --once: over
    finally:
        if view is not None and view.poll() is None:
            stop(view)
        host.close()


def _race_once(host: PtyHost, port: int, code: str, password: str) -> str:
    """Question 2 (CONTROL) on screen; the host stopped, the view killed,
    ``y`` typed, the host let run: the customer's words from Question 2 on."""
    view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                  "--name", "Dave", "--control")  # fmt: skip
    try:
        host.say_yes(1)
        asked = host.wait_for(r"Question 2: MORE ACCESS.*?\[y/N\] ")
        read_until(view, "asked for control")
        os.kill(host.proc.pid, signal.SIGSTOP)
        try:
            view.kill()
            view.communicate(timeout=10)
            host.type("y")
        finally:
            os.kill(host.proc.pid, signal.SIGCONT)
        host.wait_for(r"the connection to 'Dave' .*? was lost.*?may reconnect[^\n]*\n",
                      asked.start())  # fmt: skip
        return host.text[asked.start():]
    finally:
        if view.poll() is None:
            stop(view)


def test_a_yes_typed_as_the_agents_link_went_is_never_a_bare_yes(
        tmp_path: Path, xvfb_display: str) -> None:  # fmt: skip
    """The real host (--control xtest on a private Xvfb, --record) with
    Question 2 open: the host is stopped (SIGSTOP), the agent's view
    killed, the customer's ``y`` typed, and the host let run: it reads the
    reset and the ``y`` in whichever order its loop takes them. Whatever
    that order: a "Question 2: yes" is a grant (the lost line says the
    agent may come back to control the screen) and the audit has its grant;
    otherwise the question's line says why nothing more was given, the lost
    line says they may come back to see it only, and the audit has no
    grant of control (a not_granted row for a yes it took)."""
    rec = tmp_path / "rec"
    rec.mkdir()
    host = PtyHost("--control", "xtest", "--scenario", "idle", "--record", str(rec),
                   env={"DISPLAY": xvfb_display})  # fmt: skip
    try:
        port, code, password = _credentials(host)
        said = _race_once(host, port, code, password)
    finally:
        os.kill(host.proc.pid, signal.SIGINT)
        try:
            host.proc.wait(timeout=30)
        finally:
            host.close()
    lost = re.search(r"the connection to 'Dave' [^\n]* was lost[^\n]*\n[^\n]*\n", said)
    assert lost is not None, said
    answered = said[:lost.start()]
    rows = [r for p in sorted(rec.glob("*.screc")) for r in _audit(p, tmp_path)]
    control = [r for r in rows if r["type"] == "grant" and "control" in str(r.get("level"))]
    if "*** Question 2: yes\n" in answered and "too late" not in answered:
        assert "control" in lost.group(0), said  # granted to a live agent, then lost
        assert control, rows
        return
    assert not control, rows
    assert "control" not in lost.group(0), said
    assert (TOO_LATE.format(n=2) in answered or LATE_AFTER.format(n=2) in answered
            or "*** Question 2 closed without an answer: the connection to the agent was"
               " lost; they get nothing more.\n" in answered), said  # fmt: skip
    yes = [r for r in rows if r["type"] == "consent" and r["upgrade"] and r["answer"] != "denied"]
    gone = [r for r in rows if r["type"] == "not_granted"]
    assert len(gone) == len(yes), rows
