"""Codes people type on phones or read aloud: invite codes, join codes, staff codes."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def normalise_code(text: str) -> str:
    """What people type ("abcd-efgh 23") -> the canonical code ("ABCDEFGH23")."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def new_code(length: int) -> str:
    """A random code, shown in two groups for reading: ABCDE-FGH23."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))
    half = (length + 1) // 2
    return f"{raw[:half]}-{raw[half:]}"
