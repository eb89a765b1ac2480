"""Opening sealed channels: directly (the host listens) or through a relay (the
host dials out and registers its code). Host side: every viewer that proves
the password is handed to ``on_channel``; viewer side: one confirmed channel
or an exception."""

from __future__ import annotations

from screencodec.transport.connect.accept import OnChannel, OnError
from screencodec.transport.connect.direct import DirectListener, connect_direct, listen_direct
from screencodec.transport.connect.registration import RelayRegistration, host_via_relay
from screencodec.transport.connect.relay_open import RelayRecoveringError
from screencodec.transport.connect.via_relay import connect_via_relay

__all__ = [
    "DirectListener",
    "OnChannel",
    "OnError",
    "RelayRecoveringError",
    "RelayRegistration",
    "connect_direct",
    "connect_via_relay",
    "host_via_relay",
    "listen_direct",
]
