"""Session codes and one-time passwords: format, parsing, entropy, attempt counting."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screencodec.errors import AuthenticationError
from screencodec.transport.channel.codes import (
    PASSWORD_ALPHABET,
    PASSWORD_BITS,
    SessionCredentials,
    format_code,
    generate_code,
    generate_password,
    normalize_password,
    parse_code,
)


def test_code_is_nine_digits_and_displays_in_groups() -> None:
    code = generate_code()
    assert len(code) == 9
    assert code.isdigit()
    assert format_code("012345678") == "012 345 678"


@given(st.integers(0, 10**9 - 1))
def test_parse_accepts_code_with_or_without_spaces(n: int) -> None:
    code = f"{n:09d}"
    assert parse_code(code) == code
    assert parse_code(format_code(code)) == code
    assert parse_code(f" {code[:3]}-{code[3:6]} {code[6:]} ") == code


@pytest.mark.parametrize("bad", ["", "12345678", "1234567890", "12345678a", "١٢٣٤٥٦٧٨٩"])
def test_parse_rejects_malformed_codes(bad: str) -> None:
    with pytest.raises(ValueError, match="9 digits"):
        parse_code(bad)


def test_password_alphabet_has_no_lookalikes_and_documented_entropy() -> None:
    assert not set("0O1lIo") & set(PASSWORD_ALPHABET)
    assert len(set(PASSWORD_ALPHABET)) == len(PASSWORD_ALPHABET) == 32
    assert math.isclose(PASSWORD_BITS, 40.0)
    passwords = {generate_password() for _ in range(200)}
    assert len(passwords) == 200  # fresh each time (a collision is ~2**-25)
    assert all(len(p) == 8 and set(p) <= set(PASSWORD_ALPHABET) for p in passwords)


def test_password_normalization() -> None:
    assert normalize_password("AB3D EFGH") == "ab3defgh"
    with pytest.raises(ValueError, match="symbols from"):
        normalize_password("ab0defgh")  # a zero is a typo, not an attempt


@pytest.mark.parametrize("typed", ["huz6-kbgp", "HUZ6.KBGP", "huz-6kb-gp", " huz6 - kbgp "])
def test_a_password_takes_the_separators_a_code_takes(typed: str) -> None:
    """walk41: "652-001-091" was taken, "huz6-kbgp" refused."""
    assert normalize_password(typed) == "huz6kbgp"


@pytest.mark.parametrize("typed", ["huz6_kbgp", "huz6/kbgp", "huz6kbg-", "huz6\u2010kbgp"])
def test_other_marks_and_short_passwords_are_still_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="symbols from"):
        normalize_password(typed)


def test_repr_never_shows_the_password() -> None:
    creds = SessionCredentials()
    assert creds.password not in repr(creds)


def test_failed_checks_are_told_and_never_invalidate() -> None:
    """Guessing is throttled (tests/transport/test_bruteforce.py), never a
    reason to drop the password: listeners hear of each failure and from where."""
    creds = SessionCredentials()
    heard: list[tuple[int, str]] = []
    creds.add_guess_listener(lambda c, key: heard.append((c.generation, key)))
    password = creds.password
    for key in ("10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.3"):
        creds.check_failed(key)
    assert heard == [(1, "10.0.0.1"), (1, "10.0.0.2"), (1, "10.0.0.1"), (1, "10.0.0.3")]
    assert not creds.invalidated and creds.password == password


def test_rotation_draws_a_new_password_and_counts_generations() -> None:
    creds = SessionCredentials()
    old = creds.password
    new = creds.rotate_password()
    assert new == creds.password != old
    assert creds.generation == 2
    assert normalize_password(new) == new


def test_ended_session_refuses_everything() -> None:
    creds = SessionCredentials()
    ended: list[SessionCredentials] = []
    creds.add_end_listener(ended.append)
    creds.end()
    creds.end()  # idempotent: listeners hear it once
    assert creds.ended and ended == [creds]
    assert creds.password == ""  # nothing left that a handshake could match
    with pytest.raises(AuthenticationError, match="ended"):
        creds.rotate_password()
    late: list[SessionCredentials] = []
    creds.add_end_listener(late.append)  # registered after the end: told at once
    assert late == [creds]


def test_code_comparison() -> None:
    creds = SessionCredentials("123 456 789")
    assert creds.matches_code("123456789")
    assert not creds.matches_code("123456780")
    assert creds.display_code == "123 456 789"
