"""Every HTML form fuzzed with hostile text: never a 500, a rejected post writes nothing and says why next to
the field, an accepted one is stored exactly and shown escaped on the page that displays it.

The test client re-raises any exception a view lets through (raise_request_exception), so a bug that would
be a 500 fails the example with its traceback.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from calls.forms import OUTCOME_ORDER
from calls.models import Call
from leads.models import ConnectionType, Event, FollowUp, Lead, Stage, TimelineEntry
from referrals.models import Referral, ReferralSource
from tests.factories import EventFactory, LeadFactory
from tests.security.strategies import (
    FAR_DATES,
    NUL,
    fragment,
    has_markup,
    hostile,
    hostile_id,
    some_of,
    technical_messages,
)
from warmcrm.api.models import ApiToken
from warmcrm.api.services import calendar_feed_token_create
from warmcrm.hygiene.models import DuplicatePair, LostReason
from warmcrm.hygiene.services import MERGE_FIELDS

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

LEAD_TEXT = ("first_name", "last_name", "title", "company", "email", "phone", "research_notes")
VALID_LEAD = {
    "first_name": "Ana",
    "last_name": "Costa",
    "title": "CTO",
    "company": "Acme",
    "email": "ana.costa@example.com",
    "phone": "(415) 555-0199",
    "connection_type": ConnectionType.EVENT_ASKED,
    "event": "",
    "research_notes": "",
}
# What a form does to text before storing it; the email is also lowercased by the model.
STORED = {"email": lambda text: text.strip().lower()}


def stored_form(name: str, value: str) -> str:
    return STORED.get(name, str.strip)(value)


def lead_fields(overrides: st.SearchStrategy[dict[str, str]]) -> st.SearchStrategy[dict[str, str]]:
    return overrides.map(lambda changes: {**VALID_LEAD, **changes})


hostile_lead = lead_fields(
    st.fixed_dictionaries(
        {},
        optional={
            **{name: hostile() for name in LEAD_TEXT},
            "connection_type": hostile_id(),
            "event": hostile_id(),
        },
    )
)


def counts() -> dict[str, int]:
    models = (Lead, Call, FollowUp, TimelineEntry, Referral, ReferralSource, Event, ApiToken, DuplicatePair)
    return {model.__name__: model.objects.count() for model in models}


def snapshot(lead: Lead) -> dict[str, Any]:
    fresh = Lead.objects.get(pk=lead.pk)
    return {f.name: getattr(fresh, f.attname) for f in Lead._meta.concrete_fields if f.name != "updated_at"}


def page(client: Client, method: str, url: str, data: dict[str, Any] | None = None, **extra: Any) -> Any:
    """A request that must not fail: below 500 and no raw markup in the page."""
    response = getattr(client, method)(url, data or {}, **extra)
    assert response.status_code < 500
    if response.get("Content-Type", "").startswith("text/html"):
        html = response.content.decode()
        assert has_markup(html) == [], html
    return response


def form_errors(response: Any, key: str = "form") -> dict[str, list[str]]:
    if response.context is None or key not in response.context:  # an htmx partial records no context: read it
        shown = re.findall(r'class="(?:field-)?error"[^>]*>([^<]*)<', response.content.decode())
        assert shown and technical_messages([unescape(message) for message in shown]) == [], shown
        return {"page": shown}
    form = response.context[key]
    errors = {name: list(messages) for name, messages in form.errors.items()}
    assert errors, "a rejected post says why"
    assert set(errors) <= {*form.fields, "__all__"}, errors
    assert technical_messages([m for messages in errors.values() for m in messages]) == []
    return errors


def flash(client: Client, response: Any) -> list[str]:
    """The messages a redirect carries; following it shows (and so uses up) them, escaped."""
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    page(client, "get", response.url)
    return messages


def shown_escaped(client: Client, url: str, *values: str) -> None:
    """The page that shows the values renders them escaped (a value stripped to "" shows nothing to find)."""
    html = page(client, "get", url).content.decode()
    for value in values:
        if value.strip():
            assert escape(value.strip()) in html, value


# --- Leads ---------------------------------------------------------------------------------------------


@FUZZ
@given(data=hostile_lead, htmx=st.booleans())
def test_new_lead_form(rep_client, data, htmx):
    before = counts()
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = page(rep_client, "post", "/leads/new/", data, **extra)
    if response.status_code == 302:
        lead = Lead.objects.order_by("-pk").first()
        for name in LEAD_TEXT:
            assert getattr(lead, name) == stored_form(name, data[name]), name
        shown_escaped(rep_client, f"/leads/{lead.pk}/", lead.first_name, lead.last_name, lead.company, lead.phone)
    else:
        assert response.status_code == 200
        form_errors(response)
        assert counts() == before


@FUZZ
@given(data=hostile_lead)
def test_contact_details_form(rep_client, lead, data):
    before, original = counts(), snapshot(lead)
    response = page(rep_client, "post", f"/leads/{lead.pk}/edit/", data)
    if response.status_code == 302:
        fresh = Lead.objects.get(pk=lead.pk)
        for name in LEAD_TEXT:
            assert getattr(fresh, name) == stored_form(name, data[name]), name
        shown_escaped(rep_client, f"/leads/{lead.pk}/", fresh.title, fresh.company, fresh.email, fresh.phone)
    else:
        form_errors(response)
        assert counts() == before and snapshot(lead) == original


@FUZZ
@given(notes=hostile(), htmx=st.booleans())
def test_notes_form(rep_client, lead, notes, htmx):
    Lead.objects.filter(pk=lead.pk).update(research_notes="before")
    original = snapshot(lead)
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = page(rep_client, "post", f"/leads/{lead.pk}/notes/", {"research_notes": notes}, **extra)
    if Lead.objects.get(pk=lead.pk).research_notes == notes.strip():
        shown_escaped(rep_client, f"/leads/{lead.pk}/", notes)
    else:
        assert set(form_errors(response, "notes_form")) <= {"research_notes", "page"}
        assert snapshot(lead) == original


@FUZZ
@given(stage=st.one_of(st.sampled_from(Stage.values), hostile_id()), reason=hostile(), back=hostile_id())
def test_stage_form(manager_client, lead, stage, reason, back):
    LostReason.objects.get_or_create(name="Chose a competitor")
    before, original = counts(), snapshot(lead)
    response = page(manager_client, "post", f"/leads/{lead.pk}/stage/", {"stage": stage, "lost_reason": reason})
    fresh = Lead.objects.get(pk=lead.pk)
    if response.status_code == 302:
        assert fresh.stage == stage
        assert fresh.lost_reason == (reason.strip() if stage == Stage.LOST else "")
    else:
        form_errors(response)
        assert counts() == before and snapshot(lead) == original


@FUZZ
@given(owner=hostile_id(), lead_ids=st.lists(hostile_id(), max_size=3), back=hostile())
def test_owner_and_reassign_forms(manager_client, lead, owner, lead_ids, back):
    before, original = counts(), snapshot(lead)
    response = page(manager_client, "post", f"/leads/{lead.pk}/owner/", {"owner": owner})
    if response.status_code == 302:  # the text was a user's id after all ("1", " 2 ")
        assert Lead.objects.get(pk=lead.pk).owner_id == int(owner)
        return
    form_errors(response, "owner_form")
    response = page(manager_client, "post", "/leads/reassign/", {"owner": owner, "lead": lead_ids, "next": back})
    assert response.status_code == 302 and response.url.startswith("/leads/")  # never off-site
    messages = flash(manager_client, response)
    assert messages and technical_messages(messages) == []
    assert counts() == before and snapshot(lead) == original


@FUZZ
@given(value=hostile_id())
def test_do_not_call_form(rep_client, lead, value):
    response = page(rep_client, "post", f"/leads/{lead.pk}/do-not-call/", {"do_not_call": value})
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).do_not_call is (value.lower() not in ("", "false"))


# --- Calls and referrals ---------------------------------------------------------------------------------


def calendar_secret(user: Any) -> str:
    return calendar_feed_token_create(user=user)[1]


future_day = st.integers(min_value=1, max_value=60).map(
    lambda days: (timezone.localdate() + timedelta(days)).isoformat()
)
future_time = st.integers(min_value=1, max_value=60).map(
    lambda days: (timezone.localtime() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")
)


@FUZZ
@given(
    outcome=st.one_of(st.sampled_from([o.value for o in OUTCOME_ORDER]), hostile_id()),
    notes=hostile(),
    call_back_on=st.one_of(st.just(""), future_day, hostile_id(), st.sampled_from(FAR_DATES)),
    appointment_at=st.one_of(st.just(""), future_time, hostile_id(), st.sampled_from(FAR_DATES)),
    htmx=st.booleans(),
)
def test_call_form(rep_client, rep, lead, outcome, notes, call_back_on, appointment_at, htmx):
    before, original = counts(), snapshot(lead)
    data = {"outcome": outcome, "notes": notes, "call_back_on": call_back_on, "appointment_at": appointment_at}
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = page(rep_client, "post", f"/calls/log/{lead.pk}/?back=today", data, **extra)
    note(f"{data!r} -> {response.status_code} {response.get('Location')}")
    if Call.objects.count() > before["Call"]:
        call = Call.objects.latest("pk")
        assert (call.outcome, call.notes) == (outcome, notes.strip())
        assert response.status_code in (200, 302)
        shown_escaped(rep_client, f"/leads/{lead.pk}/", notes)
        assert page(rep_client, "get", f"/api/calendar/{calendar_secret(rep)}.ics").status_code == 200
    else:
        form_errors(response)
        assert counts() == before and snapshot(lead) == original


REFERRAL_TEXT = ("first_name", "last_name", "company", "title", "phone", "email", "note")


@FUZZ
@given(
    data=some_of(REFERRAL_TEXT, hostile()).map(
        lambda changes: {"first_name": "Bea", "email": "bea@example.com", **changes}
    )
)
def test_referral_ask_form(rep_client, lead, data):
    before, original = counts(), snapshot(lead)
    response = page(rep_client, "post", f"/referrals/ask/{lead.pk}/", data)
    if Referral.objects.count() > before["Referral"]:
        referral = Referral.objects.select_related("lead").latest("pk")
        assert referral.note == data.get("note", "").strip()
        for name in REFERRAL_TEXT[:-1]:
            assert getattr(referral.lead, name) == stored_form(name, data.get(name, "")), name
        shown_escaped(rep_client, f"/leads/{referral.lead_id}/", referral.lead.company, referral.lead.title)
        shown_escaped(rep_client, f"/referrals/{referral.source_id}/", str(referral.lead))
    else:
        form_errors(response)
        assert counts() == before and snapshot(lead) == original


# --- Hygiene, profile, API tokens -----------------------------------------------------------------------


@FUZZ
@given(until=st.one_of(future_day, hostile_id()), reason=hostile())
def test_stale_snooze_form(rep_client, lead, until, reason):
    before, original = counts(), snapshot(lead)
    response = page(rep_client, "post", f"/hygiene/leads/{lead.pk}/snooze/", {"until": until, "reason": reason})
    assert response.status_code == 302
    messages = flash(rep_client, response)
    assert messages and technical_messages(messages) == []
    if not messages[0].startswith("Snooze not saved: "):
        assert Lead.objects.get(pk=lead.pk).stale_snooze_reason == reason.strip()
        shown_escaped(rep_client, f"/leads/{lead.pk}/", reason)
    else:
        assert all(message.startswith("Snooze not saved: ") for message in messages), messages
        assert counts() == before and snapshot(lead) == original


@FUZZ
@given(survivor=hostile_id(), pick=hostile_id())
def test_merge_form(manager_client, rep, survivor, pick):
    a = LeadFactory(owner=rep, email="twin@example.com", company="Acme")
    b = LeadFactory(owner=rep, email="twin@example.com", company="Acme Inc")
    pair = DuplicatePair.objects.create(lead_a=a, lead_b=b, score=100, reasons=["email"])
    before = counts()
    response = page(
        manager_client, "post", f"/hygiene/duplicates/{pair.pk}/merge/", {"survivor": survivor, "pick_company": pick}
    )
    assert response.status_code == 200
    form_errors(response)
    assert counts() == before and Lead.objects.filter(pk__in=[a.pk, b.pk]).count() == 2


@FUZZ
@given(
    time_zone=st.one_of(st.sampled_from(["Europe/Berlin", "America/New_York"]), hostile_id()),
    digest_hour=st.one_of(st.just("8"), hostile_id()),
    working_days=st.lists(st.one_of(st.sampled_from(["0", "1", "4"]), hostile_id()), max_size=3),
)
def test_profile_form(rep_client, rep, time_zone, digest_hour, working_days):
    from warmcrm.accounts.models import Profile

    def state() -> Any:
        return list(Profile.objects.filter(user=rep).values_list("time_zone", "digest_hour", "working_days"))

    original = state()
    response = page(
        rep_client,
        "post",
        "/me/settings/",
        {"time_zone": time_zone, "digest_hour": digest_hour, "working_days": working_days},
    )
    if response.status_code == 302:
        saved = Profile.objects.get(user=rep)
        assert (str(saved.time_zone), saved.digest_hour) == (time_zone, int(digest_hour))
    else:
        form_errors(response)
        assert state() == original


@FUZZ
@given(name=hostile(), kind=st.one_of(st.just("personal"), hostile_id()))
def test_api_token_form(rep_client, rep, name, kind):
    before = ApiToken.objects.count()
    response = page(rep_client, "post", "/api/profile/tokens/", {"name": name, "kind": kind})
    if ApiToken.objects.count() > before:
        token = ApiToken.objects.latest("pk")
        assert token.name == name.strip() and token.kind == "personal"
        shown_escaped(rep_client, "/api/profile/", token.name)
    else:
        assert response.status_code == 400
        form_errors(response)


# --- Searches and filters (GET forms) and the login form -------------------------------------------------

FILTERS = ("q", "stage", "band", "connection", "event", "referrer", "owner", "follow_up", "sort", "page")


@FUZZ
@given(
    query=some_of(FILTERS, hostile_id()),
    htmx=st.booleans(),
)
def test_search_and_filter_forms(manager_client, lead, query, htmx):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    assert page(manager_client, "get", "/leads/", query, **extra).status_code == 200
    assert page(manager_client, "get", "/referrals/", {"q": query.get("q", ""), "page": query.get("page", "")})
    dashboard = {"period": query.get("sort", ""), "owner": query.get("owner", ""), "event": query.get("event", "")}
    assert page(manager_client, "get", "/dashboard/", dashboard).status_code in (200, 400)
    assert page(manager_client, "get", "/leads/board/", {"back": query.get("q", "")}).status_code == 200
    assert page(manager_client, "get", f"/leads/{lead.pk}/stage/", {"stage": query.get("stage", "")}).status_code == 200


@FUZZ
@given(username=hostile(), password=hostile())
def test_login_form(client, settings, rep, username, password):
    settings.AXES_ENABLED = False  # the throttle has its own tests; here every attempt reaches the form
    response = page(client, "post", "/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 200  # no hostile text is a user's password
    form_errors(response)
    assert "_auth_user_id" not in client.session


def test_an_accepted_name_with_markup_is_shown_escaped_everywhere_it_appears(rep_client, rep):
    """The pages that list leads (Today, list, board) escape a name made of markup, not just the lead page."""
    name = "<script>alert(1337)</script>"
    lead = LeadFactory(owner=rep, first_name=name, last_name='" onmouseover="alert(1337)', company="<b>x</b>")
    FollowUp.objects.create(lead=lead, owner=rep, due_at=timezone.now(), reason=FollowUp.Reason.MANUAL)
    for url in ("/leads/", "/leads/today/", "/leads/board/", f"/leads/{lead.pk}/", f"/calls/log/{lead.pk}/"):
        html = page(rep_client, "get", url).content.decode()
        assert escape(name) in html, url


def test_an_event_name_with_markup_is_escaped_on_the_lead_page(rep_client, rep):
    event = EventFactory(name="<img src=x onerror=alert(1337)>")
    lead = LeadFactory(owner=rep, event=event)
    assert escape(event.name) in page(rep_client, "get", f"/leads/{lead.pk}/").content.decode()


# --- Stored hostile data: a lead at every length limit, through every page and action -------------------

# Stored data is data a form accepted, so no NUL (every form refuses it).
limit_text = st.builds(
    lambda unit, tail: (unit * 300 + tail)[-300:],
    st.sampled_from(["😀", "\u202e", "<b>", "%_", "x", "é"]),
    fragment.filter(lambda text: NUL not in text),
)


@settings(FUZZ, max_examples=5)
@given(text=limit_text)
def test_a_lead_at_every_limit_works_on_every_page(rep_client, manager_client, rep, manager, text):
    """Names, company and title filled to their column's limit with hostile characters, valid as stored."""
    def at_limit(name: str) -> str:
        return text[: Lead._meta.get_field(name).max_length].strip() or "x"

    fields = {name: at_limit(name) for name in ("first_name", "last_name", "title", "company")}
    lead = LeadFactory(owner=rep, research_notes=text, **fields)
    FollowUp.objects.create(lead=lead, owner=rep, due_at=timezone.now(), reason=FollowUp.Reason.MANUAL)
    twin = LeadFactory(owner=rep, email=lead.email, **fields)
    pair = DuplicatePair.objects.create(lead_a=lead, lead_b=twin, score=100, reasons=["email"])
    urls = ["/leads/", "/leads/today/", "/leads/board/", f"/leads/{lead.pk}/", f"/leads/{lead.pk}/edit/"]
    urls += [f"/calls/log/{lead.pk}/", f"/referrals/ask/{lead.pk}/", "/referrals/"]
    for url in urls:
        assert page(rep_client, "get", url).status_code == 200, url
    for url in ("/hygiene/duplicates/", f"/hygiene/duplicates/{pair.pk}/merge/", "/dashboard/", "/hygiene/slipping/"):
        assert page(manager_client, "get", url).status_code == 200, url
    assert manager_client.get("/dashboard/export/events.csv").status_code in (200, 404)

    # The lead refers someone: it becomes a referrer under its own (long) name.
    response = page(rep_client, "post", f"/referrals/ask/{lead.pk}/", {"first_name": "Bea", "email": "b@example.com"})
    assert response.status_code == 302, form_errors(response)
    source = ReferralSource.objects.get(lead=lead)
    assert source.name == lead.full_name[: ReferralSource._meta.get_field("name").max_length]
    shown_escaped(rep_client, f"/referrals/{source.pk}/", source.name)
    # Edited through its own form, unchanged, it saves; then it is merged with its twin.
    data = {**{name: getattr(lead, name) for name in LEAD_TEXT}, "connection_type": lead.connection_type, "event": ""}
    assert page(rep_client, "post", f"/leads/{lead.pk}/edit/", data).status_code == 302
    picks = {f"pick_{name}": lead.pk for name in MERGE_FIELDS}
    response = page(manager_client, "post", f"/hygiene/duplicates/{pair.pk}/merge/", {"survivor": lead.pk, **picks})
    assert response.status_code == 302 and not Lead.objects.filter(pk=twin.pk).exists()
    response = page(manager_client, "post", f"/leads/{lead.pk}/stage/", {"stage": "won"})
    assert response.status_code == 302


def test_a_lead_with_two_full_length_names_can_refer_someone(rep_client, rep):
    """100 + space + 100 characters is one past the referrer's name column: asking for a referral was refused."""
    lead = LeadFactory(owner=rep, first_name="A" * 100, last_name="B" * 100)
    response = page(rep_client, "post", f"/referrals/ask/{lead.pk}/", {"first_name": "Bea", "email": "b@example.com"})
    assert response.status_code == 302
    assert ReferralSource.objects.get(lead=lead).name == "A" * 100 + " " + "B" * 99
    assert Referral.objects.get().lead.first_name == "Bea"


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"outcome": "appointment_set", "appointment_at": "9999-12-31T23:59"},
            {"appointment_at": ["Pick an appointment within the next 5 years."]},
        ),
        (
            {"outcome": "call_back", "call_back_on": "9999-12-31"},
            {"call_back_on": ["Pick a call-back date within the next 5 years."]},
        ),
    ],
)
def test_a_booking_in_year_9999_is_refused_and_the_calendar_feed_keeps_working(rep_client, rep, lead, data, errors):
    """Year 9999 passed the date fields; the feed then added the event's length to it and overflowed (a 500)."""
    response = page(rep_client, "post", f"/calls/log/{lead.pk}/", data)
    assert form_errors(response) == errors
    assert not Call.objects.exists()
    assert page(rep_client, "get", f"/api/calendar/{calendar_secret(rep)}.ics").status_code == 200


def test_an_id_past_64_bits_in_the_reassign_form_is_an_invalid_choice(manager_client, rep, lead):
    """Django's ModelMultipleChoiceField caught a bad id's ValueError, not SQLite's OverflowError (a 500)."""
    original = snapshot(lead)
    response = page(manager_client, "post", "/leads/reassign/", {"owner": rep.pk, "lead": [str(2**70), lead.pk]})
    assert flash(manager_client, response) == [
        "One of the selected leads no longer exists; reload the list and try again."
    ]
    assert snapshot(lead) == original
