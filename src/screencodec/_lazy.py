"""A package's public names, each imported from its module on first use
(PEP 562): importing the package, or one module inside it, does not load
every module the package names. A subpackage or module of the package is an
attribute of it all the same (``import screencodec.transport as t;
t.session``), imported on first use too.

``screencodec.transport`` and ``screencodec.capture`` define the
``__getattr__`` only at run time (``if not TYPE_CHECKING``) and import their
names for type checkers: mypy types every unknown name of a module with a
``__getattr__`` as what it returns (Any), so a misspelled name would no
longer be an error."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, modules: dict[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose ``namespace``
    (its ``globals()``) gets each name of ``modules`` (name -> module,
    relative to the package or absolute) when it is first looked up."""

    def getattr_(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            return submodule(name)
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value  # once: later lookups find it directly
        return value

    def submodule(name: str) -> Any:
        """``package.name`` imported (which makes it an attribute of the
        package) with the modules of ``modules`` under it, as when the
        package imported them all (``t.session.events``); AttributeError if
        there is none, or it cannot be imported (hasattr says False)."""
        missing = AttributeError(f"module {package!r} has no attribute {name!r}")
        inner = f"{package}.{name}"
        # Not a dotted name: find_spec would import its first part.
        ok = name.isidentifier() and not name.startswith("__")
        if not ok or importlib.util.find_spec(inner) is None:
            raise missing
        try:
            value = importlib.import_module(inner)
            for module in sorted(set(modules.values())):
                if importlib.util.resolve_name(module, package).startswith(f"{inner}."):
                    importlib.import_module(module, package)
        except ImportError as exc:
            raise missing from exc
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *modules})

    return getattr_, dir_
