"""A hostile relay's RELAY_REDIRECT names ``HOST:PORT`` with control
characters in HOST (a terminal's escape sequences, a bell, a line break):
it went on into "cannot reach HOST:PORT" errors and the view CLI's output
as sent. A redirect's host must be a host name or an IP literal; anything
else is a ProtocolError that shows it through ``safe_text``, and nothing is
dialled. Real sockets on loopback; the relays are scripted."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from loop_thread import LoopThread
from screencodec.errors import ProtocolError, SessionClosedError, TransportError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import encode_frame
from screencodec.transport.connect import connect_via_relay
from screencodec.transport.connect.via_relay import redirect_target
from screencodec.transport.relay.protocol import RELAY_REDIRECT

from .cluster import free_port


class _Relay(LoopThread):
    """Answers every connection with RELAY_REDIRECT ``body`` (None: closes
    without answering), on its own loop thread; counts connections."""

    def __init__(self, body: bytes | None) -> None:
        super().__init__()
        self.body = body
        self.connections = 0
        self.server = self.call(asyncio.start_server(self._on, "127.0.0.1", 0))
        self.port: int = self.server.sockets[0].getsockname()[1]

    async def _on(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.read(100)
        if self.body is not None:
            writer.write(encode_frame(RELAY_REDIRECT, self.body))
            await writer.drain()
        writer.close()

    async def aclose(self) -> None:
        self.server.close()
        await self.server.wait_closed()


HOSTILE = {
    "escapes": b"relay\x1b]0;owned\x07\x1b[2J:7390",
    "line-break": b"relay-2\r\nERROR everything is fine:7390",
    "nul": b"relay\x00.example:7390",
    "space": b"relay two:7390",
    "empty-label": b"relay..example:7390",
    "hyphen-label": b"-relay.example:7390",
    "slash": b"relay/../x:7390",
    "at": b"user@relay:7390",
    "zone-escape": b"[fe80::1%\x1b[2J]:7390",
    "long-label": b"a" * 64 + b".example:7390",
}


def _connect(port: int) -> None:
    creds = SessionCredentials()
    asyncio.run(asyncio.wait_for(
        connect_via_relay("127.0.0.1", port, creds.code, creds.password, pair_timeout=5), 20))


@pytest.mark.parametrize("body", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_redirect_to_no_host_name_is_refused_and_shown_safely(body: bytes) -> None:
    with _Relay(body) as relay, pytest.raises(ProtocolError) as err:
        _connect(relay.port)
    text = str(err.value)
    assert text.startswith("the relay redirected to something that is not a host name or IP")
    assert text.isprintable()
    assert relay.connections == 1  # not dialled again


@pytest.mark.parametrize("host", [
    b"127.0.0.1", b"localhost", b"LOCALHOST.", b"relay_1.internal", b"[::1]",
    b"[fe80::1%eth0]", b"xn--rlay-bpa.example", b"a" * 63 + b".example",
], ids=lambda h: h.decode()[:20])  # fmt: skip
def test_host_names_and_ip_literals_are_followed(host: bytes) -> None:
    assert redirect_target(host + b":7390")[1] == 7390


def test_a_good_redirect_is_followed() -> None:
    with _Relay(None) as target, _Relay(b"127.0.0.1:%d" % target.port) as first:
        with pytest.raises(SessionClosedError, match="closed the connection without answering"):
            _connect(first.port)
        assert target.connections == 1


def test_a_redirect_to_a_name_that_does_not_resolve_names_it_plainly() -> None:
    port = free_port()
    with _Relay(b"no-such-relay.invalid:%d" % port) as relay, pytest.raises(TransportError) as err:
        _connect(relay.port)
    assert f"cannot reach no-such-relay.invalid:{port}" in str(err.value)


def test_the_view_cli_prints_no_control_character() -> None:
    creds = SessionCredentials()
    with _Relay(HOSTILE["escapes"]) as relay:
        done = subprocess.run(
            [sys.executable, "-m", "screencodec", "view", "--relay", f"127.0.0.1:{relay.port}",
             "--code", creds.code, "--password", creds.password],
            capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "not a host name or IP address" in out
    assert all(c.isprintable() or c == "\n" for c in out), repr(out)
