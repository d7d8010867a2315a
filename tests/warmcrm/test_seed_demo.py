"""seed_demo: realistic, deterministic demo data, scored by the same job as production."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from calls.models import Call
from calls.services import call_log
from leads.models import ConnectionType, FollowUp, Lead
from leads.roles import role_of
from leads.selectors import lead_warmth
from referrals.models import Referral, ReferralSource

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_mode(settings):
    settings.DEBUG = True  # seed_demo refuses production databases; pytest-django runs with DEBUG off


def snapshot() -> list[tuple]:
    # Sorted whole, not by email alone: the demo plants duplicates, and tied emails come back in any order.
    return sorted(Lead.objects.values_list("email", "connection_type", "stage", "owner__username", "warmth"))


def wipe() -> None:
    Call.objects.all().delete()
    FollowUp.objects.all().delete()
    Referral.objects.all().delete()
    ReferralSource.objects.all().delete()
    Lead.objects.all().delete()


def test_seed_demo_makes_users_of_every_role_and_leads_of_every_connection(capsys):
    call_command("seed_demo", "--leads", "300", "--seed", "7")
    out = capsys.readouterr().out
    assert "Seeded 300 leads" in out
    assert "password for all: warmcrm-demo" in out
    roles = {user.username: role_of(user) for user in get_user_model().objects.all()}
    assert roles == {"maria": "manager", "adam": "admin", "rita": "rep", "raj": "rep", "rosa": "rep"}
    assert get_user_model().objects.get(username="rita").check_password("warmcrm-demo")
    assert set(Lead.objects.values_list("connection_type", flat=True)) == set(ConnectionType.values)
    assert Call.objects.count() > 300
    assert Referral.objects.count() == Lead.objects.filter(connection_type=ConnectionType.REFERRAL).count()
    assert FollowUp.objects.filter(status="open").exists()
    assert not Lead.objects.filter(warmth_computed_at__isnull=True).exists()
    for lead in Lead.objects.select_related("event")[:100]:
        assert lead.warmth == lead_warmth(lead, now=lead.warmth_computed_at).score


def test_the_same_seed_gives_the_same_data():
    call_command("seed_demo", "--leads", "120", "--seed", "3")
    first = snapshot()
    wipe()
    call_command("seed_demo", "--leads", "120", "--seed", "3")
    assert snapshot() == first
    wipe()
    call_command("seed_demo", "--leads", "120", "--seed", "4")
    assert snapshot() != first


def test_if_empty_leaves_an_existing_database_alone(capsys):
    call_command("seed_demo", "--leads", "20")
    call_command("seed_demo", "--leads", "20", "--if-empty")
    assert Lead.objects.count() == 20
    assert "already has leads" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"), [(["--leads", "-1"], "--leads must be 0 or more."), (["--batch-size", "0"], "--batch-size")]
)
def test_bad_arguments_are_refused(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", *args)
    assert not Lead.objects.exists()


def test_refuses_production_without_force(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="Refusing to add demo users"):
        call_command("seed_demo", "--leads", "5")
    assert not get_user_model().objects.exists()


def test_seeded_leads_pass_validation_so_a_call_back_can_move_them_on():
    # Accented names (Chloé, Øster) once made emails Django rejects: a stage-changing call then failed.
    call_command("seed_demo", "--leads", "300", "--seed", "7")
    for lead in Lead.objects.all():
        lead.full_clean()
    accented = Lead.objects.filter(first_name__in=["Chloé", "Zoë", "Tomás"]).first()
    assert accented is not None and accented.email.isascii()
    call_log(
        lead=accented, rep=accented.owner, outcome="call_back", call_back_on=timezone.localdate() + timedelta(days=3)
    )
    assert Call.objects.filter(lead=accented, outcome="call_back").exists()
