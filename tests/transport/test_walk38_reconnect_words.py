"""walk38: the agent's network going silent (a Wi-Fi gone, no reset) and
staying so. What ``screencodec view`` printed, in a real terminal:

    the connection was lost (nothing came from the host for 10 s);
        reconnecting for up to 60 s (Ctrl-C to stop)
    still reconnecting: handshake timed out
    session ended: the connection was lost (nothing came from the host for
        10 s); could not reconnect:

The last attempt, cut by the end of the minute, raised a TimeoutError
with no words, so the last line stopped at "could not reconnect:"; and
"handshake timed out" is a protocol word an agent cannot act on. The web
page's status said the same attempt as a first connection's error
("... (handshake timed out): check the address and port": an address that
worked a minute ago). Expected: each line says what happened in plain
words. Real processes: the host and ``view`` programs, and between them a
proxy that, once dark, passes nothing either way (new connections too), as
a network gone silent does; the view's minute shortened
(`view --reconnect-for`) so the test takes about 25 s, not 75."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal

from screencodec.cli.view import _connect
from screencodec.cli.view_connect import _rejoin_words
from screencodec.cli.view_ending import LEFT_AWAY
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import stop_listening
from screencodec.transport.connect.reconnect import attempt_words, reconnect

from .helpers import LinkProxy, run
from .test_cli import answer_when_asked, start_host, stop
from .test_resume_cli import _ProxyThread
from .test_view_cli_ux import read_until, viewer
from .test_view_cli_ux import stop as stop_view

WITHIN = 14  # the view's resume window here: one handshake's 10 s, then a cut attempt


class _Blackhole(LinkProxy):
    """Once ``dark``, nothing goes through either way, an end included, on
    every connection, new ones too: a network gone silent, no reset."""

    dark = False

    async def _pump(self, r: asyncio.StreamReader, w: asyncio.StreamWriter,
                    sender: str) -> None:  # fmt: skip
        with contextlib.suppress(OSError, ConnectionError):
            while data := await r.read(65536):
                if not self.dark:
                    w.write(data)
                    await w.drain()
            if not self.dark:
                w.write_eof()


class _DarkeningProxy(_ProxyThread):
    def __init__(self, target: int) -> None:
        super().__init__(target, _Blackhole)

    def go_dark(self) -> None:
        self.loop.call_soon_threadsafe(setattr, self.proxy, "dark", True)


def test_walk38_the_web_pages_attempt_words_are_the_terminals() -> None:
    """The page's reconnect connects with ``view``'s explained connect: a
    silent host's attempt read "no screencodec host answered at ...
    (handshake timed out): check the address and port". A real listener
    that takes the connection and never answers."""

    async def main() -> tuple[list[BaseException], BaseException]:
        taken: list[asyncio.StreamWriter] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            taken.append(writer)
            await reader.read()  # reads, never answers, until the peer goes
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        creds = SessionCredentials()
        args = argparse.Namespace(relay=None, address=("127.0.0.1", port), code=creds.code,
                                  reconnect_for=60.0)
        errors: list[BaseException] = []
        try:
            await reconnect(lambda: _connect(args, creds.password), within=12,
                            on_attempt=lambda _n, e: errors.append(e) if e else None)
        except Exception as exc:  # judged below
            last: BaseException = exc
        else:
            raise AssertionError("connected to a listener that never answers")
        finally:
            # Every connection it took cut here, not left to asyncio.run's
            # end: a handler cancelled in its read left its transport open
            # (a ResourceWarning that fails a later test: leak38's suspect).
            await stop_listening(server)
            for writer in taken:
                writer.transport.abort()
            await server.wait_closed()
        return errors, last

    errors, last = run(main(), timeout=40)
    assert errors, "no attempt failed"
    assert attempt_words(errors[0], 60) == "connected, but no answer came back"
    assert attempt_words(last, 60) == "no answer within 60 s"
    args = argparse.Namespace(relay=None, address=("127.0.0.1", 9), code="123456789",
                              reconnect_for=60.0)
    assert _rejoin_words(last, args) == "no answer within 60 s"


def test_walk38_a_silent_network_is_said_in_plain_words_to_the_end_or_on_leaving() -> None:
    """To the end: the view given ``--reconnect-for`` :data:`WITHIN` says
    each attempt and its end in plain words (the module's find).

    Leaving: Ctrl-C while the view reconnects: no Bye can reach the host (the
    link is down), and its user goes on reading that the agent "may
    reconnect within 60 s" (45 s of silence first, with a network gone
    silent). The view said "session ended: you left the session", as if
    the host knew, and the README said each way of leaving sends a Bye.
    Expected: the agent is told the host could not be told, exit 0. A
    SIGTERM is no leaving of the agent's: the viewer was stopped by it
    (words51: it said "you left the session while reconnecting").

    The three side by side, each a host, a proxy and a view of its own
    (time53b: they were three tests one after the other, each waiting out
    the view's 10 s of silence)."""
    sigs = (signal.SIGINT, signal.SIGTERM)
    with contextlib.ExitStack() as stack:
        views = []
        for extra in (("--reconnect-for", str(WITHIN)), (), ()):
            host, code, password, port = start_host()
            stack.callback(stop, host)
            proxy = _DarkeningProxy(port)
            stack.callback(proxy.close)
            view = viewer(f"127.0.0.1:{proxy.port}", "--code", code, "--password", password,
                          *extra)  # fmt: skip
            stack.callback(stop_view, view)
            answer_when_asked(host)
            views.append((view, proxy))
        for view, _proxy in views:
            read_until(view, "[view] 320x240 decoded")
        for _view, proxy in views:
            proxy.go_dark()
        ending, leaving = views[0][0], [view for view, _proxy in views[1:]]

        # Leaving while reconnecting.
        seen = [read_until(view, "reconnecting for up to 60 s (Ctrl-C to stop)\n", timeout=30)
                for view in leaving]  # fmt: skip
        for view, sig in zip(leaving, sigs, strict=True):
            view.send_signal(sig)
        for view, sig, before in zip(leaving, sigs, seen, strict=True):
            out, err = view.communicate(timeout=30)
            text = before + out.decode()
            assert view.returncode == 0, (sig, text, err)
            last = text[text.index("session ended"):].splitlines()[0]
            left = LEFT_AWAY.replace("you left the session", "the viewer was stopped by SIGTERM")
            assert last == f"session ended: {LEFT_AWAY if sig == signal.SIGINT else left}", last
        assert "could not be told" in LEFT_AWAY

        # To the end.
        said = read_until(ending, "session ended", timeout=60)
        out, err = ending.communicate(timeout=30)
        text = said + out.decode()
        assert ending.returncode == 5, (text, err)
        assert f"reconnecting for up to {WITHIN} s" in text
        # Found: "still reconnecting: handshake timed out".
        assert "handshake" not in text, text
        tries = re.findall(r"still reconnecting: (.*)", text)
        assert tries and all(t == "connected, but no answer came back" for t in tries), text
        last = text[text.index("session ended"):].splitlines()[0]
        # Found: "...; could not reconnect:" and nothing after it.
        assert last.endswith(f"could not reconnect: no answer within {WITHIN} s"), last
