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
import redis.asyncio

from screencodec.errors import AuthenticationError
from screencodec.transport.channel.codes import SessionCredentials, format_code
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay, host_via_relay

from .cluster import RedisServer, run

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


def _relay_with_log(redis_url: str, log: Path) -> tuple[subprocess.Popen[str], int]:
    with log.open("w") as err:
        relay = subprocess.Popen(
            [sys.executable, "-m", "screencodec", "relay", "--listen", "0", "--bind",
             "127.0.0.1", "--directory", redis_url, "--claim-ttl", "1.5",
             "--log-level", "DEBUG"],
            stdout=subprocess.PIPE, stderr=err, text=True)  # fmt: skip
    assert relay.stdout is not None
    found = re.search(r"relay listening on 127\.0\.0\.1:(\d+)", relay.stdout.readline())
    assert found, log.read_text()
    return relay, int(found.group(1))


async def _key_is_back(url: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        for _ in range(200):
            # ... and the grace after the loss is over (attack40: until then
            # a new registration is refused "session directory recovering")
            if (await client.get("screencodec:log-key")
                    and not await client.exists("screencodec:recovering")):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("no relay set the log key again after the restart")
    finally:
        await client.aclose()


def _tags(text: str, event: str) -> set[str]:
    return set(re.findall(rf"event={event} session=([0-9a-f]{{6}})\b", text))


def test_one_session_has_one_tag_across_a_cluster_and_after_redis_restarts(
    tmp_path: Path, redis_server: RedisServer,
) -> None:
    """A host on relay A, its agent sent by relay B: both logs name the session
    by the same tag (the key is the cluster's, in Redis). After Redis lost every
    key, the running relays set theirs again at their next heartbeat, and a
    relay started since tags the session as they still do."""
    logs = [tmp_path / "a.log", tmp_path / "b.log", tmp_path / "c.log"]
    procs: list[subprocess.Popen[str]] = []
    creds = SessionCredentials()

    async def session(host_port: int, viewer_port: int) -> None:
        accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
        async with await host_via_relay("127.0.0.1", host_port, creds, accepted.put_nowait,
                                        timeouts=FAST) as reg:  # fmt: skip
            await reg.wait_registered(10)
            viewer = await connect_via_relay("127.0.0.1", viewer_port, creds.code,
                                             creds.password, timeouts=FAST)  # fmt: skip
            host = await asyncio.wait_for(accepted.get(), 10)
            await asyncio.gather(viewer.close(), host.close())

    try:
        a, a_port = _relay_with_log(redis_server.url, logs[0])
        b, b_port = _relay_with_log(redis_server.url, logs[1])
        procs += [a, b]
        run(session(a_port, b_port))
        _wait_in(logs[0], "event=pair_end")
        _wait_in(logs[1], "event=redirect")
        (tag,) = _tags(logs[0].read_text(), "registered")
        assert _tags(logs[1].read_text(), "redirect") == {tag}
        assert _tags(logs[0].read_text(), "paired") == {tag}
        redis_server.restart()  # no persistence: the key is gone with the claims
        run(_key_is_back(redis_server.url))
        c, c_port = _relay_with_log(redis_server.url, logs[2])
        procs.append(c)
        run(session(c_port, a_port))  # now the host is on C, the agent sent by A
        _wait_in(logs[2], "event=pair_end")
        _wait_in(logs[0], "event=redirect")
        assert _tags(logs[2].read_text(), "registered") == {tag}
        assert _tags(logs[0].read_text(), "redirect") == {tag}
    finally:
        for proc in procs:
            proc.terminate()
            proc.communicate(timeout=10)
    for log in logs:
        assert creds.code not in log.read_text()
