"""Ctrl-C of ``screencodec view --web`` while a file the host's user sent
is still being written to a disk that does not answer (stopdisk): as the
host does (tests/transport/test_stopdisk_host.py, the same code:
cli/saving.py), the view says at once which file it waits for and how to
stop waiting; once the disk answers it says the file saved and ends; a
Ctrl-C more leaves without it.

Measured before (the same session, the old code): after the Ctrl-C the
view said nothing and did not end; a second Ctrl-C interrupted it (exit
130) without a word of the file or of the session's end, and the process
still did not end until the disk answered (the interpreter joined the
disk thread at exit).

The real ``view --web --no-open --download-dir`` on a pty, its page a
scripted one (aiohttp, as tests/web/test_web_flow.py) that accepts the
file; the host a real Host on loopback that sends it; the download folder
a real FAT image (fusefat) whose daemon is stopped as the host's FileEnd
goes. Nothing is timed: the view is seen waiting for the FUSE daemon."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from screencodec.capture import open_source
from screencodec.transport import Host, HostConfig, SessionCredentials, allow, listen_direct
from transport.test_host_cli_commands import wait
from transport.test_small_file_durable import fat
from transport.test_stopdisk_host import (
    in_order,
    stalled,
    state,
    stop_at_end,
    waits_on_the_disk,
)
from transport.test_view_cli_send_screens import PtyView
from web.test_web_flow import _page

__all__ = ["fat"]  # the fixture, imported for the FAT test here

_URL = r"(http://127\.0\.0\.1:\d+/)#k=([A-Za-z0-9_-]+)"
WAITING = (r"waiting for the disk to finish saving notes\.bin \(300 kB\) from the host;"
           r" {again} to leave now: it may then not be saved\n")  # fmt: skip
#: How the view says to leave without the disk, after the signal it left on.
AGAIN = {signal.SIGINT: "press Ctrl-C again", signal.SIGTERM: "send SIGTERM again"}
#: The view's end line after the signal it left on (words51: SIGTERM's said
#: "you left the session", the agent's words for their own Ctrl-C).
LEFT = {signal.SIGINT: r"session ended: you left the session\n",
        signal.SIGTERM: r"session ended: the viewer was stopped by SIGTERM\n"}


async def _accept_files(ws: Any) -> None:
    """The page: yes to every file offered, until its socket ends."""
    while (msg := await ws.receive()).type in (aiohttp.WSMsgType.TEXT,
                                               aiohttp.WSMsgType.BINARY):  # fmt: skip
        got = json.loads(msg.data) if msg.type == aiohttp.WSMsgType.TEXT else {"t": ""}
        if got["t"] == "file_offer":
            await ws.send_str(json.dumps({"t": "file_answer", "id": got["id"], "accept": True}))


@contextlib.asynccontextmanager
async def web_view_joined(fat: Path, creds: SessionCredentials,
                          views: list[PtyView]) -> AsyncIterator[tuple[Host, PtyView]]:  # fmt: skip
    """A host of an idle screen on loopback, and a real ``view --web`` ('Alice',
    saving into ``fat``) whose page (a websocket, accepting every file) has
    joined it; the view is appended to ``views`` for the caller to close."""
    host = Host(open_source("synthetic", width=160, height=120, scenario="idle"),
                consent=allow(), config=HostConfig(adaptive=False))  # fmt: skip
    listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
    view = PtyView(f"127.0.0.1:{listener.port}", "--code", creds.code, "--password",
                   creds.password, "--web", "--no-open", "--download-dir", str(fat),
                   "--name", "Alice")  # fmt: skip
    views.append(view)
    url = await wait(view, _URL)
    http, ws = await _page(url.group(1), url.group(2))
    page = asyncio.ensure_future(_accept_files(ws))
    try:
        while not host.viewers:
            await asyncio.sleep(0.05)
        yield host, view
    finally:
        page.cancel()
        await http.close()
        await listener.close()
        await host.close()


@pytest.mark.parametrize(
    ("sig", "then"),
    [(signal.SIGINT, "the disk answers"), (signal.SIGINT, "again"), (signal.SIGTERM, "again")],
    ids=["ctrl_c-the_disk_answers", "ctrl_c-again", "sigterm-again"],
)
def test_stopdisk_view_ctrl_c_while_a_received_file_waits_on_a_stalled_disk(
    fat: Path, tmp_path: Path, sig: signal.Signals, then: str
) -> None:
    """A SIGTERM (a service manager's, which has no Ctrl-C to press) is
    said in its own words and leaves when sent again (before, view --web
    said "press Ctrl-C again" and a second SIGTERM changed nothing)."""
    waiting = WAITING.format(again=AGAIN[sig])
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(300_000))
    creds = SessionCredentials()
    views: list[PtyView] = []

    async def body(daemon: int) -> tuple[int, int]:
        async with web_view_joined(fat, creds, views) as (host, view):
            sender = host._runtime.sender_for(next(iter(host._runtime.links)))
            sender._send = stop_at_end(sender._send, daemon, notes, fat)  # type: ignore[method-assign]
            sending = asyncio.ensure_future(host.send(notes, host.viewers[0]))
            while not waits_on_the_disk(view.proc.pid, daemon):
                await asyncio.sleep(0.05)
            mark = len(view.text)
            view.proc.send_signal(sig)
            await wait(view, waiting, mark)
            assert view.proc.poll() is None, view.text[mark:]  # it waits for the disk
            if then == "again":
                view.proc.send_signal(sig)
                await wait(view, LEFT[sig], mark)
                while state(view.proc.pid) != "Z":  # the interpreter is gone (see the host's)
                    await asyncio.sleep(0.05)
                assert state(daemon) == "T", "the disk was to answer only after the view left"
            os.kill(daemon, signal.SIGCONT)  # the disk answers
            status = await asyncio.to_thread(view.proc.wait, 20)
            with contextlib.suppress(Exception):
                await sending
            return mark, status

    try:
        with stalled(fat) as daemon:
            mark, status = asyncio.run(asyncio.wait_for(body(daemon), 150))  # a bound, at load
        text = views[0].text[mark:]
        assert status == 0, text
        if then == "the disk answers":
            in_order(text, waiting, rf"saved {re.escape(str(fat))}/notes\.bin \(300 kB\)\n",
                     LEFT[sig])  # fmt: skip
            assert os.listdir(fat) == ["notes.bin"]
            assert (fat / "notes.bin").read_bytes() == notes.read_bytes()
        else:
            in_order(text, waiting, r"left without waiting for the disk: notes\.bin \(300 kB\)"
                     r" from the host may not be saved \(", LEFT[sig])  # fmt: skip
            assert "saved /" not in text, text
            left = os.listdir(fat)
            assert len(left) == 1 and re.fullmatch(r"\.notes\.bin\.part-[0-9a-f]{8}", left[0])
            assert (fat / left[0]).read_bytes() == notes.read_bytes()
    finally:
        for view in views:
            view.close()
