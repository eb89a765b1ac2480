"""rstop36: ``screencodec host`` (a real process on a pty; the agent is a
viewer in this process) and a file its receiver stops mid-way.

(1) The host /sends big.bin and the agent's program stops receiving it
(``Viewer.stop_receiving``): the host's user reads "'Alice' (ADDR) stopped
receiving big.bin (X of 4.2 MB had gone); nothing of it was kept there".
Before, the only receiver-side way was a FileResult "not saved", read as
"'Alice' could not save big.bin: ...".
(2) The agent sends big.bin to ``host --download-dir`` and the host's user
types ``/stop``: it stops incoming files too (before, only its /send's);
the host says so, its folder keeps nothing, and the agent's program is told
its peer's user stopped it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from screencodec.transport.session.events import CUT_STOPPED_THERE, FileCut, FileSent
from screencodec.transport.session.files.wire import STOPPED_THERE_WHY
from screencodec.transport.session.messages import FileChunk

from .test_attack_prompts import PtyHost
from .test_cancel36_host_stop import _join_receiving_slowly
from .test_host_cli_commands import AGENT, Where, goes_on, inbox_big, join, leave, run_to_bye, wait


def test_the_agent_stops_receiving_the_hosts_file(tmp_path: Path) -> None:
    inbox, big = inbox_big(tmp_path)
    host = PtyHost()

    async def body(at: Where) -> None:
        viewer, task = await _join_receiving_slowly(host, at, inbox)
        mark = len(host.text)
        host.type(f"/send {big}")
        await wait(host, r"offering .*big\.bin \(4\.2 MB\) to ", mark)
        for _ in range(500):  # its first bytes are written, the rest comes slowly
            if any(n > 0 for _, n in viewer.files.receiving()):
                break
            await asyncio.sleep(0.01)
        ((info, _),) = viewer.files.receiving()
        assert await viewer.stop_receiving(info.transfer) is True
        said = await wait(host, AGENT.format(who="Alice") + r" stopped receiving big\.bin"
                          r" \([\d.]+ [kM]?B of 4\.2 MB had gone\); nothing of it was kept"
                          r" there\n", mark)  # fmt: skip
        # The viewer tells the host at once (so that it stops sending) and
        # removes its half file on its disk thread meanwhile: the host's line
        # may come first (the fresh clone of 49eee86 found the part still
        # there as the line came, once).
        for _ in range(300):
            if not list(inbox.iterdir()):
                break
            await asyncio.sleep(0.01)
        assert list(inbox.iterdir()) == []
        await goes_on(host, viewer, said.end())
        await leave(viewer, task)

    run_to_bye(host, body)
    assert "could not save" not in host.text
    assert list(inbox.iterdir()) == []


def _slow_sender(viewer: Any) -> None:
    """Each chunk the viewer sends waits 20 ms first: /stop lands mid-file."""
    real = viewer.sender._send

    async def send(msg: Any) -> None:
        if isinstance(msg, FileChunk):
            await asyncio.sleep(0.02)
        await real(msg)

    viewer.sender._send = send


def test_host_stop_stops_a_file_being_received(tmp_path: Path) -> None:
    inbox, big = inbox_big(tmp_path)
    host = PtyHost("--download-dir", str(inbox))

    async def body(at: Where) -> None:
        viewer, task = await join(host, at, "Alice")
        _slow_sender(viewer)
        events = viewer.events()
        mark = len(host.text)
        sending = asyncio.ensure_future(viewer.sender.send(big))
        asked = await wait(host, r"Question 2: FILE.*?\[y/N\] ", mark)
        host.type("y")
        for _ in range(500):  # its first bytes are on the host's disk
            if any(p.name.startswith(".big.bin.part-") for p in inbox.iterdir()):
                break
            await asyncio.sleep(0.01)
        host.type("/stop")
        said = await wait(host, r"you stopped receiving 'big\.bin' from "
                          + AGENT.format(who="Alice") + r" \([\d.]+ [kM]?B of 4\.2 MB had"
                          r" come\); nothing of it was kept\n", asked.end())  # fmt: skip
        sent = await asyncio.wait_for(sending, 10)
        assert isinstance(sent, FileSent)
        assert (sent.outcome, sent.why) == ("failed", STOPPED_THERE_WHY)
        async for ev in events:
            if isinstance(ev, FileCut):
                assert ev.cause == CUT_STOPPED_THERE and ev.sent < 4 << 20
                break
        for _ in range(300):
            if not list(inbox.iterdir()):
                break
            await asyncio.sleep(0.01)
        assert list(inbox.iterdir()) == []
        host.type("/stop")
        await wait(host, r"\(no file is being sent or received: nothing to stop\)\n",
                   said.end())  # fmt: skip
        await leave(viewer, task)

    run_to_bye(host, body)
    assert list(inbox.iterdir()) == []


def test_the_agents_terminal_says_the_hosts_user_stopped_it() -> None:
    """``screencodec view``'s line for its /send that the host's user
    stopped (a FileSent "failed" with STOPPED_THERE_WHY): it said "the host
    could not save big.bin: its user stopped receiving it; ..."."""
    from screencodec.cli.view import _sent_words

    assert _sent_words("big.bin", 4_200_000, "failed", STOPPED_THERE_WHY) == (
        "the host's user stopped receiving big.bin (4.2 MB); nothing of it was kept there")
    # The host's own words, without the code, are shown as its words.
    assert _sent_words("big.bin", 4_200_000, "failed", "No space left on device") == (
        "the host could not save big.bin: No space left on device")
