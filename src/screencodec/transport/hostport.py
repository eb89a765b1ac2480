"""``HOST:PORT`` split in one way for ``share``/``view`` (transport/entry.py)
and the CLI's arguments (cli/args.py).

review39c: ``"::1"`` was split at its last colon into the host ``":"`` and
the port 1, and ``"h:²"`` passed ``str.isdigit`` to fail in ``int`` with a
plain ValueError. An IPv6 address goes in brackets, as a URL writes it
(``[::1]:7000``), and is given back without them: no resolver takes them."""

from __future__ import annotations

__all__ = ["split_host_port"]


def split_host_port(text: str, lowest: int = 1) -> tuple[str, int] | str:
    """``(host, port)`` from ``HOST:PORT`` (the host may be empty; the port
    is range-checked only for its length: ``lowest`` names the range in the
    words), or the words saying why ``text`` is not one."""
    host, sep, digits = text.rpartition(":")
    if not sep or not (digits.isascii() and digits.isdigit()):
        return f"expected HOST:PORT, not {text!r}"
    if len(digits) > 5:  # 5000 digits: int() refuses past 4300 (review39b)
        cut = "..." if len(digits) > 20 else ""
        return f"the port {digits[:20]}{cut} is not {lowest}-65535"
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif host.endswith(":") and set(host.lower()) <= _IPV6_PARTS:
        # "::1" split at its last colon: a "::" cut in half, no port given.
        # ("::1:7392" is ::1 and 7392, as the relay's --advertise takes it;
        # another host with a colon, "http://relay1", is the caller's to word.)
        return f"an IPv6 address goes in brackets with its port, like [::1]:7000, not {text!r}"
    return host, int(digits)


#: An IPv6 literal's characters ("relay1.example.org::7390" is no address
#: split in half: the relay names it as typed).
_IPV6_PARTS = frozenset("0123456789abcdef:.")
