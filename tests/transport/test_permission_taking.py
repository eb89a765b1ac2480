"""A revoke of VIEW takes the whole level: nothing outlives the view (its
session ends), so no revoke row or PermissionRevoke says "remaining:
control" for a session that is over (endleft found one that did)."""

from __future__ import annotations

from screencodec.transport import CONTROL, VIEW
from screencodec.transport.session.permissions import Permission, register_permission


def test_taking_view_takes_everything_held() -> None:
    files = register_permission("files-taking-test", 9)
    held = VIEW | CONTROL | files
    assert held.taking(VIEW) == held
    assert held.taking(VIEW | CONTROL) == held
    assert held - held.taking(VIEW) == Permission()


def test_taking_less_than_view_takes_only_what_is_held() -> None:
    held = VIEW | CONTROL
    assert held.taking(CONTROL) == CONTROL
    assert VIEW.taking(CONTROL) == Permission()
    assert held - held.taking(CONTROL) == VIEW
    assert Permission().taking(VIEW) == Permission()
