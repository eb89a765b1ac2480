"""walk42: how a customer's host and an agent use the relays docs/relay.md
has one run. Found: the section on running N relays (and README's "Running
N relays") showed redis-server and ``screencodec relay`` only; neither
said that the host takes ``--relay HOST:PORT`` and the agent's ``view``
``--relay HOST:PORT`` (README's command list gave ``host --listen`` and
``view HOST:PORT`` alone): a new user found them in ``--help``. Now
relay.md's block carries both lines, README's list both forms, and the
host's line, as written there with the address swapped for a real relay
(and the synthetic desktop: no display here), registers its code."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from tests.transport.test_attack_prompts import PtyHost

from .cluster import RedisServer, RelayProcess

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "screencodec"]


def _sh_lines(doc: Path) -> list[str]:
    """The lines of the ```sh blocks of ``doc``, continuations joined."""
    blocks = re.findall(r"```sh\n(.*?)```", doc.read_text(), re.S)
    return [line.strip() for block in blocks for line in block.replace("\\\n", " ").splitlines()]


class PtyCommand(PtyHost):
    """``screencodec ARGS`` on a pseudo-terminal, collected as PtyHost's."""

    def __init__(self, args: list[str]) -> None:
        master, slave = pty.openpty()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([*CLI, *args], stdin=slave, stdout=slave, stderr=slave,
                                     env=env, close_fds=True)  # fmt: skip
        self._collect(master, slave)


def test_the_relay_docs_say_how_host_and_agent_use_the_relays() -> None:
    lines = _sh_lines(ROOT / "docs" / "relay.md")
    host = [line for line in lines if line.startswith("screencodec host --relay ")]
    view = [line for line in lines if line.startswith("screencodec view --relay ")]
    assert host and view, "docs/relay.md gives no host or view line"  # found
    readme = _sh_lines(ROOT / "README.md")
    assert any(line.startswith("screencodec host --relay ") for line in readme), readme
    assert any(line.startswith("screencodec view --relay ") for line in readme), readme
    # The host's line as written, at a real relay of a cluster.
    redis = RedisServer()
    redis.start()
    relay = proc = None
    try:
        relay = RelayProcess(redis, claim_ttl=3.0)
        words = host[0].split("#")[0].split()
        at = words.index("--relay") + 1
        words[at] = f"127.0.0.1:{relay.port}"
        proc = PtyCommand([*words[1:], "--source", "synthetic", "--once"])
        proc.wait_for(rf"via relay 127\.0\.0\.1:{relay.port}\nSession code: \d{{3}} \d{{3}}"
                      r" \d{3}\nPassword: ")  # fmt: skip
    finally:
        if proc is not None:
            proc.close()
        if relay is not None:
            relay.kill()
        redis.stop()
