"""``screencodec relay``'s log names sessions by a short keyed tag, never by
their code: a code plus a guessed password is a way in, and logs are read by
more people than should hold codes. A real relay process at DEBUG; a host and
viewers (this process) register, pair, guess wrong and ask for a code nobody
holds; then every line of the log is read."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from screencodec.errors import AuthenticationError
from screencodec.transport.channel.codes import SessionCredentials, format_code
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay, host_via_relay

from .cluster import run

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)
UNKNOWN = "987654321"


def _wait_in(log: Path, needle: str, timeout: float = 20.0) -> str:
    """The log's text once it holds ``needle`` (the relay writes it as it goes)."""
    deadline = time.monotonic() + timeout
    while needle not in (text := log.read_text()):
        assert time.monotonic() < deadline, f"no {needle!r} in {text}"
        time.sleep(0.05)
    return text


def test_the_relay_log_holds_tags_and_no_session_code(tmp_path: Path) -> None:
    log = tmp_path / "relay.log"
    with log.open("w") as err:
        relay = subprocess.Popen(
            [sys.executable, "-m", "screencodec", "relay", "--listen", "0", "--bind",
             "127.0.0.1", "--log-level", "DEBUG"],
            stdout=subprocess.PIPE, stderr=err, text=True)  # fmt: skip
    try:
        assert relay.stdout is not None
        found = re.search(r"relay listening on 127\.0\.0\.1:(\d+)", relay.stdout.readline())
        assert found, log.read_text()
        port = int(found.group(1))
        creds = SessionCredentials()
        if creds.code == UNKNOWN:  # one chance in 10**9
            creds = SessionCredentials()

        async def main() -> None:
            accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
            async with await host_via_relay("127.0.0.1", port, creds, accepted.put_nowait,
                                            timeouts=FAST) as reg:  # fmt: skip
                await reg.wait_registered(10)
                viewer = await connect_via_relay("127.0.0.1", port, creds.code, creds.password,
                                                 timeouts=FAST)  # fmt: skip
                host = await asyncio.wait_for(accepted.get(), 10)
                await viewer.close()
                await host.close()
                wrong = "2345" + ("6789" if creds.password[4:] != "6789" else "6788")
                with pytest.raises(AuthenticationError):
                    await connect_via_relay("127.0.0.1", port, creds.code, wrong, timeouts=FAST)
                with pytest.raises(AuthenticationError):
                    await connect_via_relay("127.0.0.1", port, UNKNOWN, "abcd2345",
                                            timeouts=FAST)  # fmt: skip

        run(main())
        _wait_in(log, "event=unregistered")
        _wait_in(log, "event=guess_failed")
    finally:
        relay.terminate()
        relay.communicate(timeout=10)
    text = log.read_text()
    for code in (creds.code, UNKNOWN):
        for shown in (code, format_code(code), f"{code[:3]}-{code[3:6]}-{code[6:]}"):
            assert shown not in text, (shown, text)
    # One tag for every line of the session, another for the code nobody holds.
    tags = {event: re.findall(rf"event={event} session=([0-9a-f]{{6}})\b", text)
            for event in ("registered", "paired", "pair_end", "guess_failed", "unregistered")}
    assert all(tags.values()), text
    (tag,) = {t for found in tags.values() for t in found}
    unknown = re.findall(r"event=refused reason=UNKNOWN_SESSION session=([0-9a-f]{6})\b", text)
    assert unknown and unknown[0] != tag
    assert "code=" not in text
