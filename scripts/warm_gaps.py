#!/usr/bin/env python3
"""How long a host waits between bytes of a viewer that keeps its link warm
(``Timeouts.warm``: a record at least every 3 s), under CPU load: the figure
``Timeouts.cold`` (when a host takes a warm viewer's silent link for lost) has
to stay well above.

    python scripts/warm_gaps.py [--seconds 60] [--hogs 2] [--still]

A host in this process (a 160x120 screen that never changes while its pointer
walks, 20 polls a second: the viewer has nothing to answer, so its HERE
keepalives are all the host hears; ``--still`` keeps the pointer still too, so
the viewer's probes go as well) and a real ``screencodec view`` process over
loopback, beside ``--hogs`` processes spinning on the CPU. Every 10 ms the
host's channel's ``last_heard`` is read; each new value closes a gap. Prints
the gaps' count, median, p99 and largest, and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys

import numpy as np

from screencodec.capture.base import CursorState, FrameSource
from screencodec.geometry import Monitor
from screencodec.transport import Host, HostConfig, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import listen_direct


class _Screen(FrameSource):
    def __init__(self, walk: bool) -> None:
        self.frame = np.zeros((120, 160, 4), np.uint8)
        self.shape = np.full((8, 6, 4), 200, np.uint8)
        self.walk = walk
        self.polls = 0

    @property
    def width(self) -> int:
        return 160

    @property
    def height(self) -> int:
        return 120

    @property
    def monitors(self) -> list[Monitor]:
        return [Monitor(0, 0, 0, 160, 120, False), Monitor(1, 0, 0, 160, 120, True)]

    def grab(self) -> np.ndarray:
        return self.frame

    def cursor(self) -> CursorState:
        self.polls += self.walk
        return CursorState(self.polls % 150, 7, shape=self.shape, hotspot=(2, 3))


async def measure(seconds: float, walk: bool) -> list[float]:
    host = Host(_Screen(walk), consent=allow(), config=HostConfig(cursor_rate=20))
    creds = SessionCredentials()

    async def serve(channel: SecureChannel) -> None:
        await host.serve(channel)

    gaps: list[float] = []
    async with await listen_direct("127.0.0.1", 0, creds, serve) as listener:
        view = subprocess.Popen(
            [sys.executable, "-m", "screencodec", "view", f"127.0.0.1:{listener.port}",
             "--code", creds.code, "--password", creds.password, "--name", "Dave"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            loop = asyncio.get_running_loop()
            while not host.heard():
                await asyncio.sleep(0.1)
            await asyncio.sleep(5)  # settled
            ((link,),) = (host._runtime.links,)
            assert link.channel.keeps_warm, "the view did not say it keeps the link warm"
            last = link.channel.last_heard
            end = loop.time() + seconds
            while loop.time() < end:
                await asyncio.sleep(0.01)
                heard = link.channel.last_heard
                if heard != last:
                    gaps.append(heard - last)
                    last = heard
        finally:
            view.terminate()
            view.wait(10)
    await host.close()
    return gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--hogs", type=int, default=2)
    parser.add_argument("--still", action="store_true")
    args = parser.parse_args()
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.hogs)]
    try:
        gaps = asyncio.run(measure(args.seconds, not args.still))
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    gaps.sort()
    p99 = gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))]
    print(f"hogs {args.hogs} {'still' if args.still else 'pointer walking'} {args.seconds:g} s:"
          f" {len(gaps)} gaps, median {statistics.median(gaps):.3f} s, p99 {p99:.3f} s,"
          f" largest {gaps[-1]:.3f} s; load {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
