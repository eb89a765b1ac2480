"""relay46: how long an agent's picture stands still when the relay its
session runs through freezes (SIGSTOP: a VM paused, a hung process).

Real processes, as a person runs them: a redis-server, two ``screencodec
relay`` processes (A, B), ``screencodec host --relay A`` whose user lets in
``screencodec view --relay A`` (failover42's ``watching``); then A is
stopped. Reported per run, seconds after the stop: the view's lost line,
the host's move, the view back in the session, and its first decoded
picture after that (the picture moving again); and which noticed first.
Printed, not asserted. Run with
``pytest benchmarks/test_bench_relay46_frozen.py -s`` (``RELAY46_RUNS``
runs, 5 by default; PYTHONPATH naming another tree's src for a
before/after).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from relay.cluster import RedisServer, RelayProcess, registered_host, run, two_relays
from relay.test_failover42_cli import watching
from relay.test_failover42_host_moves import FAST
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_via_relay

RUNS = int(os.environ.get("RELAY46_RUNS", "5"))
#: Longest a run waits for the picture to move again.
LONGEST = 70.0


def _at(text: str, pattern: str, since: int = 0) -> int | None:
    found = re.search(pattern, text[since:])
    return None if found is None else since + found.end()


def _one() -> dict[str, float | None]:
    redis_server = RedisServer()
    redis_server.start()
    try:
        with watching(redis_server, "a") as w:
            before = len(w.seen.text)
            os.kill(w.first.proc.pid, signal.SIGSTOP)
            stopped = time.monotonic()
            times: dict[str, float | None] = {"lost": None, "moved": None, "back": None,
                                              "picture": None}  # fmt: skip
            try:
                while time.monotonic() - stopped < LONGEST and times["picture"] is None:
                    now = time.monotonic() - stopped
                    seen, out = w.seen.text, w.out.text
                    if times["lost"] is None and "connection was lost" in seen[before:]:
                        times["lost"] = now
                    if times["moved"] is None and "moved to the relay" in out:
                        times["moved"] = now
                    back = _at(seen, r"back in the session[^\n]*\n", before)
                    if times["back"] is None and back is not None:
                        times["back"] = now
                    if back is not None and _at(seen, r"\[view\] 320x240 decoded", back):
                        times["picture"] = now
                    time.sleep(0.02)
            finally:
                os.kill(w.first.proc.pid, signal.SIGCONT)
            return times
    finally:
        redis_server.stop()


def test_agent_picture_after_its_relay_froze() -> None:
    rows = []
    for n in range(RUNS):
        load = os.getloadavg()[0]
        times = _one()
        rows.append(times)
        shown = ", ".join(f"{k} {'-' if v is None else f'{v:.1f}'}" for k, v in times.items())
        print(f"\nrun {n + 1} (load {load:.1f}): {shown}", flush=True)
    pictures = sorted(t["picture"] for t in rows if t["picture"] is not None)
    print(f"\npicture moving again (s after SIGSTOP), sorted: {pictures}; "
          f"never within {LONGEST:g} s: {sum(t['picture'] is None for t in rows)}")  # fmt: skip


async def _redirected(first: RelayProcess) -> str:
    """One run of :func:`test_agent_redirected_to_its_frozen_relay`."""
    creds = SessionCredentials()
    async with registered_host(first.port, creds, FAST):
        channel = await connect_via_relay(
            "127.0.0.1", first.port, creds.code, creds.password, timeouts=FAST
        )
        first.freeze()
        stopped = time.monotonic()
        try:
            again = await connect_via_relay(
                "127.0.0.1", first.port, creds.code, creds.password, timeouts=FAST
            )
            took = time.monotonic() - stopped
            await again.close()
            said = f"paired through {again.instead_of} at {took:.1f}"
        except Exception as exc:  # reported: the before
            took = time.monotonic() - stopped
            said = f"failed at {took:.1f} ({type(exc).__name__}: {exc})"
        finally:
            first.thaw()
        await channel.close()
        return said


def test_agent_redirected_to_its_frozen_relay() -> None:
    """The agent's reconnection starts as its relay A freezes, before the
    host moves (the view noticing first): B redirects it to A until the
    host, pinging every 2 s, takes A for silent (6 s) and moves to B.
    Seconds from the stop to ``connect_via_relay`` (given A) paired, or to
    its error (``tests/relay/test_relay46_redirect_to_frozen.py``'s
    set-up, timed)."""
    for n in range(RUNS):
        redis_server = RedisServer()
        redis_server.start()
        try:
            with two_relays(redis_server, 15.0) as (first, _):
                said = run(_redirected(first), 90)
            print(f"\nrun {n + 1} (load {os.getloadavg()[0]:.1f}): {said}", flush=True)
        finally:
            redis_server.stop()
