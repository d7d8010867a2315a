"""The pure duplicate rules: folding, blocking keys, the fuzzy score and exact groups (no database)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from warmcrm.hygiene.matching import (
    Candidate,
    blocking_keys,
    exact_pairs,
    fold,
    fuzzy_pairs,
    normalise_company,
    similarity,
)


def test_fold_and_company_noise():
    assert fold("  José  O'Brien ") == "jose o brien"
    assert normalise_company("ACME, Inc.") == normalise_company("Acme") == "acme"


def test_a_typo_in_the_name_and_a_company_suffix_still_match():
    left = Candidate(1, "Jon", "Smith", "Acme Inc.")
    right = Candidate(2, "John", "Smith", "ACME")
    assert similarity(left, right) >= 90
    assert fuzzy_pairs([left, right], threshold=90) == {(1, 2): similarity(left, right)}


def test_same_name_at_another_company_or_another_name_does_not_match():
    base = Candidate(1, "John", "Smith", "Acme")
    assert fuzzy_pairs([base, Candidate(2, "John", "Smith", "Globex Corporation")], threshold=90) == {}
    assert fuzzy_pairs([base, Candidate(3, "Mary", "Jones", "Acme")], threshold=90) == {}


def test_leads_in_different_blocks_are_never_compared():
    # Same name, but neither company nor last-name prefix is shared: different blocks.
    assert blocking_keys(Candidate(1, "Ann", "Lee", "Acme")) & blocking_keys(Candidate(2, "Ann", "Xu", "Zeta")) == set()


def test_exact_pairs_skip_huge_groups_and_singletons():
    assert exact_pairs([[3, 1, 2], [7], list(range(100, 200))], limit=50) == {(1, 2), (1, 3), (2, 3)}


@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12), st.text(max_size=20)), max_size=12))
def test_pairs_are_ordered_unique_and_scored_within_range(rows):
    candidates = [Candidate(pk, first, last, company) for pk, (first, last, company) in enumerate(rows, start=1)]
    found = fuzzy_pairs(candidates, threshold=0)
    for (a, b), score in found.items():
        assert a < b and 0 <= score <= 100
