"""Pure rules for contact details: phone and email normalisation. No ORM here."""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    """The text is not a phone number that can be dialled."""


def normalize_phone(raw: str, *, region: str) -> str:
    """Return the E.164 form of `raw` ("+14155550100"), or "" for a blank value.

    `region` is the country assumed for numbers written without a country code.
    Raises InvalidPhone with a sentence a user understands when the number is not valid.
    """
    text = (raw or "").strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"“{text}” is not a phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"“{text}” is not a valid phone number for {region} or with a country code.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_search_key(raw: str, *, region: str) -> str:
    """E.164 of a phone typed in any format, for searching; "" when it is not a phone number."""
    try:
        return normalize_phone(raw, region=region)
    except InvalidPhone:
        return ""


def normalize_email(raw: str) -> str:
    """Emails are compared trimmed and case-insensitively, so they are stored that way."""
    return (raw or "").strip().lower()
