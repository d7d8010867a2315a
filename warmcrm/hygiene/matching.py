"""Pure rules of duplicate detection: normalising names and companies, blocking keys, the fuzzy score.

No ORM here: the finder in hygiene.services feeds plain tuples in and gets pairs out.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

from rapidfuzz import fuzz

# Words that say nothing about which company it is ("Acme Inc" and "Acme" are the same company).
COMPANY_NOISE = {
    "inc", "incorporated", "llc", "ltd", "limited", "gmbh", "ag", "sa", "sas", "bv", "plc", "co", "corp",
    "corporation", "company", "the", "group", "holding", "holdings",
}  # fmt: skip
MAX_BLOCK = 500  # a block larger than this (a very common surname) is compared in slices, never all at once


@dataclass(frozen=True)
class Candidate:
    pk: int
    first_name: str
    last_name: str
    company: str


def fold(text: str) -> str:
    """Lower case, accents dropped, punctuation to spaces, single spaces."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode("ascii").lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def normalise_company(company: str) -> str:
    return " ".join(word for word in fold(company).split() if word not in COMPANY_NOISE)


def name_key(candidate: Candidate) -> str:
    return fold(f"{candidate.first_name} {candidate.last_name}")


def blocking_keys(candidate: Candidate) -> set[str]:
    """Leads are only compared inside a block: the same company prefix, or the same last-name prefix.

    Either is enough, so "Jon Smith, Acme" meets "John Smith, ACME Inc." through both, and a lead with
    no company still meets its namesakes.
    """
    keys = set()
    company = normalise_company(candidate.company)
    if company:
        keys.add("c:" + company.replace(" ", "")[:4])
    last = fold(candidate.last_name).replace(" ", "")
    if last:
        keys.add("l:" + last[:3])
    elif fold(candidate.first_name):
        keys.add("f:" + fold(candidate.first_name).replace(" ", "")[:3])
    return keys


def similarity(left: Candidate, right: Candidate) -> int:
    """0-100: how alike the names are, pulled down when both have a company and the companies differ."""
    return _score(
        (name_key(left), normalise_company(left.company)), (name_key(right), normalise_company(right.company))
    )


def _score(left: tuple[str, str], right: tuple[str, str]) -> int:
    name = fuzz.token_sort_ratio(left[0], right[0])
    if left[1] and right[1]:
        return round(0.6 * name + 0.4 * fuzz.token_set_ratio(left[1], right[1]))
    return round(name * 0.95)  # a missing company is weaker evidence than a matching one


def fuzzy_pairs(candidates: Iterable[Candidate], *, threshold: int) -> dict[tuple[int, int], int]:
    """{(smaller id, larger id): score} of the candidates scoring at least `threshold` within a block."""
    blocks: dict[str, list[Candidate]] = defaultdict(list)
    folded: dict[int, tuple[str, str]] = {}  # normalised once per lead, not once per comparison
    for candidate in candidates:
        folded[candidate.pk] = (name_key(candidate), normalise_company(candidate.company))
        for key in blocking_keys(candidate):
            blocks[key].append(candidate)
    found: dict[tuple[int, int], int] = {}
    for members in blocks.values():
        for start in range(0, len(members), MAX_BLOCK):
            for left, right in combinations(members[start : start + MAX_BLOCK], 2):
                pair = (min(left.pk, right.pk), max(left.pk, right.pk))
                if pair in found:
                    continue
                score = _score(folded[left.pk], folded[right.pk])
                if score >= threshold:
                    found[pair] = score
    return found


def exact_pairs(groups: Iterable[list[int]], *, limit: int = 50) -> set[tuple[int, int]]:
    """Every pair inside each group of ids sharing a value; a group over `limit` (a shared info@ address) is skipped."""
    pairs: set[tuple[int, int]] = set()
    for ids in groups:
        if 1 < len(ids) <= limit:
            pairs.update((a, b) for a, b in combinations(sorted(ids), 2))
    return pairs
