"""The pipeline board: columns by stage with counts and total warmth, moving leads, lost asks why."""

from __future__ import annotations

import pytest

from leads.models import Lead, Stage, TimelineEntry
from leads.views import BOARD_CARDS_PER_STAGE
from tests.factories import EventFactory, LeadFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def column(html: str, stage: str) -> str:
    start = html.index(f'data-stage="{stage}"')
    end = html.find("board-column", start)
    return html[start : end if end != -1 else len(html)]


def test_columns_count_and_total_warmth_from_the_database(rep_client, rep, other_rep):
    LeadFactory(owner=rep, stage=Stage.NEW, warmth=30, first_name="Ana")
    LeadFactory(owner=rep, stage=Stage.NEW, warmth=12, first_name="Bo")
    LeadFactory(owner=rep, stage=Stage.QUALIFIED, warmth=70, first_name="Cy")
    LeadFactory(owner=other_rep, stage=Stage.NEW, warmth=50, first_name="Theirs")
    html = rep_client.get("/leads/board/").content.decode()
    assert '2 leads</span> · <span title="Total warmth">warmth 42' in column(html, "new")
    assert "Ana" in column(html, "new") and "Cy" in column(html, "qualified")
    assert "Theirs" not in html


def test_manager_sees_every_reps_leads(manager_client, rep, other_rep):
    LeadFactory(owner=rep, first_name="Mine")
    LeadFactory(owner=other_rep, first_name="Theirs")
    html = manager_client.get("/leads/board/").content.decode()
    assert "Mine" in html and "Theirs" in html


def test_a_full_column_links_to_the_rest(rep_client, rep):
    LeadFactory.create_batch(BOARD_CARDS_PER_STAGE + 3, owner=rep, stage=Stage.NEW)
    html = rep_client.get("/leads/board/").content.decode()
    assert column(html, "new").count("board-card") == BOARD_CARDS_PER_STAGE
    assert "3 more in the list" in html and 'href="/leads/?stage=new"' in html


def test_moving_a_card_records_the_stage_change_and_returns_the_board(rep_client, rep):
    lead = LeadFactory(owner=rep, stage=Stage.CONNECTED, first_name="Ana")
    response = rep_client.post(
        f"/leads/{lead.pk}/stage/", {"stage": "qualified", "back": "board"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response["HX-Retarget"] == "#board"
    assert html.lstrip().startswith('<div id="board"') and "moved to Qualified" in html
    assert "Ana" in column(html, "qualified")
    entry = TimelineEntry.objects.get(lead=lead, kind=TimelineEntry.Kind.STAGE_CHANGED)
    assert entry.actor_id == rep.pk and entry.data == {"from": "connected", "to": "qualified"}


def test_moving_to_lost_asks_for_a_reason_first(rep_client, rep):
    lead = LeadFactory(owner=rep, stage=Stage.CONNECTED)
    response = rep_client.post(f"/leads/{lead.pk}/stage/", {"stage": "lost", "back": "board"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response["HX-Retarget"] == f"#card-{lead.pk}"
    assert "Why was it lost?" in html and "Say why the lead was lost." in html
    assert Lead.objects.get(pk=lead.pk).stage == Stage.CONNECTED
    rep_client.post(f"/leads/{lead.pk}/stage/", {"stage": "lost", "lost_reason": "No budget", "back": "board"})
    assert Lead.objects.get(pk=lead.pk).lost_reason == "No budget"


def test_without_javascript_a_move_redirects_to_the_board(rep_client, rep):
    lead = LeadFactory(owner=rep)
    response = rep_client.post(f"/leads/{lead.pk}/stage/", {"stage": "nurture", "back": "board"})
    assert response.status_code == 302 and response.url == "/leads/board/"
    assert "moved to Nurture" in rep_client.get("/leads/board/").content.decode()


def test_other_reps_card_cannot_be_moved(rep_client, other_lead):
    response = rep_client.post(f"/leads/{other_lead.pk}/stage/", {"stage": "won", "back": "board"})
    assert response.status_code == 404
    assert Lead.objects.get(pk=other_lead.pk).stage == Stage.NEW


def test_htmx_gets_the_board_partial_and_anonymous_goes_to_log_in(rep_client, client, lead):
    html = rep_client.get("/leads/board/", HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div id="board"') and "<html" not in html
    assert client.get("/leads/board/").url.startswith("/accounts/login/")


@pytest.mark.parametrize("size", [4, 60])
@pytest.mark.parametrize("role_client", ["rep_client", "manager_client"])
def test_board_issues_a_fixed_number_of_queries(request, rep, size, role_client, django_assert_max_num_queries):
    stages = list(Stage)
    for index in range(size):
        ReferralFactory(lead__owner=rep, lead__stage=stages[index % 6], lead__event=EventFactory())
    client = request.getfixturevalue(role_client)
    with django_assert_max_num_queries(7):
        response = client.get("/leads/board/")
    assert response.content.decode().count('class="card board-card"') == size
