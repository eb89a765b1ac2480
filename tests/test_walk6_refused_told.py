"""walk6: a file refused unasked within 10 s of the last such line is told
once the 10 s are up, not only if yet another one comes.

Walked in tmux: the agent sent 4 files at once to a host with
``--download-dir`` whose user answered none (the 4th refused, "3 files
already wait for an answer", told), then, once they were answered, a 2 GB
file: the agent read "the host did not accept big.bin: it takes none larger
than 1.1 GB", and the host's user read nothing of it, ever. The host says
at most one line per agent per REFUSED_EVERY (10 s) about files refused
unasked (an agent must not flood the terminal), and counted the others
into the next such line: which never came. A real ``screencodec host``
(without --download-dir: every file refused unasked) on a pty; the agent
a real Viewer in this process."""

from __future__ import annotations

from pathlib import Path

import pytest

from transport.test_attack_prompts import PtyHost
from transport.test_host_cli_commands import AGENT, Where, join, session, wait


def test_a_refusal_counted_after_the_line_is_told_when_its_time_is_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 4 s instead of 10 (the host's REFUSED_EVERY): the second file is sent
    # at once after the first line, well within it even on a loaded machine.
    monkeypatch.setenv("SCREENCODEC_TEST_REFUSED_EVERY", "4")
    first, second = tmp_path / "notes.txt", tmp_path / "big.bin"
    first.write_bytes(b"notes")
    second.write_bytes(b"x" * 1000)
    host = PtyHost()
    try:
        async def body(at: Where) -> None:
            viewer, task = await join(host, at, "Alice")
            mark = len(host.text)
            assert await viewer.send_file(first) is False
            line = await wait(host, r"refused a file from " + AGENT.format(who="Alice")
                              + r": 'notes.txt'", mark)  # fmt: skip
            assert await viewer.send_file(second) is False  # within the 4 s: counted
            # Expected: told once the 4 s since the last line are up.
            await wait(host, r"refused 1 more file from " + AGENT.format(who="Alice")
                       + r" since the last such line; the last, 'big.bin' \(1\.0 kB\):"
                       r" this host takes no files \(start it with --download-dir DIR to be"
                       r" asked\)\n", line.end())  # fmt: skip
            await viewer.bye("done")
            await task

        session(host, body)
        assert host.text.count("big.bin") == 1
    finally:
        host.close()
