"""type43: ``screencodec view``'s ``/type`` and ``/key`` never hold the
session up, and what they send is keys, bounded.

Found (review43): a ``/type`` ran inside the command loop, with no length
limit: on a slow link ``/stop``, ``/say``, ``/help`` and the rest waited
behind it. Expected: the typing runs beside the loop, one at a time (a
second is refused in words), ``/stop`` and Ctrl-C stop it at once saying
how many characters went; a line is cut at MAX_TYPED (said); control
characters are not typed (said); no key is left down on the host.

A real Xvfb with an xterm running bash, a real ``screencodec host --control
xtest`` and ``screencodec view`` on pseudo-terminals; the slow link is a
proxy on loopback that stops passing the agent's bytes on (:class:`Hold`).
"""

from __future__ import annotations

import contextlib
import select
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import test_walk41_paste_enter as walk41

from .test_attack_prompts import PtyHost, _credentials
from .test_view_cli_send_screens import PtyView
from .test_walk43_view_types import _bash_ran, _view_with_control

xterm_log = walk41.xterm_log  #: the fixture: an Xvfb with an xterm running bash
_output = walk41._output

MAX = 2000  #: view_typing.MAX_TYPED, as the agent reads it
#: What a stopped /type says of the characters written that had not left
#: this computer (input44: at most view_typing.ON_THEIR_WAY of them).
ON_WAY = r"(?:; (\d+) more had not left this computer and may still be typed)?"


class Hold:
    """A TCP proxy on loopback for one connection; while :meth:`hold` is on,
    what the agent sends is not read (its sends back up, as on a link that
    stopped), what the host sends passes."""

    def __init__(self, port: int) -> None:
        self._to = port
        self._flowing = threading.Event()
        self._flowing.set()
        self._holding = threading.Event()  #: the thread's loop no longer reads the agent
        self._done = threading.Event()
        self._server = socket.socket()
        # A small window: the agent's sends wait soon once nothing is read.
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(1)
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def hold(self) -> None:
        """Returns once nothing more of the agent's is read: a select begun
        before it took the first bytes of a /type on a loaded machine
        (fresh106), cutting a key's press from its release, and the host's
        X server repeated the key until the silence let it go (83 f's)."""
        self._holding.clear()
        self._flowing.clear()
        assert self._holding.wait(10), "the proxy's thread never took the hold"

    def flow(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self._done.set()
        self._flowing.set()
        self._server.close()
        self._thread.join(10)

    def _run(self) -> None:
        agent, _ = self._server.accept()
        host = socket.create_connection(("127.0.0.1", self._to))
        try:
            while not self._done.is_set():
                flowing = self._flowing.is_set()
                wanted = [host, agent] if flowing else [host]
                if not flowing:
                    self._holding.set()
                ready, _, _ = select.select(wanted, [], [], 0.05)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (agent if s is host else host).sendall(data)
        except OSError:
            return
        finally:
            agent.close()
            host.close()


def _keys_down(display: str) -> list[int]:
    """The keycodes down on ``display`` (XQueryKeymap)."""
    from Xlib.display import Display

    d = Display(display)
    try:
        keymap = d.query_keymap()
    finally:
        d.close()
    return [i * 8 + b for i, byte in enumerate(keymap) for b in range(8) if byte >> b & 1]


def _all_up(display: str) -> None:
    """Every key is up on ``display`` (within 5 s: the host injects what
    was still on its way first)."""
    deadline = time.monotonic() + 5
    while down := _keys_down(display):
        assert time.monotonic() < deadline, f"keys left down on the host: {down}"
        time.sleep(0.1)


def _held_type(view: PtyView) -> None:
    """With the proxy holding: /type MAX characters until one does not go
    within 2 s (the first ones fill the link's buffers: the viewer's, the
    kernel's); the last is then still being typed."""
    for _ in range(60):
        went = view.text.count(f"sent {MAX} characters")
        view.type("/type " + "f" * MAX)
        deadline = time.monotonic() + 2
        while view.text.count(f"sent {MAX} characters") == went:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
    raise AssertionError(f"60 lines of {MAX} went: the link never held")


@contextlib.contextmanager
def _joined(display: str) -> Iterator[tuple[Hold, PtyView]]:
    """``screencodec host --control xtest`` on ``display`` and a ``view
    --control`` through a :class:`Hold` proxy, granted control: the proxy and
    the view. At the end the view, the proxy and the host closed, in that
    order."""
    host = PtyHost("--control", "xtest")
    proxy: Hold | None = None
    view: PtyView | None = None
    try:
        port, code, password = _credentials(host)
        proxy = Hold(port)
        view = _view_with_control(host, proxy.port, code, password)
        yield proxy, view
    finally:
        if view is not None:
            view.close()
        if proxy is not None:
            proxy.close()
        host.close()


def test_a_long_type_held_by_the_link_leaves_the_commands_free_and_stop_stops_it(
    xterm_log: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    display, _log = xterm_log
    monkeypatch.setenv("DISPLAY", display)
    with _joined(display) as (proxy, view):
        view.type("/type " + "a" * (MAX + 1000))
        view.wait_for(rf"\(cut: only the first {MAX} of {MAX + 1000} characters are typed;"
                      r" a longer text goes with /clip, a file with /send\)")  # fmt: skip
        view.wait_for(rf"sent {MAX} characters to the host's keyboard\n")
        proxy.hold()
        _held_type(view)
        # Found: nothing answered until the whole line had gone.
        view.type("/type echo second")
        view.wait_for(rf"\(not typed: a /type is still going \(\d+ of {MAX} characters"
                      r" sent\): wait for it, or /stop stops it\)")  # fmt: skip
        view.type("/help")
        view.wait_for(r"/key NAME +press a key there")
        view.type("/stop")
        stopped = view.wait_for(rf"\(typing stopped: (\d+) of {MAX} characters sent{ON_WAY};"
                                r" the rest not typed\)")  # fmt: skip
        assert int(stopped[1]) < MAX, view.text
        assert f"sent {MAX} characters" not in view.text[stopped.start() :], view.text
        proxy.flow()  # (what the buffers held then reaches the xterm: minutes of keys)


def test_control_characters_long_lines_and_long_key_names(
    xterm_log: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attacks: an escape sequence and a bell in /type's text (what
    reaches the host is keys: only the printable ones are typed, and the
    agent is told), a /type of 100,000 characters (cut), a /key whose name
    is 10,000 characters (unknown, shown cut to 40)."""
    display, log = xterm_log
    monkeypatch.setenv("DISPLAY", display)
    with _joined(display) as (_, view):
        view.type("/type echo A\x1b[31mB\x07C")
        view.wait_for(r"\(2 control characters not typed: /key Enter, /key Tab, /key Escape"
                      r" press those keys\)")  # fmt: skip
        view.wait_for(r"sent 12 characters to the host's keyboard\n")
        view.type("/key Enter")
        _bash_ran(log, "A[31mBC\n")  # main sent the ESC as keysym 0x0100001B
        view.type("/type " + "z" * 100_000)
        view.wait_for(rf"\(cut: only the first {MAX} of 100000 characters are typed")
        view.wait_for(rf"sent {MAX} characters to the host's keyboard\n", timeout=60)
        view.type("/key Ctrl+U")
        view.wait_for(r"pressed Ctrl\+U")
        view.type("/key " + "Q" * 10_000)
        said = view.wait_for(r"\(unknown key '(Q*)[^']*'\) \(usage: /key NAME")
        assert len(said[1]) <= 40, len(said[1])
        start = len(view.text)
        view.type("/key " + "Ctrl+" * 2000 + "Enter")
        # A modifier is held once: 2000 Ctrl+ name no key (2000 presses of Ctrl).
        view.wait_for(r"\(unknown key 'Ctrl\+Ctrl", start)
        # /key at once after /type: pressed after the letters, not amid them.
        view.type("/type echo still")
        view.type("/key Enter")
        # (the terminal's echo of the /key line may come between: a fresh
        # clone's run at load saw it there)
        view.wait_for(r"sent 10 characters to the host's keyboard\n(?:/key Enter\n)?pressed"
                      r" Enter on the host's keyboard\n")  # fmt: skip
        _bash_ran(log, "still\n")
        _all_up(display)


def test_ctrl_c_stops_a_held_type_and_the_enter_queued_after_it(
    xterm_log: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    display, log = xterm_log
    monkeypatch.setenv("DISPLAY", display)
    with _joined(display) as (proxy, view):
        proxy.hold()
        _held_type(view)
        view.type("/key Enter")
        time.sleep(1)
        view.proc.send_signal(signal.SIGINT)
        view.wait_for(rf"\(typing stopped: \d+ of {MAX} characters sent{ON_WAY}; the rest not"
                      r" typed\)")  # fmt: skip
        view.wait_for(r"\(not pressed: Enter: the /type before it was stopped\)")
        proxy.flow()
        assert view.proc.wait(30) == 0, view.text
        _all_up(display)
        time.sleep(1)
        assert "command not found" not in _output(log), _output(log)  # no Enter after them
