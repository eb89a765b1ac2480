"""``screencodec host`` started without ``--download-dir`` (a real process on
a pty; the agent is a viewer in this process): a file the agent sends is
refused without a question, and the host's user reads one line saying so and
why, the file's name shown harmless; a flood of offers is one line."""

from __future__ import annotations

import asyncio
from pathlib import Path

from .test_attack_prompts import PtyHost
from .test_host_cli_commands import AGENT, Where, join, session, wait

#: A name with an escape sequence (clear screen) and a bidi override.
HOSTILE = "report\x1b[2J\u202etxt.exe"


def test_a_file_to_a_host_without_download_dir_is_refused_and_told(tmp_path: Path) -> None:
    sent = tmp_path / HOSTILE
    sent.write_bytes(b"not wanted")
    host = PtyHost()
    try:
        async def body(at: Where) -> None:
            viewer, task = await join(host, at, "Alice")
            mark = len(host.text)
            assert await viewer.send_file(sent) is False
            line = await wait(host, r"refused a file from " + AGENT.format(who="Alice")
                              + r": '(.*?)' \(10 bytes\): this host takes no files \(start it"
                              r" with --download-dir DIR to be asked\)\n", mark)
            assert line.group(1) == "report[2Jtxt.exe"  # what no terminal acts on
            # More offers at once are counted, not told one by one: after them,
            # a chat line is shown, and still only the one refusal line.
            results = await asyncio.gather(*(viewer.send_file(sent) for _ in range(5)))
            assert results == [False] * 5
            await viewer.chat("after the files")
            await wait(host, r"says: after the files\n", line.end())
            await viewer.bye("done")
            await task

        session(host, body)
        host.wait_for(r"ended: the agent left, saying: done")
        assert host.text.count("refused a file") == 1
        assert "Question 2" not in host.text  # never asked
        assert "\x1b[2J" not in host.text and "\u202e" not in host.text
    finally:
        host.close()
