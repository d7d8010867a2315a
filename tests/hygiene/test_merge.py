"""Merging two leads: field choices, everything the other lead had moves, one transaction, who may do it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call
from leads.models import FollowUp, ImportJob, ImportRecord, Lead, TimelineEntry
from referrals.models import Referral, ReferralSource
from tests.factories import (
    CallFactory,
    FollowUpFactory,
    LeadFactory,
    ReferralFactory,
    ReferralSourceFactory,
)
from warmcrm.hygiene import services
from warmcrm.hygiene.models import DuplicatePair
from warmcrm.hygiene.services import lead_merge

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(rep, other_rep):
    """Two records of Ann: each with calls, an open follow-up, a referral, a referrer identity, an import."""
    now = timezone.now()
    keep = LeadFactory(
        owner=rep, first_name="Ann", last_name="Smith", company="Acme", email="ann@acme.com", title="",
        research_notes="Met at the expo.", last_conversation_at=now - timedelta(days=9),
    )  # fmt: skip
    gone = LeadFactory(
        owner=other_rep, first_name="Anne", last_name="Smith", company="Acme Inc", email="ann@acme.com",
        title="CFO", research_notes="Asked about pricing.", last_conversation_at=now - timedelta(days=2),
    )  # fmt: skip
    CallFactory(lead=keep, rep=rep)
    CallFactory.create_batch(2, lead=gone, rep=other_rep)
    FollowUpFactory(lead=keep, due_at=now + timedelta(days=3))
    FollowUpFactory(lead=gone, due_at=now + timedelta(days=1))
    ReferralFactory(lead=keep, source=ReferralSourceFactory(name="Kept Referrer"))
    ReferralFactory(lead=gone, source=ReferralSourceFactory(name="Dropped Referrer"))
    gone_as_referrer = ReferralSourceFactory(name="Anne as referrer", lead=gone)
    ReferralFactory(source=gone_as_referrer)
    job = ImportJob.objects.create(file_name="expo.csv", stored_path="imports/expo.csv")
    other_job = ImportJob.objects.create(file_name="fair.csv", stored_path="imports/fair.csv")
    # expo.csv created the kept lead (row 2) and reached the other (row 3), which fair.csv created (row 4).
    Lead.objects.filter(pk=keep.pk).update(import_job=job, import_row=2)
    Lead.objects.filter(pk=gone.pk).update(import_job=other_job, import_row=4)
    ImportRecord.objects.create(job=job, lead=gone, row_number=3)
    TimelineEntry.objects.create(lead=gone, kind=TimelineEntry.Kind.OWNER_CHANGED, summary="Owner: raj")
    pair = DuplicatePair.objects.create(lead_a=keep, lead_b=gone, reasons=["email"])
    return keep, gone, pair


def snapshot(*leads: Lead) -> dict:
    ids = [lead.pk for lead in leads]
    return {
        "leads": list(Lead.objects.filter(pk__in=ids).order_by("pk").values()),
        "calls": sorted(Call.objects.filter(lead_id__in=ids).values_list("pk", "lead_id")),
        "follow_ups": sorted(FollowUp.objects.filter(lead_id__in=ids).values_list("pk", "lead_id", "status")),
        "referrals": sorted(Referral.objects.values_list("pk", "lead_id", "source_id")),
        "sources": sorted(ReferralSource.objects.values_list("pk", "lead_id")),
        "timeline": TimelineEntry.objects.filter(lead_id__in=ids).count(),
        "imports": sorted(ImportRecord.objects.values_list("pk", "lead_id")),
        "pairs": list(DuplicatePair.objects.values_list("pk", "status", "lead_a_id", "lead_b_id")),
    }


def test_merge_moves_everything_to_the_survivor_and_removes_the_other(twins, manager):
    keep, gone, pair = twins
    gone_pk, gone_calls = gone.pk, set(gone.calls.values_list("pk", flat=True))
    survivor = lead_merge(survivor=keep, other=gone, actor=manager, take_from_other={"title", "owner"}, pair=pair)

    assert not Lead.objects.filter(pk=gone_pk).exists()
    survivor.refresh_from_db()
    assert (survivor.first_name, survivor.title, survivor.owner.username) == ("Ann", "CFO", "raj")
    assert "Met at the expo." in survivor.research_notes and "Asked about pricing." in survivor.research_notes
    assert survivor.last_conversation_at == Lead.objects.get(pk=keep.pk).last_conversation_at
    assert gone_calls <= set(survivor.calls.values_list("pk", flat=True)) and survivor.calls.count() == 3
    # At most one open follow-up: the earliest due (the other's, tomorrow), now the survivor's owner's.
    open_ones = list(survivor.follow_ups.filter(status="open"))
    assert len(open_ones) == 1 and open_ones[0].due_at < timezone.now() + timedelta(days=2)
    assert open_ones[0].owner.username == "raj"
    assert survivor.follow_ups.filter(status="skipped", status_note="Closed by a merge").count() == 1
    # The survivor keeps its own referral; the other's is deleted and noted on the timeline.
    assert survivor.referral.source.name == "Kept Referrer"
    assert not Referral.objects.filter(source__name="Dropped Referrer").exists()
    assert survivor.timeline_entries.filter(summary__contains="Also referred by Dropped Referrer").exists()
    # The other lead's identity as a referrer moves to the survivor.
    assert ReferralSource.objects.get(name="Anne as referrer").lead_id == survivor.pk
    # The survivor keeps the import that created it (expo.csv, which also reached the other: no record of that);
    # the one that created the other lead reached the survivor: a record, so undoing fair.csv keeps it.
    assert (survivor.import_job.file_name, survivor.import_row) == ("expo.csv", 2)
    assert list(ImportRecord.objects.filter(lead=survivor).values_list("job__file_name", "row_number")) == [
        ("fair.csv", 4)
    ]
    assert survivor.timeline_entries.filter(summary="Owner: raj").exists()
    merged = survivor.timeline_entries.get(kind=TimelineEntry.Kind.MERGED, actor=manager)
    assert merged.summary == f"Merged Anne Smith (lead {gone_pk}) into this lead"
    assert merged.data["merged_lead_id"] == gone_pk and merged.data["fields_taken"] == ["owner", "title"]
    pair.refresh_from_db()
    assert (pair.status, pair.decided_by_id, pair.lead_b_id) == ("merged", manager.pk, None)
    assert survivor.warmth_computed_at is not None


def test_undoing_the_import_that_created_the_merged_away_lead_keeps_the_survivor(twins, manager, admin_user):
    from leads.import_services import import_job_undo

    keep, gone, pair = twins
    survivor = lead_merge(survivor=keep, other=gone, actor=manager, pair=pair)
    fair = ImportJob.objects.get(file_name="fair.csv")
    ImportJob.objects.filter(pk=fair.pk).update(status=ImportJob.Status.DONE, finished_at=timezone.now())
    report = import_job_undo(job=fair, actor=admin_user)
    # The survivor is no lead fair.csv created (it would be kept only for its calls): an import that reached it.
    assert (report["removed"], report["kept"], report["merged_left"]) == (0, 0, 1)
    assert Lead.objects.filter(pk=survivor.pk).exists()


def test_a_failure_mid_merge_leaves_both_leads_as_they_were(twins, manager, monkeypatch):
    keep, gone, pair = twins
    before = snapshot(keep, gone)

    def explode(survivor, other):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_merge_import_records", explode)  # after calls and follow-ups have moved
    with pytest.raises(RuntimeError):
        lead_merge(survivor=keep, other=gone, actor=manager, take_from_other={"title"}, pair=pair)
    assert snapshot(keep, gone) == before


def test_a_closed_survivor_keeps_no_open_follow_up(twins, manager):
    keep, gone, pair = twins
    Lead.objects.filter(pk=keep.pk).update(stage="lost", lost_reason="No budget")
    survivor = lead_merge(survivor=keep, other=gone, actor=manager, pair=pair)
    assert not survivor.follow_ups.filter(status="open").exists()


def test_a_do_not_call_on_either_lead_survives(twins, manager):
    keep, gone, pair = twins
    Lead.objects.filter(pk=gone.pk).update(do_not_call=True)
    survivor = lead_merge(survivor=keep, other=gone, actor=manager, pair=pair)
    assert survivor.do_not_call is True


# --- The merge page ----------------------------------------------------------------------------------


def test_merge_page_shows_both_side_by_side_with_a_radio_per_differing_field(twins, manager_client):
    keep, gone, pair = twins
    page = manager_client.get(f"/hygiene/duplicates/{pair.pk}/merge/").content.decode()
    assert "Ann" in page and "Anne" in page and "CFO" in page
    assert 'name="pick_first_name"' in page and 'name="pick_title"' in page
    assert 'name="pick_email"' not in page  # the same on both: nothing to choose
    assert page.count('name="survivor"') == 2


def test_merging_through_the_page(twins, manager_client):
    keep, gone, pair = twins
    data = {"survivor": gone.pk, "pick_first_name": keep.pk, "pick_company": gone.pk, "pick_title": gone.pk,
            "pick_owner": gone.pk, "pick_research_notes": gone.pk, "pick_phone": keep.pk}  # fmt: skip
    response = manager_client.post(f"/hygiene/duplicates/{pair.pk}/merge/", data)
    assert response.status_code == 302 and response["Location"] == f"/leads/{gone.pk}/"
    assert not Lead.objects.filter(pk=keep.pk).exists()
    survivor = Lead.objects.get(pk=gone.pk)
    assert (survivor.first_name, survivor.company, survivor.title) == ("Ann", "Acme Inc", "CFO")
    assert survivor.calls.count() == 3
    assert "Merged Ann Smith" in manager_client.get(f"/leads/{gone.pk}/").content.decode()


def test_a_missing_choice_says_so_and_merges_nothing(twins, manager_client):
    keep, gone, pair = twins
    before = snapshot(keep, gone)
    response = manager_client.post(f"/hygiene/duplicates/{pair.pk}/merge/", {"survivor": keep.pk})
    assert response.status_code == 200
    assert "Pick which value to keep." in response.content.decode()
    assert snapshot(keep, gone) == before


def test_reps_get_403_and_unknown_or_merged_pairs_404(twins, rep_client, manager_client, admin_client_role):
    keep, gone, pair = twins
    assert rep_client.get(f"/hygiene/duplicates/{pair.pk}/merge/").status_code == 403
    assert rep_client.post(f"/hygiene/duplicates/{pair.pk}/merge/", {"survivor": keep.pk}).status_code == 403
    assert Lead.objects.filter(pk=gone.pk).exists()
    assert admin_client_role.get(f"/hygiene/duplicates/{pair.pk}/merge/").status_code == 200
    assert manager_client.get("/hygiene/duplicates/999999/merge/").status_code == 404
    lead_merge(survivor=keep, other=gone, actor=None, pair=pair)
    assert manager_client.get(f"/hygiene/duplicates/{pair.pk}/merge/").status_code == 404
    assert manager_client.post(f"/hygiene/duplicates/{pair.pk}/not-duplicate/").status_code == 404
