"""``wire:RATE,RTT,loss=P%,jitter=T``: a lossy link between two kernels' TCP
(linkbench.tunwire), and the loss and jitter options of a link spec."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

from screencodec.errors import NetnsError
from screencodec.linkbench import parse_link
from screencodec.linkbench.netns import netem_args, netns_unavailable, run_over_wire
from screencodec.linkbench.shaper import ShapingProxy
from screencodec.linkbench.tunwire import Direction
from screencodec.linkbench.workloads import parse_link_spec


def test_a_link_spec_takes_loss_and_jitter() -> None:
    link = parse_link("4M,40ms,loss=1%,jitter=10ms")
    assert (link.rate, link.rtt, link.loss, link.jitter) == (500_000, 0.04, 0.01, 0.01)
    queued = parse_link("4M,40ms,64K,loss=0.5%")
    assert (queued.queue, queued.loss, queued.jitter) == (65536, 0.005, 0.0)
    assert parse_link("1M,100ms,jitter=0.02s").jitter == 0.02
    assert parse_link("4M,40ms,loss=1%,tcp=cubic").tcp == "cubic"


@pytest.mark.skipif(netns_unavailable() is not None, reason="needs root and iproute2")
def test_a_congestion_control_the_kernel_does_not_allow_is_named() -> None:
    with open("/proc/sys/net/ipv4/tcp_allowed_congestion_control", encoding="utf-8") as fh:
        allowed = fh.read().split()
    if "nosuchcc" in allowed:
        pytest.skip("nosuchcc is allowed here")
    with pytest.raises(NetnsError, match=f"tcp=nosuchcc: this kernel allows {' '.join(allowed)}"):
        run_over_wire("typing", parse_link("4M,40ms,tcp=nosuchcc"), seconds=1.0)


@pytest.mark.parametrize(
    ("bad", "words"),
    [("4M,40ms,loss=100%", "bad loss"), ("4M,40ms,lost=1%", "unknown option 'lost'"),
     ("4M,40ms,jitter=soon", "bad jitter")],
)  # fmt: skip
def test_a_bad_option_is_named(bad: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_link(bad)


def test_the_proxy_cannot_lose_a_packet_and_says_wire() -> None:
    with pytest.raises(ValueError, match=r"need wire:4M,40ms,loss=1%"):
        parse_link_spec("4M,40ms,loss=1%")
    with pytest.raises(ValueError, match="wire:"):
        ShapingProxy(1, parse_link("4M,40ms,jitter=5ms"))
    with pytest.raises(ValueError, match="wire:"):
        parse_link_spec("4M,40ms,tcp=cubic")
    link, kind = parse_link_spec("wire:4M,40ms,loss=1%")
    assert kind == "wire" and link.loss == 0.01
    assert parse_link_spec("tc:4M,40ms")[1] == "tc"


def test_netem_gets_the_delay_jitter_and_loss() -> None:
    # Each packet crosses lo once: half the RTT, netem's +- jitter around the mean.
    assert netem_args(parse_link("4M,40ms,loss=1%,jitter=10ms")) == [
        "delay", "25ms", "5ms", "loss", "1%"]  # fmt: skip
    assert netem_args(parse_link("4M,0ms,loss=2%")) == ["loss", "2%"]
    assert netem_args(parse_link("4M,0ms")) == []


def test_the_wire_drops_its_share_and_never_reorders() -> None:
    rng = random.Random(1)
    way = Direction(rate=500_000, delay=0.020, jitter=0.010, loss=0.02, queue=1 << 30)
    for i in range(10_000):
        way.admit(bytes(1500), i * 0.004, rng)  # 375 kB/s: under the rate, no queue
    assert 150 <= way.lost <= 250 and way.overflowed == 0
    due = [t for t, _ in way._due]
    assert due == sorted(due)
    sent = [i * 0.004 for i in range(10_000)]
    assert min(d - s for d, s in zip(due, sent, strict=False)) >= 0.020 + 1500 / 500_000


def test_the_wire_serializes_at_its_rate_and_drops_past_its_queue() -> None:
    way = Direction(rate=500_000, delay=0.0, jitter=0.0, loss=0.0, queue=15_000)
    for _ in range(20):
        way.admit(bytes(1500), 0.0, random.Random(0))
    assert way.overflowed == 10  # ten packets fill 15,000 bytes
    assert [round(t, 4) for t, _ in way._due] == [round(0.003 * (i + 1), 4) for i in range(10)]


def test_bench_help_names_the_options() -> None:
    out = subprocess.run([sys.executable, "-m", "screencodec", "bench", "--help"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert "wire:RATE,RTT" in out.stdout and "loss=P%" in out.stdout
    assert "jitter=T" in out.stdout and "tcp=NAME" in out.stdout


@pytest.mark.skipif(
    netns_unavailable() is not None or not os.path.exists("/dev/net/tun"),
    reason="needs root, iproute2 and /dev/net/tun",
)
def test_a_session_over_a_lossy_wire_loses_packets_and_tcp_retransmits_them() -> None:
    """The real Host and Viewer in two namespaces: the wire drops, both
    kernels' counters show the retransmits, and every change still arrives."""
    link = parse_link("4M,40ms,loss=5%,tcp=reno")
    r = run_over_wire("typing", link, seconds=2.0, size=(640, 360))
    wire, tcp = r.extra["wire"], r.extra["tcp"]
    assert wire["down"]["lost"] > 0 and wire["up"]["lost"] > 0
    assert tcp["host"]["RetransSegs"] > 0 and tcp["viewer"]["RetransSegs"] > 0
    assert r.lag_samples > 0 and r.unshown == 0
    assert r.link == "wire:4M,40ms,loss=5%,tcp=reno"
    assert tcp["host"]["congestion_control"] == tcp["viewer"]["congestion_control"] == "reno"
    down = wire["down"]  # each packet delivered, dropped, or still on the wire at the end
    assert down["delivered"] + down["on_wire"] == (
        down["packets"] - down["lost"] - down["overflowed"]
    ), down
