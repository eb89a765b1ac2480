"""files40: Ctrl-C of ``screencodec view --web`` while the half of a file
the host's user sent (its FileEnd not come) is to be removed from a disk
that does not answer: as the host does
(tests/transport/test_deflake39_stopdisk_half_file.py, the same code:
cli/saving.py), the view says at once which half file's removal it waits
for and how to stop waiting; a Ctrl-C more leaves at once, saying what
may stay in the folder; once the disk answers (no Ctrl-C more) it says the
file not saved, and nothing of it stays.

Before (the old code, the same session): after the Ctrl-C the view said
nothing at all (both cases failed waiting for the line), and a second
Ctrl-C was not one it took to leave without the disk (it gave that way
only to a file being saved).

The real ``view --web --no-open --download-dir`` on a pty, its page a
scripted one that accepts the file; the host a real Host on loopback that
sends it and holds its FileEnd; the download folder a real FAT image
(fusefat) whose daemon is stopped as the FileEnd is about to go."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from pathlib import Path

import pytest

from screencodec.transport import SessionCredentials
from screencodec.transport.session import messages as m
from transport.test_host_cli_commands import wait
from transport.test_small_file_durable import fat
from transport.test_stopdisk_host import in_order, stalled, state, stop_disk
from transport.test_stopdisk_view import LEFT as LEFT_ON
from transport.test_stopdisk_view import web_view_joined
from transport.test_view_cli_send_screens import PtyView

__all__ = ["fat"]  # the fixture, imported for the FAT test here

WAITING = (r"waiting for the disk to remove what came of notes\.bin \([^)]* of 300 kB\)"
           r" from the host, not received; press Ctrl-C again to leave now: it may then stay"
           r" in the folder as a hidden temporary file\n")  # fmt: skip

#: The view's end line after the Ctrl-C it left on.
LEFT = LEFT_ON[signal.SIGINT]


@pytest.mark.parametrize("then", ["again", "the disk answers"])
def test_files40_view_ctrl_c_while_a_half_files_removal_waits_on_a_stalled_disk(
    fat: Path, tmp_path: Path, then: str
) -> None:
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(300_000))
    creds = SessionCredentials()
    views: list[PtyView] = []

    async def body(daemon: int) -> tuple[int, int]:
        async with web_view_joined(fat, creds, views) as (host, view):
            sender = host._runtime.sender_for(next(iter(host._runtime.links)))
            real = sender._send
            held = asyncio.Event()

            async def send(msg: m.Message) -> None:
                if isinstance(msg, m.FileEnd):  # the disk stops; the end never goes
                    while not any(fat.iterdir()):  # once the file is begun on it (files40)
                        await asyncio.sleep(0.05)
                    stop_disk(daemon)
                    held.set()
                    await asyncio.Event().wait()
                await real(msg)

            sender._send = send  # type: ignore[method-assign]
            sending = asyncio.ensure_future(host.send(notes, host.viewers[0]))
            await held.wait()
            mark = len(view.text)
            view.proc.send_signal(signal.SIGINT)
            await wait(view, WAITING, mark)
            assert view.proc.poll() is None, view.text[mark:]  # it waits for the disk
            if then == "again":
                view.proc.send_signal(signal.SIGINT)
                await wait(view, LEFT, mark)
                while state(view.proc.pid) != "Z":  # the interpreter is gone (see the host's)
                    await asyncio.sleep(0.05)
                assert state(daemon) == "T", "the disk was to answer only after the view left"
            os.kill(daemon, signal.SIGCONT)  # the disk answers
            status = await asyncio.to_thread(view.proc.wait, 20)
            sending.cancel()
            with contextlib.suppress(BaseException):
                await sending
            return mark, status

    try:
        with stalled(fat) as daemon:
            mark, status = asyncio.run(asyncio.wait_for(body(daemon), 150))  # a bound, at load
        text = views[0].text[mark:]
        assert status == 0, text
        if then == "again":
            in_order(text, WAITING, r"left without waiting for the disk: what came of"
                     r" notes\.bin \([^)]* of 300 kB\) from the host, not received, may stay"
                     r" in the folder as a hidden temporary file, removed by a later file"
                     r" received there; ", LEFT)  # fmt: skip
            assert "not received:" not in text, text
            left = os.listdir(fat)
            assert len(left) == 1 and re.fullmatch(r"\.notes\.bin\.part-[0-9a-f]{8}", left[0])
        else:
            in_order(text, WAITING, r"not received: notes\.bin \([^)]* of 300 kB had come\);"
                     r" nothing of it was kept\n", LEFT)  # fmt: skip
            assert "left without" not in text, text
            assert os.listdir(fat) == []
    finally:
        for view in views:
            view.close()
