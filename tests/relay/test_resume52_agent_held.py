"""resume52: an agent coming back through the relay (its join names its
registration's pair tag) after the customer's host lost its relay link.

Found (grace51's closing note): the relay held a *first* join for a host
whose control connection was lost just then, but an agent coming back was
told at once how long the host had not been heard from, and retried on
its own schedule (0.25 s doubling to 4 s): its picture came back up to
4 s after the host was. Expected: held like a first join (the same
bounds, ``RelayLimits.lost_hold`` from the loss; the same per-address
caps; only for the registration it names), paired the moment the host
registers again.

With the commands a person runs: a ``screencodec relay`` process,
``screencodec host --relay`` through a LinkProxy the test cuts (a reset,
its link down), ``screencodec view --relay`` let in by the host's user.
The link comes back at a moment the test chooses by what the relay's log
says (the agent's join held, or refused five times: its next attempt is
then 3.2-4.8 s away), never after a sleep.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from transport.helpers import LinkProxy
from transport.test_cli import CLI, ENV, start_host, stop
from transport.test_relay_notice import _Output
from warm_start import warm_popen

from .cluster import run

_BACK = r"back in the session, granted: view\n"
_HELD = "event=held_for_host"
_TOLD = "event=refused reason=UNKNOWN_SESSION"


@dataclass
class Session:
    """A relay process, a host process through ``proxy``, and a view
    process of its session showing the picture."""

    relay: _Output  #: the relay's output (its log on stderr too)
    host: _Output
    seen: _Output  #: the view's (stderr too)
    proxy: LinkProxy
    view: subprocess.Popen[str]


@contextmanager
def _relay_process(*extra: str) -> Iterator[tuple[_Output, int]]:
    """A ``screencodec relay`` process on loopback (``extra`` its options)
    once it listens, what it says (its log too) and its port; killed after."""
    relay = warm_popen(
        [*CLI, "relay", "--listen", "0", "--bind", "127.0.0.1", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)  # fmt: skip
    try:
        said = _Output(relay)
        found = said.wait_for(r"relay listening on 127.0.0.1:(\d+)", 30)
        yield said, int(found.group(1))
    finally:
        stop(relay)


def _view(rport: int, code: str, password: str) -> subprocess.Popen[str]:
    return warm_popen(
        [*CLI, "view", "--relay", f"127.0.0.1:{rport}", "--code", code, "--password", password],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env=ENV)  # fmt: skip


async def _session(relay: _Output, proxy: LinkProxy, host: subprocess.Popen[str],
                   view: subprocess.Popen[str]) -> Session:  # fmt: skip
    """Once the host's user let the view in and it shows the picture."""
    out, seen = _Output(host), _Output(view)
    await asyncio.to_thread(out.wait_for, r"\[y/N\] $", 60)
    assert host.stdin is not None
    host.stdin.write("y\n")
    host.stdin.flush()
    await asyncio.to_thread(seen.wait_for, r"\[view\] 320x240 decoded", 60)
    return Session(relay, out, seen, proxy, view)


async def cut_and_mend(s: Session, *, down: float | None) -> tuple[float, float]:
    """Cut the host's link (a reset) and keep it down: ``down`` seconds, or
    (None) until the relay's log shows the agent's join back held or
    refused five times. Seconds from the cut to the link back, and to the
    view's "back in the session"."""
    since_relay, since_seen = len(s.relay.text), len(s.seen.text)
    s.proxy.refusing = True
    s.proxy.cut()
    cut = time.monotonic()
    if down is not None:
        await asyncio.sleep(down)  # the outage itself (a Wi-Fi roam), not a sync
    else:
        while True:
            said = s.relay.text[since_relay:]
            if _HELD in said or said.count(_TOLD) >= 5:
                break
            assert time.monotonic() - cut < 30, said
            await asyncio.sleep(0.01)
    s.proxy.refusing = False
    mended = time.monotonic() - cut
    await asyncio.to_thread(lambda: s.seen.wait_for(_BACK, 60) and None)
    assert s.seen.text.count("back in the session", since_seen) == 1, s.seen.text
    return mended, time.monotonic() - cut


def with_session(test: object, *, backoff_max: str | None = None, relay_args: tuple[str, ...] = (),
                 timeout: float = 180) -> object:  # fmt: skip
    """Run ``test(session)`` (a coroutine function) with :class:`Session`."""

    async def main() -> object:
        with _relay_process(*relay_args) as (relay, rport):
            proxy = LinkProxy(rport)
            await proxy.start()
            host = view = None
            try:
                with pytest.MonkeyPatch.context() as knob:  # read as the host starts
                    if backoff_max is not None:
                        knob.setitem(ENV, "SCREENCODEC_TEST_RELAY_BACKOFF_MAX", backoff_max)
                    host, code, password, _ = await asyncio.to_thread(
                        start_host, where=("--relay", f"127.0.0.1:{proxy.port}"))
                view = _view(rport, code, password)
                return await test(await _session(relay, proxy, host, view))  # type: ignore[operator]
            finally:
                for proc in (view, host):
                    if proc is not None:
                        stop(proc)
                await proxy.close()

    return run(main(), timeout)


def test_resume52_an_agent_coming_back_is_paired_as_its_host_registers_again() -> None:
    """The host retries every 0.3 s at most (its test-only knob): once the
    link is back it registers within about that; the agent's join, held,
    is paired then. On main the agent was refused and waited its own
    backoff (3.2-4.8 s after the fifth refusal)."""

    async def test(s: Session) -> tuple[float, float]:
        return await cut_and_mend(s, down=None)

    mended, back = with_session(test, backoff_max="0.3")  # type: ignore[misc]
    assert back - mended < 2.0, (mended, back)
