"""review32 of words32: docs/api.md writes an event's fields as a signature,
``Name(field, ...)``; each such signature lists the event's fields, in order.
963ad66 gave ``FileRefused`` a ``received`` field (the bytes of a file cut
short that came), and api.md still read ``FileRefused(peer, name, size,
why)`` (without ``transfer`` either)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from screencodec import transport
from screencodec.transport.session import events

ROOT = Path(__file__).resolve().parent.parent


def test_each_event_signature_in_api_md_lists_its_fields() -> None:
    text = re.sub(r"\s+", " ", (ROOT / "docs" / "api.md").read_text())
    checked, wrong = 0, []
    for name in transport.__all__:
        obj = getattr(transport, name)
        if not (isinstance(obj, type) and dataclasses.is_dataclass(obj)
                and obj.__module__ == events.__name__):  # fmt: skip
            continue
        for shown in re.findall(rf"`{name}\(([^)]*)\)`", text):
            checked += 1
            fields = [f.name for f in dataclasses.fields(obj)]
            if [x.strip() for x in shown.split(",")] != fields:
                wrong.append(f"{name}({shown}) != {name}({', '.join(fields)})")
    assert checked >= 5, checked
    assert not wrong, wrong
