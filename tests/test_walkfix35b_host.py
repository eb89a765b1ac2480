"""walkfix35b: the host's lines a new user's walk found wrong, on a real
``screencodec host`` on a pty (the agents are real Viewers in this process).

- A refused join's end line named only the address (``session with
  127.0.0.1:52850 ended: consent denied``) where every other line names
  ``'Alice' (ADDRESS)``.
- A refused session's recording read as one that took place in
  ``recordings list`` (``complete  Alice (...)``), ``verify`` and ``play``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from screencodec.errors import ConsentDeniedError
from screencodec.transport import CONTROL, VIEW, Viewer
from screencodec.transport.connect import connect_direct
from transport.test_attack_prompts import CLI, PtyHost
from transport.test_host_cli_commands import AGENT, Where, session, wait
from transport.test_walk36_host_let_in_to_nothing import NO_VIEW, NOTHING_ASKED
from warm_start import warm_run


@dataclass
class _Refused:
    """A ``host --once --record`` whose user said no to 'Alice': what its
    terminal said after the question, its exit status, its recordings'
    folder."""

    said: str
    status: int
    rec: Path


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Refused]:
    """The refused join both tests after read (time49c: one host for the
    two, its terminal's line and its recording)."""
    rec = tmp_path_factory.mktemp("refused") / "rec"
    rec.mkdir()  # host --record takes a folder that is there (tail39)
    host = PtyHost("--record", str(rec))
    try:
        asked: list[int] = []

        async def body(at: Where) -> None:
            viewer = Viewer(await connect_direct("127.0.0.1", *at), who="Alice")
            started = asyncio.ensure_future(viewer.start(VIEW))
            asked.append((await wait(host, r"Question 1: .*?\[y/N\] ")).end())
            host.type("n")
            with pytest.raises(ConsentDeniedError):
                await started

        session(host, body)
        status = host.proc.wait(10)
        host.wait_for(r"\x00EOF", asked[0], timeout=10)  # all it printed, read
        yield _Refused(host.text[asked[0]:], status, rec)
    finally:
        host.close()


def test_a_refused_join_ends_in_a_line_that_names_the_agent(refused: _Refused) -> None:
    # Before: "session with 127.0.0.1:52850 ended: consent denied";
    # then (walk36) "... ended: consent denied", the END reason as jargon.
    assert re.search("session with " + AGENT.format(who="Alice") + r" ended: you declined\n",
                     refused.said), refused.said
    assert refused.status == 3  # --once: refused, no session took place


def _cli(*words: str) -> str:
    done = warm_run([*CLI, *words], capture_output=True, text=True, timeout=30,
                    check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _reads_refused(rec: Path, out: Path, who: str, why: str) -> None:
    """``recordings list``, ``verify`` and ``play`` say of the one recording
    in ``rec`` that nobody was let in (``why``), its agent ``who`` (``play``
    writes its pictures below ``out``)."""
    (path,) = rec.glob("*.screc")
    listed = _cli("recordings", "list", str(rec)).splitlines()[1]
    assert re.search(rf" refused +{re.escape(who)} \(127\.0\.0\.1:\d+\)  nobody was let in"
                     rf" \({re.escape(why)}\)  {re.escape(path.name)}$", listed), listed
    verified = _cli("recordings", "verify", str(path))
    assert verified.rstrip().endswith(f"; a refused session: nobody was let in ({why})"), verified
    played = _cli("recordings", "play", str(path), "--at", "0", "--out", str(out / "png"))
    assert re.search(r": \d+\.\d\d s, 0 updates, 0 checkpoints, refused: nobody was let in"
                     rf" \({re.escape(why)}\)\n", played), played


def test_a_refused_session_says_so_in_recordings_list_verify_and_play(
        refused: _Refused, tmp_path: Path) -> None:  # fmt: skip
    assert refused.status == 3
    # Before: "complete  Alice (127.0.0.1:PORT)  FILE", as a session that took place;
    # then (walk36) "nobody was let in (consent denied)", the END reason as jargon.
    _reads_refused(refused.rec, tmp_path, "Alice", "the user declined")


def test_a_session_whose_agent_asked_nothing_says_so_in_recordings_list(
        tmp_path: Path) -> None:
    """smallend35: an agent that connects (the password proven) and asks
    nothing: the host ends the link when no request came in time (10 s,
    session/link.py), its recording's END reason "viewer sent no request".
    Before: ``list`` said ``complete  ? (127.0.0.1:PORT)``, ``verify`` and
    ``play`` ``complete``, as for a session that took place."""
    rec = tmp_path / "rec"
    rec.mkdir()  # host --record takes a folder that is there (tail39)
    host = PtyHost("--record", str(rec))
    try:
        async def body(at: Where) -> None:
            channel = await connect_direct("127.0.0.1", *at)
            try:  # the host's link waits 10 s for a request, then closes
                await wait(host, NOTHING_ASKED)  # walk36: " ended: viewer sent no request"
            finally:
                await channel.close()

        session(host, body)
        # --once: nobody was let in, as for a refusal (review36: it was 0)
        assert host.proc.wait(10) == 3
    finally:
        host.close()
    _reads_refused(rec, tmp_path, "?", "no request in time")


def test_a_session_whose_agent_did_not_ask_to_view_says_so_in_recordings_list(
        tmp_path: Path) -> None:
    """ends36: an agent whose first request lacks VIEW (CONTROL alone): the
    host refuses it at once, its recording's END reason "viewer did not ask
    to view" (session/link.py). Nobody was let in; before, ``list`` said
    ``complete  Alice (127.0.0.1:PORT)``, ``verify`` and ``play``
    ``complete``, as smallend35 found for "viewer sent no request"."""
    rec = tmp_path / "rec"
    rec.mkdir()  # host --record takes a folder that is there (tail39)
    host = PtyHost("--record", str(rec))
    try:
        async def body(at: Where) -> None:
            viewer = Viewer(await connect_direct("127.0.0.1", *at), who="Alice")
            with pytest.raises(ConsentDeniedError):
                await viewer.start(CONTROL)
            await wait(host, NO_VIEW)  # walk36: " ended: viewer did not ask to view"

        session(host, body)
        # --once: nobody was let in, as for a refusal (review36: it was 0)
        assert host.proc.wait(10) == 3
    finally:
        host.close()
    _reads_refused(rec, tmp_path, "Alice", "it did not ask to view")
