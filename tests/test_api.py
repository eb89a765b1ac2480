"""The public surface: what `import screencodec` promises."""

from __future__ import annotations

import builtins

import pytest

import screencodec
from screencodec import errors


def test_top_level_names_are_pinned() -> None:
    assert sorted(screencodec.__all__) == sorted(
        [
            "AccessRefusedError",
            "AuthenticationError",
            "CaptureError",
            "CodecUnavailableError",
            "ConcurrentUseError",
            "ConfigError",
            "ConsentCallbackError",
            "ConsentDeniedError",
            "CursorEncoder",
            "CursorState",
            "DecodeError",
            "EncodeStats",
            "FormatError",
            "FrameError",
            "HostFailedError",
            "IntegrityError",
            "Monitor",
            "NetnsError",
            "PermissionDeniedError",
            "ProtocolError",
            "ProxyError",
            "Rect",
            "RefuseCode",
            "ScreenDecoder",
            "ScreenEncoder",
            "ScreencodecError",
            "SessionClosedError",
            "TransportError",
            "VersionMismatchError",
            "__version__",
            "open_source",
        ]
    )
    # Every exception of errors.py is reachable from the top level.
    assert set(errors.__all__) <= set(screencodec.__all__)
    for name in screencodec.__all__:
        assert hasattr(screencodec, name), name


@pytest.mark.parametrize(
    ("exc", "builtin"),
    [
        (errors.DecodeError, ValueError),
        (errors.IntegrityError, ValueError),
        (errors.FrameError, ValueError),
        (errors.FormatError, ValueError),
        (errors.ConfigError, ValueError),
        (errors.CaptureError, OSError),
        (errors.CodecUnavailableError, RuntimeError),
        (errors.ConcurrentUseError, RuntimeError),
        (errors.TransportError, ConnectionError),
        (errors.ProtocolError, ConnectionError),
        (errors.SessionClosedError, ConnectionError),
        (errors.HostFailedError, ConnectionError),
        (errors.AuthenticationError, PermissionError),
        (errors.PermissionDeniedError, PermissionError),
        (errors.ConsentDeniedError, PermissionError),
        (errors.ConsentCallbackError, TypeError),
    ],
)
def test_every_error_is_a_screencodec_error_and_its_builtin(
    exc: type[Exception], builtin: type[Exception]
) -> None:
    assert issubclass(exc, errors.ScreencodecError)
    assert issubclass(exc, builtin)
    assert getattr(builtins, builtin.__name__) is builtin


def test_every_module_all_resolves() -> None:
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(screencodec.__path__, "screencodec."):
        if info.name.endswith("__main__"):
            continue
        mod = importlib.import_module(info.name)
        for name in getattr(mod, "__all__", []):
            assert hasattr(mod, name), f"{info.name}.{name}"


def test_importing_has_no_side_effects_on_codec_registry() -> None:
    from screencodec.codecs import CodecRegistry

    reg = CodecRegistry()
    assert reg.specs() == []  # nothing registers itself at import time


def test_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    assert screencodec.__version__ == version("screencodec")
