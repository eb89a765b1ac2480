"""END reasons a host writes for a viewer it let in to nothing, as plain
strings with no imports: ``recordings list`` reads them out of a recording's
metadata to show such a session as refused, and importing :mod:`.link` for
them would cost that command a second of imports."""

from __future__ import annotations

__all__ = ["LET_IN_TO_NOTHING", "NO_REQUEST", "NO_VIEW_ASKED", "REQUEST_WAIT"]

#: How long a host waits for a viewer's first request (its hello), in seconds.
REQUEST_WAIT = 10.0
#: The viewer proved the password, then sent no request within REQUEST_WAIT.
NO_REQUEST = "viewer sent no request"
#: The viewer's first request did not include VIEW.
NO_VIEW_ASKED = "viewer did not ask to view"
#: Both: a session nobody was let in to, as a refusal is.
LET_IN_TO_NOTHING = frozenset({NO_REQUEST, NO_VIEW_ASKED})
