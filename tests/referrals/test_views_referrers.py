"""Referrer pages: the list with referrals and conversions, and a referrer's own page, scoped per role."""

from __future__ import annotations

import pytest

from leads.models import Stage
from tests.factories import LeadFactory, ReferralFactory, ReferralSourceFactory

pytestmark = pytest.mark.django_db


def test_list_counts_referrals_and_conversions(rep_client, rep, other_rep):
    source = ReferralSourceFactory(name="Ben Ode")
    ReferralFactory(source=source, lead__owner=rep, lead__stage=Stage.WON)
    ReferralFactory(source=source, lead__owner=other_rep, lead__stage=Stage.WON)
    ReferralFactory(source=source, lead__owner=rep)
    ReferralSourceFactory(name="Quiet Quinn")
    html = rep_client.get("/referrals/").content.decode()
    row = html[html.index("Ben Ode") : html.index("</tr>", html.index("Ben Ode"))]
    assert [cell.split("<")[0] for cell in row.split('class="num">')[1:]] == ["3", "2", "2"]
    assert "Quiet Quinn" in html
    assert html.index("Ben Ode") < html.index("Quiet Quinn")  # best converters first


def test_list_search_and_htmx_partial(rep_client):
    ReferralSourceFactory(name="Ben Ode", organisation="Acme")
    ReferralSourceFactory(name="Cy Dale", organisation="Globex")
    html = rep_client.get("/referrals/?q=acme", HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div id="referrer-table"') and "Ben Ode" in html and "Cy Dale" not in html


def test_rep_sees_only_their_own_referred_leads_on_a_referrer_page(rep_client, rep, other_rep):
    source = ReferralSourceFactory(name="Ben Ode", lead=LeadFactory(owner=other_rep, first_name="Benlead"))
    ReferralFactory(source=source, lead__owner=rep, lead__first_name="Mine")
    ReferralFactory(source=source, lead__owner=other_rep, lead__first_name="Theirs", lead__stage=Stage.WON)
    html = rep_client.get(f"/referrals/{source.pk}/").content.decode()
    assert "Mine" in html and "Theirs" not in html
    assert "1 more referred lead belongs to other reps." in html
    assert "<strong>2</strong> referrals" in html and "<strong>1</strong> converted" in html
    assert "Benlead" not in html  # the referrer's own lead is another rep's: not linked


def test_manager_sees_every_referred_lead(manager_client, rep, other_rep):
    source = ReferralSourceFactory(lead=LeadFactory(owner=rep, first_name="Benlead"))
    ReferralFactory(source=source, lead__owner=rep, lead__first_name="Mine")
    ReferralFactory(source=source, lead__owner=other_rep, lead__first_name="Theirs")
    html = manager_client.get(f"/referrals/{source.pk}/").content.decode()
    assert "Mine" in html and "Theirs" in html and "belong" not in html
    assert f'href="/leads/{source.lead_id}/">' in html


def test_detail_htmx_partial_unknown_404_and_anonymous(rep_client, client):
    source = ReferralSourceFactory()
    html = rep_client.get(f"/referrals/{source.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div id="referral-table"')
    assert rep_client.get("/referrals/999999/").status_code == 404
    assert client.get("/referrals/").url.startswith("/accounts/login/")
    assert client.get(f"/referrals/{source.pk}/").url.startswith("/accounts/login/")


@pytest.mark.parametrize("size", [3, 30])
@pytest.mark.parametrize("role_client", ["rep_client", "manager_client"])
def test_referrer_pages_issue_a_fixed_number_of_queries(request, rep, size, role_client, django_assert_max_num_queries):
    client = request.getfixturevalue(role_client)
    big = ReferralSourceFactory(lead=LeadFactory(owner=rep))
    for index in range(size):
        ReferralFactory(source=big if index % 2 else ReferralSourceFactory(), lead__owner=rep)
    with django_assert_max_num_queries(7):
        client.get("/referrals/")
    with django_assert_max_num_queries(8):
        client.get(f"/referrals/{big.pk}/")
