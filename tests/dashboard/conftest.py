"""A small hand-built pipeline whose every dashboard figure is worked out by hand in the tests.

"Now" is Wednesday 18 March 2026, 12:00 UTC: this week is 16-18 March, this month 1-18 March,
the last 90 days 19 December 2025 - 18 March 2026. Stale thresholds are the defaults
(hot 3, warm 7, lukewarm 21, cold 60 days).

lead  owner connection  event created     stage           band     calls (rep, outcome)   (referrer, day)
L1    rita  event_list  Expo   03-03 09:00 won             hot      03-04 09:00 rita appointment_set
L2    rita  event_list  Expo   03-03 09:00 attempted       cold     03-12 09:00 rita no_answer
L3    raj   event_list  Expo   03-03 09:00 new             warm     -
L4    raj   event_asked Fair   01-11 09:00 appointment_set warm     01-12 raj connected_other; 01-20 raj appointment_set
L5    raj   referral    -      03-16 09:00 connected       hot      03-17 09:00 raj call_back (Anna, 03-16)
L6    rita  referral    -      03-17 09:00 won             hot      - (Anna, 03-17)
L7    rosa  referral    -      02-01 09:00 lost            cold     02-02 rosa not_interested (=HYPERLINK, 02-01)
L8    rosa  cold        -      2025-10-01  nurture         cold     -
L9    rita  inbound     -      03-10 09:00 qualified       warm     03-10 09:00 rita appointment_set
L10   raj   cold        -      03-05 09:00 attempted (DNC) lukewarm 03-05 raj wrong_number
L11   rosa  referral    -      2025-11-01  won             cold     2025-11-02 rosa appointment_set (Anna, 2025-11-01)

Teams: North = {rita} managed by mike; South = {raj}. maria manages no team.
Follow-ups: rita L2 done 03-12, rita L9 open due 03-15 (overdue); raj L4 done 01-20, raj L5 open due 03-20.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.test import Client

from calls.models import Outcome
from calls.services import call_totals_rebuild
from leads.models import ConnectionType, FollowUp, Stage
from tests.factories import (
    CallFactory,
    EventFactory,
    FollowUpFactory,
    LeadFactory,
    ReferralFactory,
    ReferralSourceFactory,
    UserFactory,
)
from warmcrm.dashboard.models import Team

NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)


def at(month: int, day: int, hour: int = 9, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=UTC)


@dataclass
class World:
    rita: object
    raj: object
    rosa: object
    maria: object
    mike: object
    north: Team
    south: Team
    expo: object
    fair: object
    anna: object
    leads: dict


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The world has five users; the production hasher would make each test take seconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


@pytest.fixture
def world(db, frozen) -> World:
    rita = UserFactory(username="rita", first_name="Rita", last_name="Ramos", role="rep")
    raj = UserFactory(username="raj", first_name="Raj", last_name="Patel", role="rep")
    rosa = UserFactory(username="rosa", first_name="Rosa", last_name="Lind", role="rep")
    maria = UserFactory(username="maria", first_name="Maria", last_name="Manager", role="manager")
    mike = UserFactory(username="mike", first_name="Mike", last_name="Teamlead", role="manager")
    north = Team.objects.create(name="North")
    north.members.add(rita)
    north.managers.add(mike)
    south = Team.objects.create(name="South")
    south.members.add(raj)

    expo = EventFactory(name="Expo", date=at(3, 2).date())
    fair = EventFactory(name="Fair", date=at(1, 10).date())
    anna = ReferralSourceFactory(name="Acme Anna", organisation="Acme")
    formula = ReferralSourceFactory(name='=HYPERLINK("http://evil.example","click")', organisation="@Evil Co")

    def lead(name, owner, connection, created, stage, band, *, event=None, last_conversation=None, **extra):
        return LeadFactory(
            first_name=name,
            last_name="Lead",
            owner=owner,
            connection_type=connection,
            event=event,
            created_at=created,
            stage=stage,
            warmth_band=band,
            last_conversation_at=last_conversation,
            **extra,
        )

    leads = {
        "L1": lead("L1", rita, ConnectionType.EVENT_LIST, at(3, 3), Stage.WON, "hot", event=expo,
                   last_conversation=at(3, 4)),
        "L2": lead("L2", rita, ConnectionType.EVENT_LIST, at(3, 3), Stage.ATTEMPTED, "cold", event=expo),
        "L3": lead("L3", raj, ConnectionType.EVENT_LIST, at(3, 3), Stage.NEW, "warm", event=expo),
        "L4": lead("L4", raj, ConnectionType.EVENT_ASKED, at(1, 11), Stage.APPOINTMENT_SET, "warm", event=fair,
                   last_conversation=at(1, 20)),
        "L5": lead("L5", raj, ConnectionType.REFERRAL, at(3, 16), Stage.CONNECTED, "hot", last_conversation=at(3, 17)),
        "L6": lead("L6", rita, ConnectionType.REFERRAL, at(3, 17), Stage.WON, "hot"),
        "L7": lead("L7", rosa, ConnectionType.REFERRAL, at(2, 1), Stage.LOST, "cold", last_conversation=at(2, 2),
                   lost_reason="Budget"),
        "L8": lead("L8", rosa, ConnectionType.COLD, at(10, 1, year=2025), Stage.NURTURE, "cold"),
        "L9": lead("L9", rita, ConnectionType.INBOUND, at(3, 10), Stage.QUALIFIED, "warm", last_conversation=at(3, 10)),
        "L10": lead("L10", raj, ConnectionType.COLD, at(3, 5), Stage.ATTEMPTED, "lukewarm", do_not_call=True),
        "L11": lead("L11", rosa, ConnectionType.REFERRAL, at(11, 1, year=2025), Stage.WON, "cold",
                    last_conversation=at(11, 2, year=2025)),
    }  # fmt: skip
    L = leads  # noqa: N806 - the table above names them so
    CallFactory(lead=L["L1"], rep=rita, called_at=at(3, 4), outcome=Outcome.APPOINTMENT_SET)
    CallFactory(lead=L["L2"], rep=rita, called_at=at(3, 12), outcome=Outcome.NO_ANSWER)
    CallFactory(lead=L["L4"], rep=raj, called_at=at(1, 12), outcome=Outcome.CONNECTED_OTHER)
    CallFactory(lead=L["L4"], rep=raj, called_at=at(1, 20), outcome=Outcome.APPOINTMENT_SET)
    CallFactory(lead=L["L5"], rep=raj, called_at=at(3, 17), outcome=Outcome.CALL_BACK)
    CallFactory(lead=L["L7"], rep=rosa, called_at=at(2, 2), outcome=Outcome.NOT_INTERESTED)
    CallFactory(lead=L["L9"], rep=rita, called_at=at(3, 10), outcome=Outcome.APPOINTMENT_SET)
    CallFactory(lead=L["L10"], rep=raj, called_at=at(3, 5), outcome=Outcome.WRONG_NUMBER)
    CallFactory(lead=L["L11"], rep=rosa, called_at=at(11, 2, year=2025), outcome=Outcome.APPOINTMENT_SET)
    call_totals_rebuild()  # the factory writes calls directly; call_log would have kept the totals itself

    ReferralFactory(source=anna, lead=L["L5"], referred_on=at(3, 16).date())
    ReferralFactory(source=anna, lead=L["L6"], referred_on=at(3, 17).date())
    ReferralFactory(source=formula, lead=L["L7"], referred_on=at(2, 1).date())
    ReferralFactory(source=anna, lead=L["L11"], referred_on=at(11, 1, year=2025).date())

    done = FollowUp.Status.DONE
    FollowUpFactory(lead=L["L2"], owner=rita, due_at=at(3, 12), status=done, closed_at=at(3, 12))
    FollowUpFactory(lead=L["L9"], owner=rita, due_at=at(3, 15))
    FollowUpFactory(lead=L["L4"], owner=raj, due_at=at(1, 20), status=done, closed_at=at(1, 20))
    FollowUpFactory(lead=L["L5"], owner=raj, due_at=at(3, 20))
    return World(rita, raj, rosa, maria, mike, north, south, expo, fair, anna, leads)


@pytest.fixture
def maria_client(world) -> Client:
    client = Client()
    client.force_login(world.maria)
    return client


@pytest.fixture
def mike_client(world) -> Client:
    client = Client()
    client.force_login(world.mike)
    return client
