"""The host gives up on an X server that stopped answering (a real Xvfb,
SIGSTOPped) and says "ending the sessions and stopping": it then lingered
for ANSWER_WITHIN more (10 s), because the injector's close made its round
trips (release what the agent held, empty the spare keycodes: a sync) to
the server already known gone, and waited its full bound for the answer.

Now the watcher that found the server gone tells the injector so, and its
close sends that server nothing more and cuts the connection at once. What
is asserted is the event, not the time: the host's X connections go through
a proxy on loopback that reads the X protocol's requests, and the
injector's connection (the first the host opens) carries no request once
the server is stopped; the host said what it says in that order, and
ended by itself with status 1."""

from __future__ import annotations

import contextlib
import signal
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator

import pytest

from screencodec.cli.main import Exit
from screencodec.transport.input.xtest import XTestInjector
from transport.test_cli import ENV
from transport.test_cliux_screen_gone import doomed_xvfb  # noqa: F401 - a fixture
from transport.test_terminals_x_gone import X_GONE, stopped_under_a_viewer


class XRequests:
    """A proxy from TCP display ``:N`` on loopback to a local X server's
    socket that reads each client's requests (the X11 wire format: a setup
    block, then requests of ``length`` 4-byte units, 0 meaning BIG-REQUESTS'
    32-bit length after the header). ``conns`` holds, per client connection
    in the order accepted, ``[(opcode, after_stop)]``; ``stopped`` is
    set by the test when it stops the server."""

    def __init__(self, target: str) -> None:
        self.target = f"/tmp/.X11-unix/X{target.lstrip(':')}"
        self.conns: list[list[tuple[int, bool]]] = []
        self.stopped = False
        self._listener = socket.socket()
        for number in range(150, 250):  # 6150..6249: a free display number
            try:
                self._listener.bind(("127.0.0.1", 6000 + number))
                break
            except OSError:
                continue
        else:
            pytest.skip("no free X display port on loopback")
        self.display = f"127.0.0.1:{number}"
        self._listener.listen(16)
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX)
            server.connect(self.target)
            self._socks += [client, server]
            requests: list[tuple[int, bool]] = []
            self.conns.append(requests)
            threading.Thread(target=self._to_server, args=(client, server, requests),
                             daemon=True).start()  # fmt: skip
            threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def _to_server(self, client: socket.socket, server: socket.socket,
                   requests: list[tuple[int, bool]]) -> None:  # fmt: skip
        buf = b""
        order = ""
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                server.sendall(data)
                buf += data
                while True:
                    if not order:  # the setup block
                        if len(buf) < 12:
                            break
                        order = "<" if buf[:1] == b"l" else ">"
                        n, d = struct.unpack(order + "HH", buf[6:10])
                        size = 12 + (n + 3) // 4 * 4 + (d + 3) // 4 * 4
                        if len(buf) < size:
                            order = ""
                            break
                        buf = buf[size:]
                        continue
                    if len(buf) < 4:
                        break
                    (units,) = struct.unpack(order + "H", buf[2:4])
                    if units == 0:
                        if len(buf) < 8:
                            break
                        (units,) = struct.unpack(order + "I", buf[4:8])
                    if len(buf) < units * 4:
                        break
                    requests.append((buf[0], self.stopped))
                    buf = buf[units * 4:]
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._listener.close()
        for s in self._socks:
            s.close()


@pytest.fixture
def proxied(doomed_xvfb: tuple[str, subprocess.Popen[bytes]],  # noqa: F811
            ) -> Iterator[tuple[XRequests, subprocess.Popen[bytes]]]:  # fmt: skip
    display, xvfb = doomed_xvfb
    proxy = XRequests(display)
    try:
        yield proxy, xvfb
    finally:
        proxy.close()


def test_the_host_sends_a_stopped_x_server_nothing_more_once_it_stops(
    proxied: tuple[XRequests, subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy, xvfb = proxied
    monkeypatch.setitem(ENV, "SCREENCODEC_TEST_X_ANSWER_WITHIN", "3")

    def stop_and_mark(_: object) -> None:
        proxy.stopped = True  # a request read from here on came after the stop

    out, _, rest, status = stopped_under_a_viewer(
        (proxy.display, xvfb), monkeypatch, "--source", "synthetic", "--control", "xtest",
        then=stop_and_mark)
    assert out.rstrip("\n").rsplit("\n", 1)[-1] == X_GONE
    assert status == Exit.ERROR, rest
    lines = rest.splitlines()
    said = [i for i, x in enumerate(lines) if f"the X display {proxy.display} is gone" in x]
    assert len(said) == 1, rest
    assert lines[said[0]].endswith("(the X server did not answer within 3 s): remote control"
                                   " has stopped; ending the sessions and stopping"), rest
    assert "Screen sharing stopped." in "\n".join(lines[said[0] + 1:]), rest
    assert "connection is cut" not in rest and "Traceback" not in rest, rest
    # The host opens its injector (its own connection, then its repeat
    # guard's, keyrep45) before its watchers (the local pointer's
    # QueryPointer polls, the presses' XInput): four connections.
    assert len(proxy.conns) == 4, [[op for op, _ in c][-5:] for c in proxy.conns]
    sent_after = [[op for op, after in c if after] for c in proxy.conns[:2]]
    assert sent_after == [[], []], sent_after  # before: [106], the close's sync (GetPointerControl)


def test_an_injector_told_its_server_is_gone_closes_without_a_round_trip(
    proxied: tuple[XRequests, subprocess.Popen[bytes]],
) -> None:
    """``server_gone`` (a watcher found the server stopped), then ``close``:
    with nothing held, it returns having sent nothing (no sync), its worker
    ended by the cut socket. (With a key held, its release is written and
    given the bound: tests/test_review7_x_stuck_key.py.)"""
    proxy, xvfb = proxied
    inj = XTestInjector(proxy.display)
    try:
        inj.pointer_move(5, 5)
        inj.key(ord("a"), True, "a")
        inj.key(ord("a"), False, "a")  # typed, nothing held
        assert inj.flush(30)
        xvfb.send_signal(signal.SIGSTOP)
        proxy.stopped = True
        inj.server_gone("the X server did not answer within 3 s")
        inj.close(timeout=30)
        assert not inj._worker.is_alive()
        assert inj.lost == "the X server did not answer within 3 s"
        [conn, guard] = proxy.conns  # the injector's, its repeat guard's (keyrep45)
        assert [op for op, after in conn if after] == []  # no sync
        assert [op for op, after in guard if after] == []  # no restore
    finally:
        xvfb.send_signal(signal.SIGCONT)
        inj.close(timeout=10)
