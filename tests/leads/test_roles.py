"""Role scoping: reps see and change only their own leads (404 otherwise); managers and admins see all."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from leads.roles import role_of
from leads.selectors import leads_visible_to
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_role_groups_come_from_the_migration():
    assert set(Group.objects.values_list("name", flat=True)) >= {"rep", "manager", "admin"}


def test_role_is_the_highest_group():
    user = UserFactory(role="rep")
    user.groups.add(Group.objects.get(name="manager"))
    assert role_of(user) == "manager"


def test_scoping_selector(rep, other_rep, manager, lead, other_lead):
    assert list(leads_visible_to(rep)) == [lead]
    assert set(leads_visible_to(manager)) == {lead, other_lead}
    assert not leads_visible_to(UserFactory()).exists()  # a user in no role sees nothing


def test_rep_list_shows_only_their_leads(rep_client, lead, other_lead):
    response = rep_client.get(reverse("leads:list"))
    assert response.status_code == 200
    names = [row.pk for row in response.context["page"]]
    assert names == [lead.pk]


def test_manager_list_shows_all(manager_client, lead, other_lead):
    response = manager_client.get(reverse("leads:list"))
    assert {row.pk for row in response.context["page"]} == {lead.pk, other_lead.pk}


@pytest.mark.parametrize("name", ["leads:detail", "leads:edit"])
def test_rep_gets_404_for_another_reps_lead(rep_client, other_lead, name):
    assert rep_client.get(reverse(name, args=[other_lead.pk])).status_code == 404


def test_rep_cannot_change_another_reps_lead(rep_client, other_lead):
    response = rep_client.post(reverse("leads:edit", args=[other_lead.pk]), {"first_name": "Hacked"})
    assert response.status_code == 404
    other_lead.refresh_from_db()
    assert other_lead.first_name != "Hacked"


def test_rep_can_edit_their_own_lead(rep_client, lead):
    data = {"first_name": "Ana", "last_name": "Costa", "phone": "415 555 0199", "connection_type": "referral"}
    response = rep_client.post(reverse("leads:edit", args=[lead.pk]), data)
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.first_name, lead.phone_e164) == ("Ana", "+14155550199")


def test_bad_edit_shows_the_message_and_changes_nothing(rep_client, lead):
    before = lead.phone
    data = {"first_name": "Ana", "phone": "12", "connection_type": "referral"}
    response = rep_client.post(reverse("leads:edit", args=[lead.pk]), data)
    assert response.status_code == 200
    assert "is not a phone number" in response.content.decode() or "not a valid phone" in response.content.decode()
    lead.refresh_from_db()
    assert lead.phone == before


def test_manager_can_open_any_lead(manager_client, other_lead):
    assert manager_client.get(reverse("leads:detail", args=[other_lead.pk])).status_code == 200


def test_anonymous_is_sent_to_login(client, lead):
    response = client.get(reverse("leads:detail", args=[lead.pk]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_only_admins_reach_the_django_admin(rep_client, admin_client_role):
    assert rep_client.get("/admin/").status_code == 302
    assert admin_client_role.get("/admin/").status_code == 200
    assert admin_client_role.get("/admin/leads/lead/").status_code == 200


def test_admin_list_pages_and_search_work_for_every_model(admin_client_role, lead):
    LeadFactory(owner=lead.owner)
    for path in [
        "/admin/leads/lead/?q=example",
        "/admin/leads/event/?q=x",
        "/admin/leads/followup/?q=x",
        "/admin/leads/timelineentry/?q=x",
        "/admin/referrals/referralsource/?q=x",
        "/admin/referrals/referral/?q=x",
        "/admin/calls/call/?q=x",
    ]:
        assert admin_client_role.get(path).status_code == 200, path


def test_login_page_and_login(client):
    UserFactory(username="rosa", role="rep")
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "rosa", "password": "pw-for-tests-123"})
    assert response.status_code == 302
    response = Client().post(reverse("login"), {"username": "rosa", "password": "wrong"})
    assert "Please enter a correct username and password" in response.content.decode()
