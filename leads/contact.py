"""Pure rules for contact details: phone and email normalisation. No ORM here."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache

import phonenumbers
from django.core.validators import EmailValidator
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, SUPPORTED_REGIONS, PhoneMetadata
from phonenumbers.phonenumberutil import REGION_CODE_FOR_NON_GEO_ENTITY, region_code_for_country_code


class InvalidPhone(ValueError):
    """The text is not a phone number that can be dialled."""


def normalize_phone(raw: str, *, region: str) -> str:
    """Return the E.164 form of `raw` ("+14155550100"), or "" for a blank value.

    `region` is the country assumed for numbers written without a country code.
    Raises InvalidPhone with a sentence a user understands when the number is not valid.
    The answer is always phonenumbers' own (parse, is_valid_number, E.164); plain numbers take a short
    cut through the same metadata (see `_plain_number`), which an importer of a million rows needs.
    """
    text = (raw or "").strip()
    if not text:
        return ""
    plain = _plain_number(text, region)
    if plain is not None:
        country_code, national = plain
        if _is_valid(country_code, national):
            return f"+{country_code}{national}"
        raise InvalidPhone(_not_valid(text, region))
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"“{text}” is not a phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(_not_valid(text, region))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _not_valid(text: str, region: str) -> str:
    return f"“{text}” is not a valid phone number for {region} or with a country code."


def phone_search_key(raw: str, *, region: str) -> str:
    """E.164 of a phone typed in any format, for searching; "" when it is not a phone number."""
    try:
        return normalize_phone(raw, region=region)
    except InvalidPhone:
        return ""


def normalize_email(raw: str) -> str:
    """Emails are compared trimmed and case-insensitively, so they are stored that way."""
    return (raw or "").strip().lower()


_email_validator = EmailValidator()
# The validator's own pattern, compiled here: its lazy wrapper costs more per call than the match itself.
_email_user_match = re.compile(_email_validator.user_regex.pattern, _email_validator.user_regex.flags).match


def is_valid_email(value: str) -> bool:
    """Django's EmailValidator()(value) passes: its own steps, without an exception per bad value, and the
    domain part (the costly check, and the part a contact list repeats) remembered per domain."""
    if not value or "@" not in value or len(value) > 320:
        return False
    user_part, domain_part = value.rsplit("@", 1)
    return _email_user_match(user_part) is not None and _email_domain_ok(domain_part)


@lru_cache(maxsize=16_384)
def _email_domain_ok(domain_part: str) -> bool:
    return domain_part in _email_validator.domain_allowlist or _email_validator.validate_domain_part(domain_part)


# --- The short cut for plain numbers ----------------------------------------------------------------
#
# phonenumbers.parse() spends ~30 µs and is_valid_number() another ~25 µs per number, nearly all of it in
# Python call layers, not in the regular expressions. For text made only of ASCII digits, spaces, dots,
# hyphens and brackets, with at most a leading "+", parse() reads exactly the digits (no extension, letter,
# phone-context or second-number rule can apply), so its result depends on the digits and the plus alone.
# `_plain_number` then follows parse() step by step for the common case and gives up (None: take the full
# path) wherever parse() would branch into anything else: an international dialling prefix, a country code
# written without "+", a national prefix to strip, a leading zero, a length parse() rejects. Validity is
# is_valid_number()'s own rule (region from the country code, then the number type patterns) run on the
# same metadata with the patterns compiled once. tests/leads/test_importing.py compares both paths on every
# region's example numbers and on random numbers.

_PLAIN = re.compile(r"\+?[0-9() .\-]*")
_MIN_NSN, _MAX_NSN, _MAX_COUNTRY_CODE, _MAX_INPUT = 2, 17, 3, 250


def _plain_number(text: str, region: str) -> tuple[int, str] | None:
    """(country code, national number) exactly as phonenumbers.parse(text, region) reads it, or None."""
    if len(text) > _MAX_INPUT or not _PLAIN.fullmatch(text):
        return None
    home = _region_reading(region)
    if home is None:
        return None
    digits = text.encode("ascii").translate(None, b"+() .-").decode("ascii")  # the pattern let only ASCII in
    if len(digits) < 3:
        return None
    if text[0] == "+":
        if digits[0] == "0":
            return None
        for size in range(1, _MAX_COUNTRY_CODE + 1):
            country_code = int(digits[:size])
            if country_code in COUNTRY_CODE_TO_REGION_CODE:
                national = digits[size:]
                break
        else:
            return None
        national_prefix = _country_national_prefix(country_code)
        if national_prefix is False:
            return None
    else:
        country_code, code_text, idd, national_prefix = home
        if (idd is not None and idd(digits)) or digits.startswith(code_text):
            return None
        national = digits
    if (national_prefix is not None and national_prefix(national)) or national[:1] in ("0", ""):
        return None
    if not _MIN_NSN <= len(national) <= _MAX_NSN:
        return None
    return country_code, national


_Matcher = Callable[[str], object]


@cache
def _region_reading(region: str) -> tuple[int, str, _Matcher | None, _Matcher | None] | None:
    """For numbers without "+": the region's country code, its international prefix and its national prefix."""
    metadata = PhoneMetadata.metadata_for_region(region, None) if region in SUPPORTED_REGIONS else None
    if metadata is None:
        return None
    idd = metadata.international_prefix
    return (
        metadata.country_code,
        str(metadata.country_code),
        _compiled(idd).match if idd is not None else None,  # "" matches everything, as in parse()
        _national_prefix(metadata),
    )


@cache
def _country_national_prefix(country_code: int) -> _Matcher | None | bool:
    """For numbers with "+": the national prefix parse() would try to strip (False: no metadata)."""
    region = region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    return False if metadata is None else _national_prefix(metadata)


def _national_prefix(metadata: PhoneMetadata) -> _Matcher | None:
    prefix = metadata.national_prefix_for_parsing
    return _compiled(prefix).match if prefix else None


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _type_test(metadata: PhoneMetadata) -> Callable[[str], bool]:
    """phonenumbers' _number_type_helper(nsn, metadata) != UNKNOWN, with the patterns compiled once.

    That helper tries the types in a fixed order and answers the first that matches; whether any matches
    does not depend on the order, so fixed line and mobile, the usual answers, are tried first.
    """

    def desc_test(desc: object) -> tuple[frozenset[int], _Matcher] | None:
        pattern = getattr(desc, "national_number_pattern", None)
        if desc is None or not pattern:
            return None
        return frozenset(getattr(desc, "possible_length", None) or ()), _compiled(pattern).fullmatch

    general = desc_test(metadata.general_desc)
    names = ["fixed_line"] + ([] if metadata.same_mobile_and_fixed_line_pattern else ["mobile"])
    names += ["toll_free", "premium_rate", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail"]
    kinds = [test for test in (desc_test(getattr(metadata, name)) for name in names) if test is not None]
    if general is None:
        return lambda nsn: False
    general_lengths, general_match = general

    def is_known_type(nsn: str) -> bool:
        size = len(nsn)
        if (general_lengths and size not in general_lengths) or general_match(nsn) is None:
            return False
        return any((not lengths or size in lengths) and fullmatch(nsn) is not None for lengths, fullmatch in kinds)

    return is_known_type


@cache
def _validity(country_code: int) -> Callable[[str], bool]:
    """is_valid_number() for a national number (without leading zeros) of this country calling code."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return lambda nsn: False

    def own_code(region: str) -> bool:
        if region == REGION_CODE_FOR_NON_GEO_ENTITY:
            return True
        own = PhoneMetadata.metadata_for_region(region.upper(), None)
        return own is not None and own.country_code == country_code

    def valid_for_region(region: str) -> Callable[[str], bool]:  # is_valid_number_for_region()
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region.upper())
        if metadata is None or not own_code(region):
            return lambda nsn: False
        return _type_test(metadata)

    if len(regions) == 1:
        return valid_for_region(regions[0])
    # region_code_for_number(): the first region whose leading digits match, or (without leading digits)
    # whose number types accept the number; then is_valid_number_for_region() for that region, which for
    # the second kind repeats the same type test on the same metadata, so only its country code check is left.
    choices: list[tuple[_Matcher | None, Callable[[str], bool], Callable[[str], bool], bool]] = []
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        leading = _compiled(metadata.leading_digits).match if metadata.leading_digits is not None else None
        choices.append((leading, _type_test(metadata), valid_for_region(region), own_code(region)))

    def is_valid(nsn: str) -> bool:
        for leading, known_type, valid, own in choices:
            if leading is not None:
                if leading(nsn):
                    return valid(nsn)
            elif known_type(nsn):
                return own
        return False

    return is_valid


def _is_valid(country_code: int, national: str) -> bool:
    return _validity(country_code)(national)
