"""The host's /send of a file it may not read: answered in words, as the
agent's /send is (cli/say.file_to_send), and the host goes on. Before, a
folder the host's user may not enter on the way to the file raised
PermissionError out of Path.is_file in the command's task: a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .test_cli import ENV
from .test_view_cli_ux import read_until


def test_host_send_of_a_file_it_cannot_read_is_told_and_the_host_goes_on() -> None:
    as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    with tempfile.TemporaryDirectory() as folder:
        top = Path(folder)
        top.chmod(0o755)
        (top / "private").mkdir(mode=0o700)
        (top / "private" / "inside.txt").write_bytes(b"x")
        host = subprocess.Popen(
            [*(as_user if os.geteuid() == 0 else []), sys.executable, "-m", "screencodec",
             "host", "--listen", "0", "--bind", "127.0.0.1", "--source", "synthetic",
             "--size", "320x240", "--control", "none"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=ENV, cwd=folder,
        )  # fmt: skip
        try:
            assert host.stdin is not None
            read_until(host, "Type /help")
            host.stdin.write(f"/send {top}/private/inside.txt\n/send {top}/nothing.txt\n"
                             "/help\n".encode())  # fmt: skip
            host.stdin.flush()
            seen = read_until(host, "/say TEXT", timeout=20)  # /help: still reading commands
            assert f"(not sent: {top}/private/inside.txt: permission denied)\n" in seen
            assert f"(not sent: {top}/nothing.txt: no such file)\n" in seen
        finally:
            host.kill()
            out, _ = host.communicate(timeout=10)
        assert b"Traceback" not in out
