"""Fixtures shared by the damage tests: frame factories and kernel selection."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from screencodec.damage import _tiles

IMPLS = ["avx2", "generic"]


@pytest.fixture(params=IMPLS)
def impl(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test once per kernel implementation this CPU has."""
    name: str = request.param
    before = _tiles._impl()
    if _tiles._set_impl(name) != name:  # type: ignore[arg-type]
        _tiles._set_impl(before)
        pytest.skip(f"{name} not supported here")
    yield name
    _tiles._set_impl(before)
