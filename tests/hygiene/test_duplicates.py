"""The nightly duplicate finder, the pairs list, the lead-page marks and "not a duplicate"."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import LeadFactory
from warmcrm.hygiene.models import DuplicatePair
from warmcrm.hygiene.services import duplicates_find
from warmcrm.hygiene.tasks import duplicates_find as duplicates_find_task

pytestmark = pytest.mark.django_db


def pair_of(a, b) -> DuplicatePair:
    return DuplicatePair.objects.get(lead_a_id=min(a.pk, b.pk), lead_b_id=max(a.pk, b.pk))


def test_same_email_in_any_case_is_an_exact_pair(rep, other_rep):
    a = LeadFactory(owner=rep, first_name="Ann", last_name="Alpha", company="One", email="ann@acme.com")
    b = LeadFactory(owner=other_rep, first_name="Bea", last_name="Beta", company="Two", email="ANN@acme.com")
    LeadFactory(email="other@acme.com")
    report = duplicates_find()
    pair = pair_of(a, b)
    assert (pair.reasons, pair.score, pair.status) == (["email"], 100, "open")
    assert report.created == 1


def test_same_e164_phone_is_an_exact_pair(rep):
    a = LeadFactory(owner=rep, first_name="Ann", last_name="Alpha", company="One", phone="(415) 555-0101")
    b = LeadFactory(owner=rep, first_name="Cy", last_name="Gamma", company="Two", phone="415.555.0101")
    a.phone_e164 = b.phone_e164 = "+14155550101"
    a.save(), b.save()
    duplicates_find()
    assert pair_of(a, b).reasons == ["phone"]


def test_similar_name_and_company_is_a_fuzzy_pair_with_its_score(rep, settings):
    settings.HYGIENE_FUZZY_THRESHOLD = 90
    a = LeadFactory(owner=rep, first_name="Jon", last_name="Smith", company="Acme Inc.")
    b = LeadFactory(owner=rep, first_name="John", last_name="Smith", company="ACME")
    c = LeadFactory(owner=rep, first_name="John", last_name="Smith", company="Globex Corporation")
    duplicates_find()
    pair = pair_of(a, b)
    assert pair.reasons == ["name"] and 90 <= pair.score < 100
    assert not DuplicatePair.objects.filter(lead_a=c).exists() and not DuplicatePair.objects.filter(lead_b=c).exists()
    settings.HYGIENE_FUZZY_THRESHOLD = 100
    DuplicatePair.objects.all().delete()
    duplicates_find()
    assert not DuplicatePair.objects.exists()


def test_not_a_duplicate_is_remembered_and_never_proposed_again(rep, manager_client):
    a = LeadFactory(owner=rep, email="same@acme.com")
    b = LeadFactory(owner=rep, email="same@acme.com")
    duplicates_find()
    pair = pair_of(a, b)
    response = manager_client.post(f"/hygiene/duplicates/{pair.pk}/not-duplicate/")
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == "not_duplicate" and pair.decided_by.username == "maria" and pair.decided_at
    assert duplicates_find().created == 0
    assert DuplicatePair.objects.get().status == "not_duplicate"
    assert "same@acme.com" not in manager_client.get("/hygiene/duplicates/").content.decode()


def test_running_twice_creates_nothing_new_and_the_task_reports(rep):
    LeadFactory(owner=rep, email="x@acme.com")
    LeadFactory(owner=rep, email="x@acme.com")
    assert duplicates_find_task.apply().get()["created"] == 1
    assert duplicates_find_task.apply().get()["created"] == 0
    assert DuplicatePair.objects.count() == 1


def test_pairs_list_for_managers_and_admins_reps_get_403(rep, manager_client, admin_client_role, rep_client):
    a = LeadFactory(owner=rep, first_name="Ann", email="dup@acme.com")
    LeadFactory(owner=rep, first_name="Ann", email="dup@acme.com")
    duplicates_find()
    for client in (manager_client, admin_client_role):
        page = client.get("/hygiene/duplicates/")
        assert page.status_code == 200
        assert f"/leads/{a.pk}/" in page.content.decode() and "Same email" in page.content.decode()
    assert rep_client.get("/hygiene/duplicates/").status_code == 403
    pair = DuplicatePair.objects.get()
    assert rep_client.post(f"/hygiene/duplicates/{pair.pk}/not-duplicate/").status_code == 403
    assert DuplicatePair.objects.get().status == "open"


def test_both_lead_pages_are_marked(rep, other_rep, rep_client, manager_client):
    mine = LeadFactory(owner=rep, first_name="Mine", last_name="Lead", email="dup@acme.com")
    theirs = LeadFactory(owner=other_rep, first_name="Their", last_name="Lead", email="dup@acme.com")
    duplicates_find()
    pair = DuplicatePair.objects.get()
    for lead in (mine, theirs):
        page = manager_client.get(f"/leads/{lead.pk}/").content.decode()
        assert "Possible duplicate" in page and f"/hygiene/duplicates/{pair.pk}/merge/" in page
    rep_page = rep_client.get(f"/leads/{mine.pk}/").content.decode()
    assert "Possible duplicate" in rep_page and "Another rep's lead" in rep_page
    assert "Their Lead" not in rep_page and "/merge/" not in rep_page


def test_the_lead_pages_card_reads_its_pairs_with_the_leads_but_not_their_owners(rep, other_rep, rep_client):
    mine = LeadFactory(owner=rep, first_name="Mine", last_name="Lead", email="dup@acme.com")
    LeadFactory(owner=rep, first_name="Also", last_name="Mine", email="dup@acme.com")
    LeadFactory(owner=other_rep, first_name="Their", last_name="Lead", email="dup@acme.com")
    duplicates_find()
    with CaptureQueriesContext(connection) as queries:
        page = rep_client.get(f"/leads/{mine.pk}/").content.decode()
    assert "Also Mine" in page and "Another rep's lead" in page and "Their Lead" not in page
    (pairs_sql,) = [
        query["sql"] for query in queries.captured_queries if 'FROM "hygiene_duplicatepair"' in query["sql"]
    ]
    assert '"leads_lead"' in pairs_sql and '"auth_user"' not in pairs_sql  # owners joined before 2026-12-02 evening


@pytest.mark.parametrize("count", [2, 20])
def test_pairs_list_queries_do_not_grow_with_the_data(rep, manager_client, django_assert_max_num_queries, count):
    for index in range(count):
        LeadFactory(owner=rep, email=f"d{index}@acme.com")
        LeadFactory(owner=rep, email=f"d{index}@acme.com")
    duplicates_find()
    with django_assert_max_num_queries(8):
        response = manager_client.get("/hygiene/duplicates/")
    assert len(response.context["page"].object_list) == DuplicatePair.objects.filter(status="open").count()


def test_the_demo_plants_duplicates_and_finds_them():
    from warmcrm.demo import seed_demo

    seed_demo(leads=40, log=lambda line: None)
    pairs = DuplicatePair.objects.filter(status="open")
    assert pairs.count() >= 3
    assert {"email", "phone", "name"} <= {reason for pair in pairs for reason in pair.reasons}
