"""resume52: ``screencodec relay --lost-hold SECONDS``, how long after a
host's connection to the relay was lost a viewer's join waits for it to
register again (``RelayLimits.lost_hold``, grace51: 8 s and no flag).

Expected, as ``--claim-ttl``: a value that is no usable number of seconds
(negative, nan, inf, past ``lost_memory``, 70 s: the relay forgets a lost
host then) refused as a value typed wrong (usage, exit status 2, the
message naming the option), before anything listens; a value given is the
hold a join meets.

The real command in a subprocess; the host's control connection and the
join are the test's own (raw frames), the host's cut a reset.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time

import pytest

from screencodec.errors import ConfigError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, RefuseCode
from screencodec.transport.connect.via_relay import reset_stream
from screencodec.transport.relay import ROLE_HOST_CONTROL, ROLE_VIEWER, Relay, RelayLimits
from screencodec.transport.relay.protocol import encode_open

from .cluster import run
from .held_claims import first_frame
from .test_resume52_agent_held import _relay_process
from .test_review40d_claim_ttl import refused_relay


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "70.5", "1e9"])
def test_resume52_a_lost_hold_that_is_no_usable_number_of_seconds_is_refused(value: str) -> None:
    err = refused_relay(f"--lost-hold={value}")
    assert (f"error: argument --lost-hold: {float(value):g} is not a number of seconds from 0"
            " to 70").encode() in err, err  # fmt: skip
    assert b"Traceback" not in err


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf])
def test_resume52_an_embedder_s_lost_hold_that_is_no_time_is_refused(value: float) -> None:
    with pytest.raises(ConfigError, match=rf"^--lost-hold: {value:g} s is no number of seconds"):
        Relay(limits=RelayLimits(lost_hold=value))


def test_resume52_the_lost_hold_given_is_the_hold_a_join_meets() -> None:
    """``--lost-hold 1.5``: a first join just after its host's reset is told
    1.5 s after the loss, not 8 (the default)."""

    async def main(port: int) -> tuple[int, bytes, float]:
        code, secret = SessionCredentials().code, secrets.token_bytes(16)
        h_reader, h_writer = await asyncio.open_connection("127.0.0.1", port)
        h_writer.write(encode_open(ROLE_HOST_CONTROL, code, secret))
        ftype, _ = await first_frame(h_reader)
        assert ftype == FrameType.RELAY_OK
        reset_stream(h_writer)
        lost = time.monotonic()
        await asyncio.to_thread(said.wait_for, r"event=unregistered .*why=", 10)
        v_reader, v_writer = await asyncio.open_connection("127.0.0.1", port)
        v_writer.write(encode_open(ROLE_VIEWER, code, bytes(16)))
        ftype, body = await first_frame(v_reader, 20)
        v_writer.close()
        assert ftype == FrameType.REFUSE
        return body[0], body[1:].strip(), time.monotonic() - lost

    with _relay_process("--lost-hold", "1.5") as (said, port):
        why, words, after = run(main(port), 60)
    assert (why, words) == (RefuseCode.UNKNOWN_SESSION, b"no such session code")
    assert 1.5 - 0.1 < after < 1.5 + 1.5, after
