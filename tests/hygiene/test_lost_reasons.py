"""Lost reasons: the seeded list, the board and lead page refusing unlisted reasons, the report by connection."""

from __future__ import annotations

import pytest

from leads.models import Lead, Stage, TimelineEntry
from tests.factories import LeadFactory
from warmcrm.hygiene.models import LostReason

pytestmark = pytest.mark.django_db


def test_defaults_are_seeded_by_the_migration():
    names = set(LostReason.objects.filter(active=True).values_list("name", flat=True))
    assert {"No budget", "Chose a competitor", "Bad timing", "Other"} <= names


@pytest.mark.parametrize("back", ["lead", "board"])
@pytest.mark.parametrize("htmx", [False, True])
def test_an_unlisted_reason_is_refused_with_a_clear_message_and_nothing_changes(lead, rep_client, back, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = rep_client.post(
        f"/leads/{lead.pk}/stage/", {"stage": "lost", "lost_reason": "Because", "back": back}, **headers
    )
    assert response.status_code == 200
    assert "Pick one of the listed reasons: No budget, Chose a competitor" in response.content.decode()
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.stage, fresh.lost_reason) == (Stage.NEW, "")
    assert not TimelineEntry.objects.filter(lead=lead, kind=TimelineEntry.Kind.STAGE_CHANGED).exists()


def test_an_inactive_reason_is_refused(lead, rep_client):
    LostReason.objects.filter(name="Bad timing").update(active=False)
    response = rep_client.post(f"/leads/{lead.pk}/stage/", {"stage": "lost", "lost_reason": "Bad timing"})
    assert "Pick one of the listed reasons" in response.content.decode()
    assert "Bad timing" not in response.context["form"].lost_reasons()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.NEW


def test_a_listed_reason_moves_the_lead_to_lost(lead, rep_client):
    LostReason.objects.create(name="Moved abroad", order=5)
    response = rep_client.post(f"/leads/{lead.pk}/stage/", {"stage": "lost", "lost_reason": "Moved abroad"})
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).lost_reason == "Moved abroad"


def test_the_forms_offer_the_active_reasons(lead, rep_client):
    page = rep_client.get(f"/leads/{lead.pk}/").content.decode()
    assert 'list="lost-reasons"' in page and '<option value="Chose a competitor">' in page
    stage_page = rep_client.get(f"/leads/{lead.pk}/stage/?stage=lost&back=board").content.decode()
    assert '<option value="No budget">' in stage_page


def test_lost_reasons_by_connection_type(rep, manager_client, rep_client):
    for reason, connection, count in [
        ("No budget", "referral", 2),
        ("No budget", "cold", 1),
        ("Chose a competitor", "cold", 3),
    ]:
        LeadFactory.create_batch(count, owner=rep, stage=Stage.LOST, lost_reason=reason, connection_type=connection)
    LeadFactory(owner=rep, stage=Stage.WON, connection_type="inbound")
    response = manager_client.get("/hygiene/lost-reasons/")
    table = response.context["table"]
    assert [c.value for c in table["connections"]] == ["referral", "cold"]
    assert [(row["reason"], row["cells"], row["total"]) for row in table["rows"]] == [
        ("No budget", [2, 1], 3),
        ("Chose a competitor", [0, 3], 3),
    ]
    assert table["totals"] == [2, 4] and table["total"] == 6
    assert "Lost reasons by connection" in response.content.decode()
    assert rep_client.get("/hygiene/lost-reasons/").status_code == 403


@pytest.mark.parametrize("count", [2, 20])
def test_lost_reasons_page_queries_do_not_grow(rep, manager_client, django_assert_max_num_queries, count):
    LeadFactory.create_batch(count, owner=rep, stage=Stage.LOST, lost_reason="No budget")
    with django_assert_max_num_queries(8):
        assert manager_client.get("/hygiene/lost-reasons/").context["table"]["total"] == count


def test_an_emptied_list_gets_the_defaults_back_so_lost_stays_possible(lead, rep_client):
    LostReason.objects.all().delete()
    response = rep_client.post(f"/leads/{lead.pk}/stage/", {"stage": "lost", "lost_reason": "No budget"})
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).lost_reason == "No budget"
    assert LostReason.objects.filter(name="Other", active=True).exists()
