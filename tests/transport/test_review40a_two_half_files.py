"""review40a: Ctrl-C twice of ``screencodec host`` while two half files
(their ends not come) wait on a disk that stopped answering (deflake39's
case, with a file from each of two agents).

Found: the line said as the host leaves without waiting named both files
and said that what came of them "stays in the folder as a hidden temporary
file" (one file, for two), and said it stays where it only may: the disk
thread goes on with the removal given up, and a disk that answers a moment
later, while the program still ends, removes it (as the waiting line
itself says: "it may then stay"). Expected: "may stay in the folder as
hidden temporary files" for two, "may stay ... as a hidden temporary file"
for one (tests/transport/test_deflake39_stopdisk_half_file.py).

The real CLI on a pty; a real FAT image served by fusefat, whose daemon is
stopped (SIGSTOP) once both files are begun on it (their FileEnds never go)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from screencodec.transport.session import messages as m
from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_host_cli_commands import join, wait
from transport.test_small_file_durable import fat

from .test_stopdisk_host import (
    gone_within,
    in_order,
    stalled,
    stop_at_end,
    stop_disk,
    waits_on_the_disk,
)

__all__ = ["fat"]  # the fixture, imported for the FAT test here

#: Each half file as the host names it: its name, what came of it, the agent.
_HALF = r"{}\.bin \([^)]* of 300 kB\) from '{}' \([^)]*\)"
_A, _B = _HALF.format("a", "Alice"), _HALF.format("b", "Bob")
_BOTH = f"(?:{_A}, {_B}|{_B}, {_A})"
#: Each agent's session ends on its own: their half files are said in one
#: line or in two, as their removals are given to the disk.
WAITING_A, WAITING_B = (rf"waiting for the disk to remove what came of [^\n]*{half}[^\n]*, not"
                        r" received; press Ctrl-C again to leave now: (it|they) may then stay"
                        r" in the folder as (a hidden temporary file|hidden temporary files)\n"
                        for half in (_A, _B))  # fmt: skip
LEFT = (rf"left without waiting for the disk: what came of {_BOTH}, not received, may stay in"
        r" the folder as hidden temporary files, removed by a later file received there; while"
        r" the disk does not answer, the system may hold this program's very end\n")  # fmt: skip


def _held(real: Callable[[m.Message], Awaitable[None]], held: asyncio.Event, daemon: int,
          fat: Path, files: int = 2) -> Callable[[m.Message], Awaitable[None]]:  # fmt: skip
    """An agent's ``send`` (``real``) whose FileEnd never goes: the first
    one stops the disk once ``files`` files are begun on it."""

    async def send(msg: m.Message) -> None:
        if isinstance(msg, m.FileEnd):
            # Not a look at the disk once another end stopped it (the loop
            # would wait on it for good).
            while not held.is_set() and len(os.listdir(fat)) < files:  # begun on the disk
                await asyncio.sleep(0.05)
            if not held.is_set():
                stop_disk(daemon)
                held.set()
            await asyncio.Event().wait()
        await real(msg)

    return send


def test_review40a_two_half_files_left_are_said_as_two_that_may_stay(
    fat: Path, tmp_path: Path
) -> None:
    files = [tmp_path / "a.bin", tmp_path / "b.bin"]
    for path in files:
        path.write_bytes(os.urandom(300_000))
    host = PtyHost("--download-dir", str(fat))
    try:
        with stalled(fat) as daemon:

            async def body() -> tuple[bool, int, int]:
                held = asyncio.Event()
                sending = []
                for who, path in zip(("Alice", "Bob"), files, strict=True):
                    viewer, _task = await join(host, _credentials(host), who)
                    viewer.sender._send = _held(viewer.sender._send, held, daemon, fat)  # type: ignore[method-assign]
                    mark = len(host.text)
                    sending.append(asyncio.ensure_future(viewer.sender.send(path)))
                    await wait(host, r"Question \d+: FILE.*?\[y/N\] ", mark)
                    host.type("y")
                await held.wait()
                mark = len(host.text)
                host.proc.send_signal(signal.SIGINT)
                await wait(host, WAITING_A, mark)
                await wait(host, WAITING_B, mark)
                host.proc.send_signal(signal.SIGINT)
                left = await gone_within(host.proc.pid)
                os.kill(daemon, signal.SIGCONT)  # the disk answers
                status = await asyncio.to_thread(host.proc.wait, 20)
                for task in sending:
                    task.cancel()
                return left, mark, status

            left, mark, status = asyncio.run(asyncio.wait_for(body(), 60))
        text = host.text[mark:]
        assert left, text
        in_order(text, LEFT, r"session with '(Alice|Bob)' [^\n]* ended: you ended it\n",
                 r"Screen sharing stopped\.")  # fmt: skip
        assert status == 0, text
        kept = sorted(os.listdir(fat))  # the disk was stopped until the host had gone
        assert len(kept) == 2, kept
        assert all(re.fullmatch(r"\.[ab]\.bin\.part-[0-9a-f]{8}", name) for name in kept), kept
    finally:
        host.close()


def test_review40a_sigterm_twice_leaves_while_a_half_files_removal_waits(
    fat: Path, tmp_path: Path
) -> None:
    """A service manager's stop (SIGTERM: no Ctrl-C to press) while a half
    file's removal waits on the stopped disk: the host says to send SIGTERM
    again, and that leaves at once, status 0 (as files32 for a save)."""
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(300_000))
    host = PtyHost("--download-dir", str(fat))
    waiting = (r"waiting for the disk to remove what came of notes\.bin \([^)]* of 300 kB\) from"
               r" 'Alice' [^\n]*, not received; send SIGTERM again to leave now: it may then stay"
               r" in the folder as a hidden temporary file\n")  # fmt: skip
    try:
        with stalled(fat) as daemon:

            async def body() -> tuple[bool, int, int]:
                viewer, _task = await join(host, _credentials(host), "Alice")
                held = asyncio.Event()
                viewer.sender._send = _held(viewer.sender._send, held, daemon, fat, 1)  # type: ignore[method-assign]
                mark = len(host.text)
                sending = asyncio.ensure_future(viewer.sender.send(notes))
                await wait(host, r"Question \d+: FILE.*?\[y/N\] ", mark)
                host.type("y")
                await held.wait()
                mark = len(host.text)
                host.proc.send_signal(signal.SIGTERM)
                await wait(host, waiting, mark)
                host.proc.send_signal(signal.SIGTERM)
                left = await gone_within(host.proc.pid)
                os.kill(daemon, signal.SIGCONT)
                status = await asyncio.to_thread(host.proc.wait, 20)
                sending.cancel()
                return left, mark, status

            left, mark, status = asyncio.run(asyncio.wait_for(body(), 60))
        text = host.text[mark:]
        assert left, text
        in_order(text, waiting, r"left without waiting for the disk: what came of notes\.bin"
                 r" [^\n]*, not received, may stay in the folder as a hidden temporary file,",
                 r"session with 'Alice' [^\n]* ended", r"Screen sharing stopped\.")  # fmt: skip
        assert status == 0, text
    finally:
        host.close()


def test_review40a_no_sharing_banner_while_the_host_waits_on_the_disk(
    fat: Path, tmp_path: Path
) -> None:
    """Found: Ctrl-C with two agents, Alice's half file on the stopped disk
    and Bob with none: Bob's session ended at once, and the host showed
    "YOUR SCREEN IS BEING SHARED WITH: 'Alice'" as it waited (for good,
    since files40, if the disk never answers), though her session was
    ended and nothing was shared (the same with no disk involved, for a
    moment: the sessions end one after the other). Expected: once the host
    stops, no sharing banner; its "Screen sharing stopped." at the end."""
    notes = tmp_path / "a.bin"
    notes.write_bytes(os.urandom(300_000))
    host = PtyHost("--download-dir", str(fat))
    try:
        with stalled(fat) as daemon:

            async def body() -> tuple[int, int]:
                held = asyncio.Event()
                alice, _task = await join(host, _credentials(host), "Alice")
                await join(host, _credentials(host), "Bob")
                alice.sender._send = _held(alice.sender._send, held, daemon, fat, 1)  # type: ignore[method-assign]
                mark = len(host.text)
                sending = asyncio.ensure_future(alice.sender.send(notes))
                await wait(host, r"Question \d+: FILE.*?\[y/N\] ", mark)
                host.type("y")
                await held.wait()
                mark = len(host.text)
                host.proc.send_signal(signal.SIGINT)
                await wait(host, WAITING_A, mark)
                await wait(host, r"session with 'Bob' [^\n]* ended: you ended it\n", mark)
                await asyncio.sleep(0.5)  # what the host says meanwhile
                host.proc.send_signal(signal.SIGINT)
                await gone_within(host.proc.pid)
                os.kill(daemon, signal.SIGCONT)
                status = await asyncio.to_thread(host.proc.wait, 20)
                sending.cancel()
                return mark, status

            mark, status = asyncio.run(asyncio.wait_for(body(), 60))
        text = host.text[mark:]
        assert "BEING SHARED WITH" not in text, text
        in_order(text, WAITING_A, r"left without waiting for the disk: ",
                 r"session with 'Alice' [^\n]* ended: you ended it\n",
                 r"Screen sharing stopped\.")  # fmt: skip
        assert status == 0, text
    finally:
        host.close()


def test_review40a_a_save_and_a_half_files_removal_together(fat: Path, tmp_path: Path) -> None:
    """Bob's b.bin began to come (its end held), then Alice's a.bin came
    whole, its save waiting on the disk that stopped as her FileEnd went:
    Ctrl-C names both, each in its own words, and a Ctrl-C more leaves,
    saying what may not be saved and what may stay."""
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    for path in (a, b):
        path.write_bytes(os.urandom(300_000))
    host = PtyHost("--download-dir", str(fat))
    saving = (r"waiting for the disk to finish saving a\.bin \(300 kB\) from 'Alice' [^\n]*;"
              r" press Ctrl-C again to leave now: it may then not be saved\n")  # fmt: skip
    removing = (r"waiting for the disk to remove what came of b\.bin \([^)]* of 300 kB\) from"
                r" 'Bob' [^\n]*, not received; press Ctrl-C again to leave now: it may then"
                r" stay in the folder as a hidden temporary file\n")  # fmt: skip
    try:
        with stalled(fat) as daemon:

            async def body() -> tuple[bool, int, int]:
                alice, _task = await join(host, _credentials(host), "Alice")
                bob, _task = await join(host, _credentials(host), "Bob")
                real_b = bob.sender._send

                async def bob_sends(msg: m.Message) -> None:
                    if isinstance(msg, m.FileEnd):  # b.bin's end never goes
                        await asyncio.Event().wait()
                    await real_b(msg)

                bob.sender._send = bob_sends  # type: ignore[method-assign]
                alice.sender._send = stop_at_end(alice.sender._send, daemon, a, fat)  # type: ignore[method-assign]
                mark = len(host.text)
                sending = [asyncio.ensure_future(bob.sender.send(b))]
                await wait(host, r"Question \d+: FILE.*?\[y/N\] ", mark)
                host.type("y")
                while not os.listdir(fat):  # b.bin begun on the disk
                    await asyncio.sleep(0.05)
                mark = len(host.text)
                sending.append(asyncio.ensure_future(alice.sender.send(a)))
                await wait(host, r"Question \d+: FILE.*?\[y/N\] ", mark)
                host.type("y")
                while not waits_on_the_disk(host.proc.pid, daemon):  # a.bin's save waits
                    await asyncio.sleep(0.05)
                mark = len(host.text)
                host.proc.send_signal(signal.SIGINT)
                await wait(host, saving, mark)
                await wait(host, removing, mark)
                host.proc.send_signal(signal.SIGINT)
                left = await gone_within(host.proc.pid)
                os.kill(daemon, signal.SIGCONT)
                status = await asyncio.to_thread(host.proc.wait, 20)
                for task in sending:
                    task.cancel()
                return left, mark, status

            left, mark, status = asyncio.run(asyncio.wait_for(body(), 60))
        text = host.text[mark:]
        assert left, text
        in_order(text, r"left without waiting for the disk: a\.bin \(300 kB\) from 'Alice'"
                 r" [^\n]* may not be saved")  # fmt: skip
        in_order(text, r"left without waiting for the disk: what came of b\.bin [^\n]*, not"
                 r" received, may stay in the folder as a hidden temporary file,")  # fmt: skip
        # Each end line, then the banner (host37), the one whose end waited on the disk too.
        in_order(text, r"session with 'Alice' [^\n]* ended", r"Screen sharing stopped\.")
        in_order(text, r"session with 'Bob' [^\n]* ended", r"Screen sharing stopped\.")
        assert status == 0, text
    finally:
        host.close()
