"""The session-level close attacks of test_attack_close_session, through a
relay: the splice must pass each goodbye and end on it (20 of 20 runs per
event loop)."""

from __future__ import annotations

from .secure_fixtures import both_loops, run
from .test_attack_close_session import host_ends_during_input, viewer_says_bye


@both_loops
def test_through_a_relay_the_host_hears_viewer_said_bye_every_time(loop_kind: str) -> None:
    run(viewer_says_bye(relayed=True), loop_kind=loop_kind, timeout=60)


@both_loops
def test_through_a_relay_the_viewer_hears_host_said_bye_every_time(loop_kind: str) -> None:
    run(host_ends_during_input(relayed=True), loop_kind=loop_kind, timeout=60)
