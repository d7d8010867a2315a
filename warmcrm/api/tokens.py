"""Pure rules for API and calendar secrets: how they look, how they are hashed and split. No ORM here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

TOKEN_MARK = "wcrm"
PREFIX_CHARS = 12  # hex: 48 bits, enough that two tokens never share a prefix in practice


@dataclass(frozen=True)
class NewSecret:
    raw: str  # shown to the user once, never stored
    prefix: str
    hashed: str


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_api_token() -> NewSecret:
    prefix = secrets.token_hex(PREFIX_CHARS // 2)
    raw = f"{TOKEN_MARK}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewSecret(raw=raw, prefix=prefix, hashed=hash_secret(raw))


def new_calendar_secret() -> NewSecret:
    raw = secrets.token_urlsafe(32)
    return NewSecret(raw=raw, prefix="", hashed=hash_secret(raw))


def api_token_prefix(raw: str) -> str | None:
    """The lookup prefix of a token as sent, or None when it does not look like one of ours."""
    mark, _, rest = raw.partition("_")
    prefix, _, secret = rest.partition("_")
    if mark != TOKEN_MARK or len(prefix) != PREFIX_CHARS or not secret:
        return None
    return prefix


def secret_matches(raw: str, hashed: str) -> bool:
    return hmac.compare_digest(hash_secret(raw), hashed)
