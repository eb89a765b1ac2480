"""What a relay tells its operator: structured log lines and Prometheus metrics.

Log lines are ``event=NAME key=value ...`` on the ``screencodec.relay``
logger (values with spaces are quoted), one per registration, pairing,
refusal, limit hit, redirect and drain step. They name a session by
``session=TAG`` (6 hex of an HMAC of its code under a random per-process key:
a code and a guessed password are a way in, and logs travel), and addresses;
never a code, a registration secret, a join id or anything forwarded.

Metrics live in a per-relay :class:`prometheus_client.CollectorRegistry`, so
several relays in one process (tests) do not collide; ``--metrics-port``
serves it over HTTP. Without ``prometheus_client`` installed the relay runs
with counters in :class:`RelayStats` only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from screencodec.errors import ScreencodecError
from screencodec.transport.channel.framing import RefuseCode

__all__ = ["MetricsUnavailableError", "RelayMetrics", "RelayStats", "log_event"]

_log = logging.getLogger("screencodec.relay")


class MetricsUnavailableError(ScreencodecError, RuntimeError):
    """Metrics were asked for, but ``prometheus_client`` is not installed."""


def _fmt(value: object) -> str:
    text = str(value)
    if not text or any(c in text for c in ' ="\n\r\t'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def log_event(event: str, level: int = logging.INFO, **fields: object) -> None:
    """One ``event=... k=v`` line. Callers pass no secrets; strings from peers
    are quoted and escaped, so they cannot forge extra fields or lines."""
    if _log.isEnabledFor(level):
        parts = [f"event={event}"] + [f"{k}={_fmt(v)}" for k, v in fields.items()]
        _log.log(level, " ".join(parts))


@dataclass(slots=True)
class RelayStats:
    """Counters, for monitoring and tests (one relay, one event loop)."""

    refused: dict[str, int] = field(default_factory=dict)
    paired: int = 0
    bytes_forwarded: int = 0
    redirected: int = 0
    registrations: int = 0
    reclaims: int = 0
    evicted: int = 0
    failed_handshakes: int = 0
    #: Pairs cut because one side never ended after the other's orderly end.
    half_closed_cuts: int = 0
    #: Joins held for their code's host, whose connection was lost just
    #: then, to register again (viewers.py, _host_back).
    held_for_host: int = 0
    #: Joins dropped as their viewer hung up while they waited: held for
    #: their host (resume52), told to it, or held while the directory
    #: recovers (resume52b).
    held_left: int = 0

    def refuse(self, code: RefuseCode) -> None:
        self.refused[code.name] = self.refused.get(code.name, 0) + 1


class RelayMetrics:
    """Prometheus metrics of one relay; every method is a no-op without
    ``prometheus_client``. One event loop (prometheus_client itself is
    thread-safe, so the HTTP exporter thread may read at any time)."""

    def __init__(self) -> None:
        self.registry: Any = None
        try:
            import prometheus_client as prom
        except ImportError:
            return
        reg = prom.CollectorRegistry()
        self.registry = reg
        self._sessions = prom.Gauge("screencodec_relay_sessions",
                                    "host registrations held by this relay", registry=reg)
        self._pairs = prom.Gauge("screencodec_relay_pairs",
                                 "viewer-host pairs being forwarded", registry=reg)
        self._paired = prom.Counter("screencodec_relay_pairings",
                                    "viewer-host pairs made", registry=reg)
        self._bytes = prom.Counter("screencodec_relay_forwarded_bytes",
                                   "bytes forwarded between paired streams", registry=reg)
        self._refusals = prom.Counter("screencodec_relay_refusals",
                                      "connections refused, by reason", ["reason"],
                                      registry=reg)
        self._redirects = prom.Counter("screencodec_relay_redirects",
                                       "clients sent to the relay holding their session",
                                       registry=reg)
        self._dir = prom.Histogram(
            "screencodec_relay_directory_seconds", "session directory call latency",
            ["op"], registry=reg,
            buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0))
        self._dir_errors = prom.Counter("screencodec_relay_directory_errors",
                                        "session directory calls that failed", ["op"],
                                        registry=reg)

    def sessions(self, n: int) -> None:
        if self.registry is not None:
            self._sessions.set(n)

    def pair(self, delta: int) -> None:
        if self.registry is not None:
            self._pairs.inc(delta)
            if delta > 0:
                self._paired.inc()

    def forwarded(self, n: int) -> None:
        if self.registry is not None and n:
            self._bytes.inc(n)

    def refused(self, code: RefuseCode) -> None:
        if self.registry is not None:
            self._refusals.labels(code.name).inc()

    def redirected(self) -> None:
        if self.registry is not None:
            self._redirects.inc()

    def directory(self, op: str, seconds: float, ok: bool) -> None:
        if self.registry is not None:
            self._dir.labels(op).observe(seconds)
            if not ok:
                self._dir_errors.labels(op).inc()

    def serve(self, port: int, addr: str = "0.0.0.0") -> None:
        """Export on ``http://addr:port/metrics`` (a daemon thread)."""
        if self.registry is None:
            raise MetricsUnavailableError(
                "--metrics-port needs prometheus_client: pip install 'screencodec[relay]'")
        import prometheus_client as prom

        prom.start_http_server(port, addr, registry=self.registry)
