"""The ``screencodec relay`` command: pair hosts behind NAT with their viewers.

One relay alone keeps its session directory in memory; several relays behind
a load balancer share one with ``--directory redis://HOST:PORT/DB`` and each
names the address viewers should be sent to with ``--advertise``. SIGTERM
(or Ctrl-C) drains: the relay stops accepting, hands its hosts back to the
cluster and lets live pairs run up to ``--drain-timeout``; a second one
cuts them at once (exit status 128 + the signal). A value typed wrong is
refused as argparse refuses one, whichever check finds it (usage, then
``screencodec relay: error: argument --OPTION: ...``); what the machine
refuses (a port in use, the directory unreachable) is one line on stderr.
Exit status 2 either way; see docs/relay.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import importlib.util
import ipaddress
import logging
import signal
import sys
from typing import Any

from screencodec.cli.args import address, port
from screencodec.cli.terminal import signals_given_back

__all__ = ["register"]


def register(subparsers: Any, summary: str) -> None:
    """Add ``relay`` to an argparse subparsers object."""
    r = subparsers.add_parser("relay", help=summary)
    r.add_argument("--listen", type=port, required=True, metavar="PORT",
                   help="the TCP port hosts and viewers connect to")
    r.add_argument("--bind", default="0.0.0.0",
                   help="the address to listen on (default 0.0.0.0: every interface)")
    r.add_argument("--directory", metavar="URL", default=None,
                   help="session directory shared by a cluster: redis://HOST:PORT/DB "
                        "(default: in memory, this relay alone)")
    r.add_argument("--advertise", type=address, metavar="HOST:PORT", default=None,
                   help="the address other relays send this relay's viewers to "
                        "(needed with a shared --directory)")
    r.add_argument("--public-name", type=address, metavar="HOST:PORT", action="append",
                   default=[],
                   help="a name clients reach the cluster by (the load balancer's), "
                        "listed to paired viewers beside the cluster's relays; repeatable")
    r.add_argument("--metrics-port", type=port, metavar="N", default=None,
                   help="serve Prometheus metrics on http://METRICS_BIND:N/metrics")
    r.add_argument("--metrics-bind", metavar="ADDR", default="127.0.0.1",
                   help="the address metrics are served on (default 127.0.0.1: this "
                        "machine's scraper only; not --bind, the relay's public one)")
    r.add_argument("--claim-ttl", type=float, metavar="SECONDS", default=None,
                   help="how long a host's code stays reserved for it after a cut, and "
                        "after its relay died (1-300; default 15)")
    r.add_argument("--lost-hold", type=float, metavar="SECONDS", default=None,
                   help="how long after a host's connection to the relay was lost a viewer's "
                        "join waits for it to register again (0-70; default 8; 0: told at once)")
    r.add_argument("--drain-timeout", type=float, metavar="SECONDS", default=30.0,
                   help="on SIGTERM or Ctrl-C, how long live pairs may keep running"
                        " (a second one cuts them at once; default 30)")
    r.add_argument("--log-level", default="INFO",
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                   help="the least important log lines written (default INFO)")
    # A value found wrong after parsing is refused in argparse's words too.
    r.set_defaults(func=run_relay, usage_error=r.error)


class _StartError(Exception):
    """A relay that cannot start: the message is the whole story (CLI only)."""


class _ArgumentError(_StartError):
    """A value typed wrong, found after parsing (``--OPTION: why``): refused
    as argparse refuses one (walkfix35b: ``--advertise relay1`` was, and
    ``--advertise http://relay1:7390`` was one line without ``error:``)."""


async def _relay_main(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from screencodec.cli.sessions import needs_extra
    from screencodec.transport.relay import DirectoryUnavailableError, Relay, RelayLimits
    from screencodec.transport.relay.backends import open_directory
    from screencodec.transport.relay.limits import CLAIM_TTL_MOST

    if args.metrics_port is not None and importlib.util.find_spec("prometheus_client") is None:
        # Before anything listens: it was a traceback (MetricsUnavailableError),
        # exit 1, after the "listening" line (tail39).
        raise _StartError(needs_extra("--metrics-port", "relay", "prometheus_client"))
    if args.claim_ttl is not None and not 1.0 <= args.claim_ttl <= CLAIM_TTL_MOST:
        # Every claim reaches Redis as PX int(ttl * 1000) and the heartbeat
        # beats every ttl / 3: 0 or less beat without sleeping and every claim
        # was refused; nan and inf raised in int() (review40d). Over the most,
        # a code whose relay died stayed taken that long (relay46).
        raise _ArgumentError(f"--claim-ttl: {args.claim_ttl:g} is not a number of seconds "
                             f"from 1 to {CLAIM_TTL_MOST:g}")
    most = RelayLimits().lost_memory
    if args.lost_hold is not None and not 0.0 <= args.lost_hold <= most:
        # A relay forgets a lost host after lost_memory: no join waits for
        # it longer. Negative held nothing, nan and inf are no time.
        raise _ArgumentError(f"--lost-hold: {args.lost_hold:g} is not a number of seconds "
                             f"from 0 to {most:g}")
    try:
        directory = open_directory(args.directory)
    except ValueError as exc:
        raise _ArgumentError(f"--directory: {exc}") from None
    except ImportError as exc:  # the relay extra is not installed
        raise _StartError(needs_extra("--directory", "relay", exc.name or str(exc))) from None
    ping = getattr(directory, "ping", None)
    if ping is not None:
        try:
            await ping()
        except DirectoryUnavailableError:
            await directory.close()
            raise _StartError(f"cannot reach the session directory at "
                              f"{directory.describe()}") from None
    limits = RelayLimits()
    if args.claim_ttl is not None:
        limits = replace(limits, claim_ttl=args.claim_ttl)
    if args.lost_hold is not None:
        limits = replace(limits, lost_hold=args.lost_hold)
    # An IPv6 literal in brackets, as a viewer parses it ("::1:7390" too).
    advertise = _host_port(*args.advertise) if args.advertise else None
    if args.directory and args.directory != "memory://" and advertise is None:
        print("screencodec relay: warning: a shared --directory without --advertise: other "
              "relays will send viewers to this relay's bind address", file=sys.stderr)
    public = [_host_port(h, p) for h, p in args.public_name]
    try:  # checked as a viewer would believe them (its message names the option)
        relay = Relay(args.bind, args.listen, limits=limits, directory=directory,
                      advertise=advertise, public_names=public)
    except ValueError as exc:  # "--advertise: ..." or "--public-name: ..."
        await directory.close()
        raise _ArgumentError(str(exc)) from None
    # The metrics port first: taken after the relay's start, a port in use
    # was refused after its log said "event=listening" (walk42).
    if args.metrics_port is not None:
        try:
            relay.metrics.serve(args.metrics_port, args.metrics_bind)
        except OSError as exc:
            await directory.close()
            raise _StartError(f"cannot serve metrics on {args.metrics_bind}:"
                              f"{args.metrics_port}: {exc.strerror}") from None
    try:
        await relay.start()
    except OSError as exc:
        await directory.close()
        why = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise _StartError(f"cannot listen on {args.bind}:{args.listen}: {why}") from None
    try:
        # Handlers go in before the line a supervisor waits for: a SIGTERM sent
        # right after it must drain, not kill.
        stop = asyncio.Event()
        signals: list[int] = []  # the stop signals in order: the second cuts the drain short
        loop = asyncio.get_running_loop()

        def stopping(sig: int) -> None:
            signals.append(sig)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stopping, sig)
        where = f"[{args.metrics_bind}]" if ":" in args.metrics_bind else args.metrics_bind
        metrics = ("" if args.metrics_port is None else
                   f", metrics on http://{where}:{args.metrics_port}/metrics")
        names = "".join(f", public name {name}" for name in relay.public_names)
        # A Redis without the cluster's epoch (a new cluster's, or one that
        # lost its keys) or restarted refuses new registrations for a while:
        # say so, or an operator starting a new cluster takes its BUSY for a
        # fault.
        wait = ("" if not relay.recovering_at_start else
                f"; new registrations wait {relay.recovering_at_start:.3g} s: the session"
                f" directory is recovering (a new cluster, or Redis restarted or lost its keys)")
        caveat = f"; WARNING: {relay.caveat}" if relay.caveat else ""
        print(f"relay listening on {args.bind}:{relay.port} (advertised as "
              f"{relay.advertise}{names}, directory {directory.describe()}{metrics})"
              f"{wait}{caveat}", flush=True)
        await stop.wait()
        stop.clear()
        # walk52: "draining (up to 30 s)" and then nothing, a second Ctrl-C
        # ignored, while a person restarting the relay by hand waited.
        if relay.pairs:
            print(f"draining (up to {args.drain_timeout:g} s; Ctrl-C again cuts the"
                  f" {_sessions(relay.pairs)} still open at once)", flush=True)  # fmt: skip
        else:
            print("draining (no session open)", flush=True)
        draining = asyncio.ensure_future(relay.drain(args.drain_timeout))
        again = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({draining, again}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            again.cancel()
        if not draining.done():
            print(f"cutting the {_sessions(relay.pairs)} still open now (their agents"
                  " reconnect, and their hosts register again, on another relay or on"
                  " this one started again)", flush=True)  # fmt: skip
            draining.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await draining
            # A drain with no time left: cuts what is left, and still waits the
            # few seconds the cluster needs to learn of sessions that ended here.
            await relay.drain(0)
            return 128 + signals[-1]  # interrupted: 130 for Ctrl-C, 143 for SIGTERM
        await draining
    finally:
        await relay.close()
        await directory.close()
    return 0


def _sessions(n: int) -> str:
    """``n`` agents' sessions in words."""
    return "1 session" if n == 1 else f"{n} sessions"


def _host_port(host: str, port: int) -> str:
    """``HOST:PORT`` from argparse's ``address``, an IPv6 literal bracketed.
    Any other host stays as typed, colons and all, so that a refusal quotes
    the value given (walk35: ``http://relay1:7390`` was quoted back as
    ``[http://relay1]:7390``)."""
    bare = host.strip("[]")
    try:
        ipv6 = ipaddress.ip_address(bare).version == 6
    except ValueError:
        ipv6 = False
    return f"[{bare}]:{port}" if ipv6 else f"{bare}:{port}"


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def run_relay(args: argparse.Namespace) -> int:
    logging.basicConfig(level=getattr(logging, args.log_level), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    # The loop's SIGTERM and SIGINT handlers (drain) go with it, the ones
    # before are put back: a program running the relay inside it keeps its own.
    with signals_given_back(signal.SIGTERM, signal.SIGINT):
        loop = _new_loop()  # uvloop when installed: a cheaper data path
        try:
            return loop.run_until_complete(_relay_main(args))
        except _ArgumentError as exc:
            args.usage_error(f"argument {exc}")  # exits with status 2
            raise  # (not reached)
        except _StartError as exc:
            print(f"screencodec relay: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 0
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
