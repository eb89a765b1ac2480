"""audit38: a recording nobody was let in to said "the session ended
before the user answered" also where no question was ever put to the
user: the host marked every link neither let in nor refused so
(host.py ``_recorded``). A link that broke the protocol, or closed, before
its first request was never asked about, nor one whose question still
waited its turn behind another's. Expected: only a link whose first
question was open (its consent callback called, not returned) reads "the
session ended before the user answered"; the others "the session ended
before the user was asked: REASON", REASON the session's own.

A real Host and Recorder on a loopback listener, real channels and a real
Viewer; the real ``screencodec recordings list`` reads the files."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.recording import Recorder
from screencodec.transport import VIEW, Host, HostConfig, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import ConsentRequest, Grant, questions_for
from warm_start import warm_run

from .helpers import run, until
from .test_cli import CLI, ENV


def _listed(rec: Path) -> list[str]:
    done = warm_run([*CLI, "recordings", "list", str(rec)], capture_output=True,
                    text=True, timeout=60, env=ENV, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[1:]


def _refused_as(line: str) -> str:
    """What a ``refused`` line of ``recordings list`` says after the agent."""
    found = re.search(r" refused +.*? \(127\.0\.0\.1:\d+\)  nobody was let in \((.*)\)  "
                      r"[^ ]+\.screc$", line)  # fmt: skip
    assert found is not None, line
    return found.group(1)


def _host_with(rec: Path, asked: list[ConsentRequest]) -> tuple[Host, Recorder]:
    recorder = Recorder(rec, host_id="test-host")

    async def never(request: ConsentRequest) -> Grant:  # the user does not answer
        asked.append(request)
        await asyncio.Event().wait()
        return Grant.deny()

    host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=never,
                config=HostConfig(), recorder=recorder)  # fmt: skip
    return host, recorder


def test_a_protocol_error_before_any_request_reads_ended_before_asking(tmp_path: Path) -> None:
    asked: list[ConsentRequest] = []
    host, recorder = _host_with(tmp_path / "rec", asked)

    async def main() -> None:
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            channel = await connect_direct("127.0.0.1", listener.port, creds.code,
                                           creds.password)  # fmt: skip
            await channel.send(m.encode(m.KeyframeRequest()))  # not a request: a protocol error
            await until(lambda: len(recorder.finished) == 1)
            await channel.close()

    run(main())
    assert asked == []
    (line,) = _listed(tmp_path / "rec")
    assert _refused_as(line) == ("the session ended before the user was asked: protocol error:"
                                 " expected a permission request, got KeyframeRequest"), line


def test_a_link_closed_before_any_request_reads_ended_before_asking(tmp_path: Path) -> None:
    asked: list[ConsentRequest] = []
    host, recorder = _host_with(tmp_path / "rec", asked)

    async def main() -> None:
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            channel = await connect_direct("127.0.0.1", listener.port, creds.code,
                                           creds.password)  # fmt: skip
            await channel.close()
            await until(lambda: len(recorder.finished) == 1)

    run(main())
    assert asked == []
    (line,) = _listed(tmp_path / "rec")
    words = _refused_as(line)
    assert words.startswith("the session ended before the user was asked: viewer gone: "), line


def test_only_the_question_put_reads_ended_before_the_user_answered(tmp_path: Path) -> None:
    """Two agents ask at once: the user has the first's question; the
    second's waits its turn. Both leave, the second first: the first ended before the user
    answered, the second before the user was asked."""
    asked: list[ConsentRequest] = []
    host, recorder = _host_with(tmp_path / "rec", asked)

    async def main() -> None:
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            viewers, starts = [], []
            for who in ("Alice", "Bob"):
                viewer = Viewer(await connect_direct("127.0.0.1", listener.port, creds.code,
                                                     creds.password), who=who)  # fmt: skip
                viewers.append(viewer)
                starts.append(asyncio.ensure_future(viewer.start(VIEW)))
                if who == "Alice":
                    await until(lambda: len(asked) == 1)
            queue = questions_for(host._runtime)  # Bob's question waits its turn behind Alice's
            await until(lambda: len(queue._held) == 2, what="both questions in the queue")
            for viewer, start in reversed(list(zip(viewers, starts, strict=True))):
                await viewer.channel.close()  # Bob first: else his turn comes
                await asyncio.gather(start, return_exceptions=True)
            await until(lambda: len(recorder.finished) == 2)

    run(main())
    assert [r.who for r in asked] == ["Alice"]
    said = {line.split(" (127.0.0.1")[0].split()[-1]: _refused_as(line)
            for line in _listed(tmp_path / "rec")}
    assert said["Alice"] == "the session ended before the user answered", said
    assert said["Bob"].startswith("the session ended before the user was asked: viewer "), said
