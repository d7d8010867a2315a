"""Pure rules of API secrets: their shape, the prefix used to find them, hashing."""

from __future__ import annotations

import pytest

from warmcrm.api import tokens


def test_new_tokens_are_unique_and_carry_their_prefix():
    first, second = tokens.new_api_token(), tokens.new_api_token()
    assert first.raw != second.raw and first.prefix != second.prefix
    assert tokens.api_token_prefix(first.raw) == first.prefix
    assert tokens.secret_matches(first.raw, first.hashed)
    assert not tokens.secret_matches(second.raw, first.hashed)
    assert first.raw not in first.hashed


@pytest.mark.parametrize(
    "raw",
    ["", "wcrm", "wcrm_", "wcrm_abc_def", "wcrm_0123456789ab_", "xxxx_0123456789ab_secret", "0123456789ab_secret"],
)
def test_strings_that_are_not_our_tokens_have_no_prefix(raw):
    assert tokens.api_token_prefix(raw) is None


def test_calendar_secrets_are_long_and_random():
    secret = tokens.new_calendar_secret()
    assert len(secret.raw) >= 43 and secret.hashed == tokens.hash_secret(secret.raw)
    assert secret.raw != tokens.new_calendar_secret().raw
