"""Demo data: users, events, referrers, leads of every connection type, 90 days of calls and follow-ups.

Deterministic for a seed (times are relative to the start of today), and set-based so that
`--leads 1000000` fills PostgreSQL in minutes: rows are generated in batches and bulk-inserted,
and warmth is scored by the same set-based recompute the periodic job uses.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from calls import outcomes
from calls.models import Call, Outcome
from calls.services import FIRST_CALL_FIELDS, rep_call_hours_rebuild
from leads.contact import InvalidPhone, normalize_phone
from leads.models import ConnectionType, Event, FollowUp, Lead, Stage, TimelineEntry
from leads.services import RecomputeReport, user_create, warmth_recompute_all
from referrals.models import Referral, ReferralSource

DEMO_PASSWORD = "warmcrm-demo"
DEMO_USERS = [
    ("maria", "Maria", "Manager", "manager"),
    ("adam", "Adam", "Admin", "admin"),
    ("rita", "Rita", "Ramos", "rep"),
    ("raj", "Raj", "Patel", "rep"),
    ("rosa", "Rosa", "Lind", "rep"),
]
FIRST_NAMES = [
    "Ana",
    "Ben",
    "Chloé",
    "Dmitri",
    "Elif",
    "Femi",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kaito",
    "Lena",
    "Mateo",
    "Nora",
    "Oskar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tomás",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoë",
    "Amara",
    "Björn",
    "Carmen",
    "Dev",
    "Emil",
    "Fatima",
    "Gustavo",
    "Hana",
    "Ivan",
    "Jana",
]
LAST_NAMES = [
    "Andersen",
    "Baker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "López",
    "Müller",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quist",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Varga",
    "Walsh",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Øster",
    "Núñez",
    "Brennan",
    "Ahmed",
]
COMPANY_WORDS = [
    "Acme",
    "Northwind",
    "Bluepeak",
    "Copperline",
    "Fjord",
    "Harbor",
    "Ironwood",
    "Juniper",
    "Keystone",
    "Lumen",
    "Meridian",
    "Nimbus",
]
COMPANY_KINDS = [
    "Logistics",
    "Foods",
    "Analytics",
    "Robotics",
    "Health",
    "Energy",
    "Labs",
    "Systems",
    "Studio",
    "Partners",
]
TITLES = ["Head of Operations", "CFO", "Procurement Manager", "IT Director", "Founder", "VP Sales", "Office Manager"]
AREA_CODES = [212, 303, 312, 415, 512, 617, 646, 206, 404, 720]
EVENTS = [
    ("LogiMAT", "Stuttgart"),
    ("Web Summit", "Lisbon"),
    ("SaaStr Europa", "Barcelona"),
    ("Dreamforce", "San Francisco"),
    ("Local Chamber Breakfast", "Boston"),
    ("RetailTech Expo", "London"),
]
CONNECTION_MIX = [
    (ConnectionType.EVENT_ASKED, 14),
    (ConnectionType.EVENT_LIST, 26),
    (ConnectionType.REFERRAL, 14),
    (ConnectionType.INBOUND, 12),
    (ConnectionType.PRIOR_CONTACT, 12),
    (ConnectionType.CUSTOMER, 5),
    (ConnectionType.PAST_CUSTOMER, 5),
    (ConnectionType.COLD, 12),
]
OUTCOME_MIX = [
    (Outcome.NO_ANSWER, 30),
    (Outcome.VOICEMAIL, 18),
    (Outcome.CONNECTED_OTHER, 14),
    (Outcome.CALL_BACK, 10),
    (Outcome.APPOINTMENT_SET, 10),
    (Outcome.NOT_INTERESTED, 9),
    (Outcome.DID_NOT_REMEMBER, 5),
    (Outcome.WRONG_NUMBER, 4),
]
RESEARCH = [
    "Saw their press release about opening a second warehouse.",
    "Posted on LinkedIn about hiring three SDRs.",
    "Their contract with the current vendor ends in the spring.",
    "Spoke at the conference about cutting onboarding time.",
    "",
    "",
]


@dataclass
class SeedReport:
    users: list[tuple[str, str]] = field(default_factory=list)
    leads: int = 0
    calls: int = 0
    referrals: int = 0
    follow_ups: int = 0
    warmth: RecomputeReport | None = None


def _weighted(rng: random.Random, mix: list[tuple[Any, int]]) -> Any:
    return rng.choices([value for value, _ in mix], weights=[weight for _, weight in mix])[0]


def _phone(rng: random.Random) -> tuple[str, str]:
    for _ in range(5):
        area, exchange, line = rng.choice(AREA_CODES), rng.randint(201, 989), rng.randint(0, 9999)
        text = f"({area}) {exchange}-{line:04d}"
        try:
            return text, normalize_phone(text, region="US")
        except InvalidPhone:
            continue
    return "", ""


def seed_demo(
    *, leads: int = 300, seed: int = 1, batch_size: int = 5000, log: Callable[[str], None] = print
) -> SeedReport:
    rng = random.Random(seed)
    anchor = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    report = SeedReport()
    with transaction.atomic():
        users = _users(report)
        reps = [user for user in users if user.groups.filter(name="rep").exists()]
        events = [
            Event.objects.get_or_create(
                name=name, date=(anchor - timedelta(days=20 + 25 * index)).date(), defaults={"place": place}
            )[0]
            for index, (name, place) in enumerate(EVENTS)
        ]
        sources = _referral_sources(rng, count=max(10, min(200, leads // 20)))
    for start in range(0, leads, batch_size):
        with transaction.atomic():
            _lead_batch(
                rng, anchor, report, count=min(batch_size, leads - start), reps=reps, events=events, sources=sources
            )
        log(f"  leads {report.leads:,} / {leads:,}, calls {report.calls:,}")
    _plant_duplicates(rng)
    rep_call_hours_rebuild()  # the calls were bulk-inserted; the leads' own totals were set with them
    report.warmth = warmth_recompute_all()
    report.follow_ups = FollowUp.objects.count()
    from warmcrm.hygiene.services import duplicates_find  # the demo shows pairs without waiting for the night

    duplicates_find()
    return report


def _ascii(email: str) -> str:
    """'chloé.øster.7@acme.example' -> 'chloe.ster.7@acme.example': Django's EmailValidator takes ASCII only,
    and a lead whose email fails it cannot change stage (the service validates the whole row)."""
    return unicodedata.normalize("NFKD", email).encode("ascii", "ignore").decode()


def _plant_duplicates(rng: random.Random, *, count: int = 3) -> None:
    """Make a few seeded leads look entered twice, as in real pipelines: same email, same phone, a typo and 'Inc'.

    Existing leads are rewritten (not added), so --leads N still gives N leads.
    """
    candidates = list(Lead.objects.exclude(email="").exclude(company="").order_by("pk").values_list("pk", flat=True))
    if len(candidates) < 2 * count:
        return
    chosen = rng.sample(candidates, 2 * count)
    leads = Lead.objects.in_bulk(chosen)
    for index in range(count):
        original, twin = leads[chosen[2 * index]], leads[chosen[2 * index + 1]]
        twin.first_name, twin.last_name, twin.company = original.first_name, original.last_name, original.company
        if index % 3 == 0:
            twin.email = original.email
        elif index % 3 == 1:
            twin.phone, twin.phone_e164 = original.phone, original.phone_e164
        else:
            twin.first_name = original.first_name[:-1] or original.first_name
            twin.company = f"{original.company} Inc."
        twin.save(update_fields=["first_name", "last_name", "company", "email", "phone", "phone_e164"])


def _users(report: SeedReport) -> list[Any]:
    users = []
    for username, first, last, role in DEMO_USERS:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            user = user_create(username=username, password=DEMO_PASSWORD, role=role, first_name=first, last_name=last)
        users.append(user)
        report.users.append((username, role))
    return users


def _referral_sources(rng: random.Random, *, count: int) -> list[ReferralSource]:
    kinds = ReferralSource.Kind.values
    sources = [
        ReferralSource(
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            kind=rng.choice(kinds),
            organisation=f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}",
        )
        for _ in range(count)
    ]
    return ReferralSource.objects.bulk_create(sources)


def _lead_batch(
    rng: random.Random,
    anchor: datetime,
    report: SeedReport,
    *,
    count: int,
    reps: list[Any],
    events: list[Event],
    sources: list[ReferralSource],
) -> None:
    lead_rows: list[Lead] = []
    call_rows: list[list[Call]] = []
    for _ in range(count):
        connection = _weighted(rng, CONNECTION_MIX)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
        phone, e164 = _phone(rng)
        event = rng.choice(events) if connection in (ConnectionType.EVENT_ASKED, ConnectionType.EVENT_LIST) else None
        created_at = anchor - timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 1439))
        if event is not None:
            created_at = datetime.combine(event.date, datetime.min.time(), tzinfo=anchor.tzinfo) + timedelta(days=1)
        lead = Lead(
            first_name=first,
            last_name=last,
            title=rng.choice(TITLES),
            company=company,
            email=_ascii(f"{first}.{last}.{report.leads + len(lead_rows)}@{company.split()[0]}.example".lower()),
            phone=phone,
            phone_e164=e164,
            owner=rng.choice(reps),
            connection_type=connection,
            event=event,
            research_notes=rng.choice(RESEARCH),
            do_not_call=rng.random() < 0.02,
            created_at=created_at,
        )
        calls = _calls_for(rng, lead, anchor)
        lead_rows.append(lead)
        call_rows.append(calls)
    Lead.objects.bulk_create(lead_rows, batch_size=2000)
    referrals, entries, all_calls, follow_ups = [], [], [], []
    for lead, calls in zip(lead_rows, call_rows, strict=True):
        for call in calls:
            call.lead = lead
        all_calls.extend(calls)
        entries.append(
            TimelineEntry(
                lead=lead,
                kind=TimelineEntry.Kind.IMPORTED if lead.event_id else TimelineEntry.Kind.CREATED,
                at=lead.created_at,
                summary=f"Imported from {lead.event.name}" if lead.event_id else "Lead created",
            )
        )
        if lead.connection_type == ConnectionType.REFERRAL:
            referrals.append(
                Referral(
                    source=rng.choice(sources),
                    lead=lead,
                    referred_on=lead.created_at.date(),
                    created_at=lead.created_at,
                )
            )
        last_call = calls[-1] if calls else None
        if last_call is not None and last_call.outcome == Outcome.CALL_BACK and not lead.do_not_call:
            follow_ups.append(
                FollowUp(
                    lead=lead,
                    owner=lead.owner,
                    due_at=datetime.combine(last_call.call_back_on, datetime.min.time(), tzinfo=anchor.tzinfo)
                    + timedelta(hours=settings.CALL_BACK_HOUR),
                    reason=FollowUp.Reason.CALL_BACK,
                    created_by=lead.owner,
                    created_at=last_call.called_at,
                )
            )
    Call.objects.bulk_create(all_calls, batch_size=5000)
    Referral.objects.bulk_create(referrals, batch_size=5000)
    TimelineEntry.objects.bulk_create(entries, batch_size=5000)
    FollowUp.objects.bulk_create(follow_ups, batch_size=5000)
    report.leads += len(lead_rows)
    report.calls += len(all_calls)
    report.referrals += len(referrals)


def _call_times(rng: random.Random, lead: Lead, anchor: datetime) -> Iterator[datetime]:
    start = max(lead.created_at, anchor - timedelta(days=90))
    span = int((anchor - start).total_seconds())
    if span <= 3600:
        return iter(())
    count = min(rng.choice([0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6]), max(1, span // 86400))
    return iter(sorted(start + timedelta(seconds=rng.randint(3600, span)) for _ in range(count)))


def _calls_for(rng: random.Random, lead: Lead, anchor: datetime) -> list[Call]:
    calls = []
    history = outcomes.CallHistory(None, None, 0, None, None, None)
    stage = Stage.NEW
    for called_at in _call_times(rng, lead, anchor):
        outcome = _weighted(rng, OUTCOME_MIX)
        call_back_on = (anchor + timedelta(days=rng.randint(1, 60))).date() if outcome == Outcome.CALL_BACK else None
        calls.append(
            Call(
                rep=lead.owner,
                outcome=outcome,
                called_at=called_at,
                created_at=called_at,
                call_back_on=call_back_on,
                duration_seconds=0 if outcome in outcomes.UNANSWERED else rng.randint(30, 900),
            )
        )
        history = outcomes.history_after_call(history, outcome=outcome, called_at=called_at)
        stage = outcomes.stage_after_call(stage, outcome=outcome)
    if stage == Stage.APPOINTMENT_SET:
        stage = rng.choice([Stage.APPOINTMENT_SET, Stage.QUALIFIED, Stage.WON, Stage.WON, Stage.LOST])
    elif history.not_interested_at and rng.random() < 0.5:
        stage = Stage.LOST
    lead.stage = stage
    lead.lost_reason = "Not interested" if stage == Stage.LOST else ""
    for name in outcomes.CallHistory.__dataclass_fields__:
        setattr(lead, name, getattr(history, name))
    for name, counted in FIRST_CALL_FIELDS.items():  # the calls are in time order
        setattr(lead, name, next((c.called_at for c in calls if counted is None or c.outcome in counted), None))
    return calls
