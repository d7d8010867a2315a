"""Who may see the dashboard, and what a team manager sees."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

URLS = ["/dashboard/", *[f"/dashboard/export/{panel}.csv" for panel in
        ("funnel", "connections", "events", "referrers", "reps", "bands", "stale")]]  # fmt: skip


@pytest.mark.parametrize("url", URLS)
def test_reps_get_403_on_every_dashboard_url(world, url):
    client = Client()
    client.force_login(world.rita)
    assert client.get(url).status_code == 403
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 403


@pytest.mark.parametrize("url", URLS)
def test_anonymous_is_sent_to_log_in(db, url):
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_admins_see_everyone(world, admin_client_role):
    response = admin_client_role.get("/dashboard/")
    assert response.status_code == 200
    assert response.context["funnel"][0].reached == 9


def test_post_is_not_allowed(maria_client):
    assert maria_client.post("/dashboard/").status_code == 405


def test_unknown_table_is_404(maria_client):
    assert maria_client.get("/dashboard/export/passwords.csv").status_code == 404


def test_dashboard_link_only_for_managers_and_admins(world, maria_client, admin_client_role):
    rep = Client()
    rep.force_login(world.rita)
    assert 'href="/dashboard/"' not in rep.get("/leads/").content.decode()
    assert 'href="/dashboard/"' in maria_client.get("/leads/").content.decode()
    assert 'href="/dashboard/"' in admin_client_role.get("/leads/").content.decode()


class TestTeamManager:
    """Mike manages team North (Rita): he sees Rita's leads and activity only."""

    def test_sees_only_the_team(self, mike_client):
        context = mike_client.get("/dashboard/").context
        assert context["funnel"][0].reached == 4  # L1, L2, L6, L9
        assert [(r.name, r.calls) for r in context["reps"]] == [("Rita Ramos", 3)]
        assert [lead.first_name for lead in context["stale"].leads] == ["L9"]
        assert [(r.band, r.now) for r in context["bands"].rows] == [
            ("hot", 2),
            ("warm", 1),
            ("lukewarm", 0),
            ("cold", 1),
        ]
        assert [r.name for r in context["referrers"]] == ["Acme Anna"]
        assert [(r.name, r.made) for r in context["referrers"]] == [("Acme Anna", 1)]  # L6 only

    def test_filters_offer_only_the_team(self, mike_client, world):
        form = mike_client.get("/dashboard/").context["form"]
        assert [rep.username for rep in form.fields["rep"].queryset] == ["rita"]
        assert [team.name for team in form.fields["team"].queryset] == ["North"]
        html = mike_client.get("/dashboard/").content.decode()
        assert "Raj Patel" not in html and "South" not in html

    def test_cannot_ask_for_another_teams_rep_or_team(self, mike_client, world):
        response = mike_client.get("/dashboard/", {"rep": world.raj.pk})
        assert response.status_code == 400 and "Pick a rep from the list." in response.content.decode()
        response = mike_client.get("/dashboard/", {"team": world.south.pk})
        assert response.status_code == 400 and "Pick a team from the list." in response.content.decode()
        export = mike_client.get("/dashboard/export/stale.csv", {"rep": world.raj.pk})
        assert export.status_code == 400 and "Pick a rep from the list." in export.content.decode()

    def test_exports_are_scoped_too(self, mike_client):
        body = mike_client.get("/dashboard/export/stale.csv").content.decode("utf-8-sig")
        assert "L9" in body and "L4" not in body and "L8" not in body

    def test_a_manager_without_a_team_sees_everyone_and_every_team(self, maria_client):
        form = maria_client.get("/dashboard/").context["form"]
        assert [rep.username for rep in form.fields["rep"].queryset] == ["raj", "rita", "rosa"]
        assert [team.name for team in form.fields["team"].queryset] == ["North", "South"]


def test_a_manager_of_an_empty_team_sees_no_one(world):
    from warmcrm.dashboard.models import Team

    Team.objects.create(name="New team").managers.add(world.maria)
    client = Client()
    client.force_login(world.maria)
    context = client.get("/dashboard/").context
    assert context["funnel"][0].reached == 0
    assert context["reps"] == [] and context["stale"].total == 0
    assert list(context["form"].fields["rep"].queryset) == []
    assert [team.name for team in context["form"].fields["team"].queryset] == ["New team"]


def test_admins_manage_teams_in_the_django_admin(world, admin_client_role):
    assert admin_client_role.get("/admin/dashboard/team/add/").status_code == 200
    response = admin_client_role.post(
        "/admin/dashboard/team/add/",
        {"name": "West", "managers": [world.maria.pk], "members": [world.rosa.pk, world.raj.pk]},
    )
    assert response.status_code == 302
    from warmcrm.dashboard.models import Team

    west = Team.objects.get(name="West")
    assert list(west.managers.all()) == [world.maria]
    assert {user.username for user in west.members.all()} == {"rosa", "raj"}
    # Admins see the snapshots but cannot type them in.
    assert admin_client_role.get("/admin/dashboard/bandsnapshot/").status_code == 200
    assert admin_client_role.get("/admin/dashboard/bandsnapshot/add/").status_code == 403
