"""A library program that cancels ``Viewer.run`` and leaves, without
awaiting the session's end, while a file the host sent is being saved
(files32). Before, the disk thread (a daemon, so that a stalled disk does
not hold a program whose user gave up waiting) stopped with the
interpreter mid-save: the whole file stayed under its temporary name,
which the next receiver in the folder removes as half. Now the
interpreter's exit waits for the saves whose file came whole (unless its
user gave up waiting: FileReceiver.give_up), so the file is under its name,
whole; no temporary file is left.

The program is a real one in a subprocess (a real host and viewer on
loopback); its download folder a real FAT image (fusefat) whose daemon is
stopped (SIGSTOP) as the host's FileEnd goes, so that the save waits for
the disk while the program leaves; the disk answers once the program is at
its exit (its own atexit line printed, and then either gone or waiting).
Nothing is timed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from transport.test_small_file_durable import fat
from transport.test_stopdisk_host import stalled, state

__all__ = ["fat"]  # the fixture

_PROGRAM = textwrap.dedent("""
    import asyncio, atexit, faulthandler, os, signal, sys, time
    faulthandler.dump_traceback_later(40, exit=True)  # a failing run: where it hung
    from pathlib import Path
    from screencodec.capture.synthetic import SyntheticDesktop
    from screencodec.transport import VIEW, Host, Viewer, allow
    from screencodec.transport.channel.codes import SessionCredentials
    from screencodec.transport.connect import connect_direct, listen_direct
    from screencodec.transport.session import messages as m

    folder, notes, daemon = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])

    def stop_disk(daemon):  # as the tests' stop_disk: until every thread of it is stopped
        os.kill(daemon, signal.SIGSTOP)
        tasks = Path(f"/proc/{daemon}/task")
        while not all(_state(t) == "T" for t in tasks.iterdir()):
            time.sleep(0.005)

    def _state(task):
        try:
            return (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return "T"  # a thread gone: it answers nothing

    async def yes(info):
        return True

    async def main():
        host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=allow())
        creds = SessionCredentials()
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
        channel = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
        viewer = Viewer(channel, who="Alice", download_dir=folder, file_consent=yes)
        await viewer.start(VIEW)
        running = asyncio.ensure_future(viewer.run())
        sender = host._runtime.sender_for(next(iter(host._runtime.links)))
        real = sender._send

        async def send(msg):
            if isinstance(msg, m.FileEnd):  # all of it written: the disk stops
                size = notes.stat().st_size
                while not any(p.stat().st_size == size for p in folder.iterdir()):
                    await asyncio.sleep(0.05)
                stop_disk(daemon)
            await real(msg)

        sender._send = send
        sending = asyncio.ensure_future(host.send(notes, host.viewers[0]))
        while not viewer.files.saving():
            if sending.done():  # a failing run: why it was not saved
                print("sent", sending.result(), flush=True)
                return
            await asyncio.sleep(0.01)
        running.cancel()  # the program stops its viewer...
        await asyncio.wait({running}, timeout=1)  # (it waits for the disk)
        print("leaving", flush=True)  # ...and leaves: asyncio.run cancels the rest

    atexit.register(print, "at exit", flush=True)  # runs before the package's own
    asyncio.run(main())
""")


def _main_thread_waits(pid: int) -> bool:
    """Process ``pid``'s main thread has exited (the interpreter is gone)
    or waits on a lock (a futex: the interpreter's exit waits)."""
    if state(pid) == "Z":
        return True
    try:
        return "futex" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return True


def test_files32_a_cancelled_viewer_run_leaves_a_whole_file_saved(
    fat: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(300_000))
    program = tmp_path / "program.py"
    program.write_text(_PROGRAM)
    with stalled(fat) as daemon:
        proc = subprocess.Popen([sys.executable, str(program), str(fat), str(notes),
                                 str(daemon)], stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline(), proc.stdout.readline()]
            assert lines == ["leaving\n", "at exit\n"], lines
            while not _main_thread_waits(proc.pid):
                pass
            assert state(daemon) == "T"
            os.kill(daemon, signal.SIGCONT)  # the disk answers
            status = proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
    assert status == 0
    assert sorted(p.name for p in fat.iterdir()) == ["notes.bin"]
    assert (fat / "notes.bin").read_bytes() == notes.read_bytes()
