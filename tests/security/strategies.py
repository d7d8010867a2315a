"""Hostile text for the fuzz tests: what a careless paste, a crafted request or a broken export can send.

Every strategy draws text a browser or API client can actually transmit (no lone surrogates, which UTF-8
cannot encode). The markup fragments carry the marker `alert(1337)` so a page can be searched for it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

XSS_MARKER = "alert(1337)"
# Each of these, unescaped in a page, would run script or break out of an attribute.
MARKUP = (
    f"<script>{XSS_MARKER}</script>",
    f'" onmouseover="{XSS_MARKER}',
    f"' onmouseover='{XSS_MARKER}",
    f"<img src=x onerror={XSS_MARKER}>",
    f"</textarea><svg onload={XSS_MARKER}>",
    f"javascript:{XSS_MARKER}",
)
# The raw pieces that must never reach the HTML: escaped, they read &lt;script&gt; and &quot; onmouseover=.
RAW_MARKUP = (
    "<script>alert(1337)",
    '" onmouseover="alert(1337)',
    "' onmouseover='alert(1337)",
    "<img src=x onerror",
    "<svg onload",
)
SQL = ("'; DROP TABLE leads_lead; --", "' OR '1'='1", "%", "_", "%_%", "\\", "\\'", '";--', "1; SELECT pg_sleep(5)")
FORMULAS = ("=1+2", "+1 415", "-2+3", "@SUM(A1:A9)", "=HYPERLINK(\"http://x\")", "\t=1", "\r=1")
TEMPLATES = ("{{ 7|add:7 }}", "{% debug %}", "${7*7}", "%(name)s", "{0}")
NUL = "\x00"
# Dates every date field parses, at the ends of what Python's datetime holds.
FAR_DATES = ("9999-12-31", "9999-12-31T23:59", "9999-12-31T23:59:59-12:00", "0001-01-01", "0001-01-01T00:00+14:00")
CONTROL = tuple(chr(code) for code in (*range(1, 32), 127)) + ("\x85", "\u2028", "\u2029", "\ufeff", "\ufffe")
RTL = ("\u202e", "\u202d", "\u200f", "\u200e", "\u2066", "\u2069", "\u061c")
ASTRAL = ("😀", "👩🏽‍💻", "🏳️‍🌈", "\U00010348", "\U0001d518", "\U000e0041", "\U0010fffd", "𠜎")
COMBINING = ("e\u0301", "\u0301", "Z\u0351\u0352\u0353\u0354\u0355", "\u200b", "\u00a0", "ﬁ")
FRAGMENTS = (*MARKUP, *SQL, *FORMULAS, *TEMPLATES, NUL, *CONTROL, *RTL, *ASTRAL, *COMBINING)

# Any character except surrogates (unencodable): all scripts, symbols, controls, private use, unassigned.
any_char = st.characters(exclude_categories=("Cs",))
fragment = st.sampled_from(FRAGMENTS)


def hostile_text(*, max_pieces: int = 6) -> st.SearchStrategy[str]:
    """A string made of hostile fragments and arbitrary characters, usually short."""
    piece = st.one_of(fragment, st.text(any_char, min_size=1, max_size=12), st.sampled_from(("Ana", "Costa", " ")))
    return st.lists(piece, min_size=1, max_size=max_pieces).map("".join)


def long_text(*, min_size: int = 150, max_size: int = 20_000) -> st.SearchStrategy[str]:
    """Far past any column's limit: a repeated character or fragment, sometimes with a hostile tail."""
    return st.builds(
        lambda unit, count, tail: (unit * count)[:max_size] + tail,
        st.sampled_from(("x", "é", "😀", "<b>", "%", "\u202e", "a b ")),
        st.integers(min_value=min_size, max_value=max_size),
        st.one_of(st.just(""), fragment),
    )


def hostile(*, max_pieces: int = 6) -> st.SearchStrategy[str]:
    """What every text field is fuzzed with: mostly hostile fragments, sometimes very long, sometimes NUL."""
    return st.one_of(
        hostile_text(max_pieces=max_pieces),
        long_text(),
        st.builds(lambda text: f"Ana{NUL}{text}", hostile_text(max_pieces=2)),
        fragment,
    )


def hostile_id() -> st.SearchStrategy[str]:
    """What is sent where an id, a choice or a date belongs."""
    return st.one_of(
        hostile(max_pieces=3),
        st.sampled_from(("0", "-1", "1e9", "99999999999999999999999", "1.5", "0x10", " 1", "1 ", "NaN", "[]", "{}")),
        st.sampled_from(FAR_DATES),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
    )


def some_of(names: tuple[str, ...], value: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of the fields `names`, each drawn from `value`: what a crafted request sends."""
    return st.fixed_dictionaries({}, optional=dict.fromkeys(names, value))


def has_markup(html: str) -> list[str]:
    """The raw (unescaped) markup pieces found in a page."""
    return [piece for piece in RAW_MARKUP if piece in html]


# --- Checks shared by the fuzz tests ---------------------------------------------------------------------

# Words that mean a message was written for a programmer, not for the person who typed the value.
TECHNICAL_WORDS = ("Traceback", "Exception", "IntegrityError", "DataError", "psycopg", "sqlite", "object at 0x")


def technical_messages(messages: list[str]) -> list[str]:
    """The messages that are empty or read like a stack trace."""
    return [message for message in messages if not message.strip() or any(w in message for w in TECHNICAL_WORDS)]
