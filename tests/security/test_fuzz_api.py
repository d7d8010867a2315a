"""Every writable API field fuzzed with hostile JSON: never a 500, a 400 names the field in words and writes
nothing, an accepted value is stored exactly (trimmed) and shown escaped on the lead page.

tests/api/test_schema.py has schemathesis check the API against its schema; this adds the hostile text the
schema cannot describe (NUL, RTL marks, astral characters, markup, SQL) and bodies that are not JSON at all.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from calls.models import Call
from leads.models import Event, FollowUp, Lead, TimelineEntry
from referrals.models import Referral, ReferralSource
from tests.factories import EventFactory, FollowUpFactory, LeadFactory, ReferralSourceFactory
from tests.security.strategies import any_char, has_markup, hostile, hostile_id, some_of, technical_messages
from warmcrm.api.models import ApiToken, InboundRequest
from warmcrm.api.services import api_token_create, calendar_feed_token_create

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Where a string belongs, a client may send anything JSON has.
json_value = st.one_of(
    hostile(),
    hostile(),
    hostile_id(),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.text(any_char, max_size=3), max_size=2),
    st.dictionaries(st.text(any_char, max_size=3), st.text(any_char, max_size=3), max_size=2),
)


def fields_of(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return some_of(names, json_value)


@pytest.fixture(autouse=True)
def _no_rate_limit(settings) -> None:
    settings.API_RATE_LIMIT = "1000000/min"
    cache.clear()


def api_for(user: Any, kind: str = ApiToken.Kind.PERSONAL) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, name='fuzz', kind=kind)[1]}")
    return client


@pytest.fixture
def rep_api(rep) -> APIClient:
    return api_for(rep)


@pytest.fixture
def manager_api(manager) -> APIClient:
    return api_for(manager)


def counts() -> dict[str, int]:
    models = (Lead, Call, FollowUp, TimelineEntry, Referral, ReferralSource, Event, InboundRequest)
    return {model.__name__: model.objects.count() for model in models}


def row(model: Any, pk: int) -> dict[str, Any]:
    fresh = model.objects.get(pk=pk)
    return {f.name: getattr(fresh, f.attname) for f in model._meta.concrete_fields if f.name != "updated_at"}


def send(client: APIClient, method: str, url: str, body: Any, names: tuple[str, ...] = ()) -> Any:
    """A JSON request that must not fail: below 500, and a 400 in the API's error shape with human words
    whose field errors name the endpoint's fields (`names`) or what the body sent."""
    response = getattr(client, method)(url, body, format="json")
    assert response.status_code < 500
    if response.status_code == 400:
        error = response.json()["error"]
        messages = [error["message"], *(m for messages in error["fields"].values() for m in messages)]
        assert technical_messages(messages) == [], error
        if isinstance(body, dict):  # a field error names a field the request could send
            assert {name.split(".")[0] for name in error["fields"]} <= {*body, *names}, error
    return response


def trimmed(body: dict[str, Any], name: str) -> str | None:
    """What a sent text field is stored as: DRF trims strings and takes numbers as their text; None otherwise."""
    value = body.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else None


def lead_page_escapes(user: Any, lead_id: int, *values: str | None) -> None:
    client = Client()
    client.force_login(user)
    response = client.get(f"/leads/{lead_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert has_markup(html) == []
    for value in values:
        if value:
            assert escape(value) in html, value


LEAD_TEXT = ("first_name", "last_name", "title", "company", "email", "phone", "research_notes", "lost_reason")
LEAD_OTHER = ("stage", "connection_type", "event", "owner", "do_not_call")


@FUZZ
@given(changes=fields_of(LEAD_TEXT + LEAD_OTHER))
def test_create_a_lead(rep_api, rep, changes):
    body = {"first_name": "Ana", "email": "ana@example.com", **changes}
    before = counts()
    response = send(rep_api, "post", "/api/v1/leads/", body, LEAD_TEXT + LEAD_OTHER)
    if response.status_code == 201:
        lead = Lead.objects.get(pk=response.json()["id"])
        for name in ("first_name", "last_name", "title", "company", "phone", "research_notes"):
            if trimmed(body, name) is not None:
                assert getattr(lead, name) == trimmed(body, name), name
        lead_page_escapes(rep, lead.pk, lead.first_name, lead.last_name, lead.title, lead.company)
    else:
        assert response.status_code == 400
        assert counts() == before


@FUZZ
@given(changes=fields_of(LEAD_TEXT + LEAD_OTHER), method=st.sampled_from(["patch", "put"]))
def test_change_a_lead(rep_api, rep, lead, changes, method):
    before, original = counts(), row(Lead, lead.pk)
    body = {"first_name": "Ana", **changes} if method == "put" else changes
    response = send(rep_api, method, f"/api/v1/leads/{lead.pk}/", body, LEAD_TEXT + LEAD_OTHER)
    if response.status_code == 200:
        fresh = Lead.objects.get(pk=lead.pk)
        for name in ("first_name", "last_name", "title", "company", "phone", "research_notes"):
            if trimmed(body, name) is not None:
                assert getattr(fresh, name) == trimmed(body, name), name
        lead_page_escapes(rep, lead.pk, fresh.title, fresh.company, fresh.phone)
    else:
        assert response.status_code in (400, 404)
        assert counts() == before and row(Lead, lead.pk) == original


CALL_FIELDS = ("outcome", "notes", "called_at", "duration_seconds", "call_back_on", "appointment_at", "direction")


@FUZZ
@given(
    changes=fields_of(CALL_FIELDS),
    outcome=st.sampled_from(["no_answer", "connected_other", "appointment_set", "call_back"]),
)
def test_log_a_call(rep_api, rep, lead, changes, outcome):
    before, original = counts(), row(Lead, lead.pk)
    body = {"outcome": outcome, **changes}
    response = send(rep_api, "post", f"/api/v1/leads/{lead.pk}/calls/", body, CALL_FIELDS)
    if response.status_code == 201:
        call = Call.objects.get(pk=response.json()["id"])
        if trimmed(body, "notes") is not None:
            assert call.notes == trimmed(body, "notes")
        lead_page_escapes(rep, lead.pk, call.notes)
        secret = calendar_feed_token_create(user=rep)[1]  # whatever dates were accepted, the feed shows them
        assert Client().get(f"/api/calendar/{secret}.ics").status_code == 200
    else:
        assert response.status_code == 400
        assert counts() == before and row(Lead, lead.pk) == original


@FUZZ
@given(complete=fields_of(("note",)), snooze=fields_of(("until", "reason")))
def test_complete_and_snooze_a_follow_up(rep_api, rep, complete, snooze):
    follow_up = FollowUpFactory(lead=LeadFactory(owner=rep), owner=rep)
    original = row(FollowUp, follow_up.pk)
    response = send(rep_api, "post", f"/api/v1/follow-ups/{follow_up.pk}/snooze/", snooze, ("until", "reason"))
    if response.status_code != 200:
        assert row(FollowUp, follow_up.pk) == original
    else:
        assert FollowUp.objects.get(pk=follow_up.pk).status_note == trimmed(snooze, "reason")
    snoozed = row(FollowUp, follow_up.pk)
    response = send(rep_api, "post", f"/api/v1/follow-ups/{follow_up.pk}/complete/", complete)
    if response.status_code == 200:
        done = FollowUp.objects.get(pk=follow_up.pk)
        assert done.status == "done" and done.status_note == (trimmed(complete, "note") or "")
    else:
        assert row(FollowUp, follow_up.pk) == snoozed


@FUZZ
@given(changes=fields_of(("name", "date", "place")))
def test_create_and_change_an_event(manager_api, changes):
    before = counts()
    response = send(manager_api, "post", "/api/v1/events/", {"name": "Expo", **changes}, ("name", "date", "place"))
    if response.status_code == 201:
        event = Event.objects.get(pk=response.json()["id"])
        assert event.name == (trimmed(changes, "name") if "name" in changes else "Expo")
    else:
        assert counts() == before
    event = EventFactory()
    original = row(Event, event.pk)
    if send(manager_api, "patch", f"/api/v1/events/{event.pk}/", changes, ("name", "date")).status_code != 200:
        assert row(Event, event.pk) == original


SOURCE_FIELDS = ("name", "kind", "organisation", "email", "phone", "lead", "notes")


@FUZZ
@given(changes=fields_of(SOURCE_FIELDS))
def test_create_and_change_a_referral_source(rep_api, changes):
    before = counts()
    response = send(rep_api, "post", "/api/v1/referral-sources/", {"name": "Carla", **changes}, SOURCE_FIELDS)
    if response.status_code == 201:
        source = ReferralSource.objects.get(pk=response.json()["id"])
        for name in ("organisation", "phone", "notes"):
            if trimmed(changes, name) is not None:
                assert getattr(source, name) == trimmed(changes, name), name
    else:
        assert counts() == before
    source = ReferralSourceFactory()
    original = row(ReferralSource, source.pk)
    if send(rep_api, "patch", f"/api/v1/referral-sources/{source.pk}/", changes, SOURCE_FIELDS).status_code != 200:
        assert row(ReferralSource, source.pk) == original


@FUZZ
@given(changes=fields_of(("source", "lead", "referred_on", "note")))
def test_record_a_referral(rep_api, rep, changes):
    lead, source = LeadFactory(owner=rep, connection_type="cold"), ReferralSourceFactory()
    before, original = counts(), row(Lead, lead.pk)
    body = {"source": source.pk, "lead": lead.pk, **changes}
    response = send(rep_api, "post", "/api/v1/referrals/", body, ("source", "lead"))
    if response.status_code == 201:
        referral = Referral.objects.get(pk=response.json()["id"])
        if trimmed(changes, "note") is not None:
            assert referral.note == trimmed(changes, "note")
    else:
        assert counts() == before and row(Lead, lead.pk) == original


INBOUND_FIELDS = ("first_name", "last_name", "title", "company", "email", "phone", "message", "page")


@FUZZ
@given(changes=fields_of(INBOUND_FIELDS))
def test_inbound_website_form(admin_user, rep, changes):
    api = api_for(admin_user, kind=ApiToken.Kind.INBOUND)
    body = {"first_name": "Ana", "email": "web@example.com", **changes}
    before = counts()
    response = send(api, "post", "/api/v1/inbound/", body, INBOUND_FIELDS)
    if response.status_code in (200, 201):
        lead = Lead.objects.get(pk=response.json()["lead"])
        lead_page_escapes(admin_user, lead.pk, lead.first_name, lead.company)
    else:
        assert response.status_code == 400
        assert counts() == before


API_FILTERS = ("q", "stage", "band", "connection", "owner", "event", "status", "page", "page_size", "lead")


@FUZZ
@given(
    query=some_of(API_FILTERS, hostile_id()),
    url=st.sampled_from(["/api/v1/leads/", "/api/v1/calls/", "/api/v1/follow-ups/", "/api/v1/referral-sources/"]),
)
def test_list_filters(rep_api, lead, query, url):
    response = rep_api.get(url, query)
    assert response.status_code in (200, 400, 404), response.content
    if response.status_code == 400:
        assert technical_messages([response.json()["error"]["message"]]) == []


not_json = st.one_of(
    st.binary(max_size=300),
    st.text(any_char, max_size=200).map(str.encode),
    st.integers(min_value=1, max_value=200_000).map(lambda depth: b"[" * depth),
    st.integers(min_value=1, max_value=100_000).map(lambda depth: b'{"a":' * depth),
    st.sampled_from([b"", b"null", b"[]", b'"x"', b"1e999999", b'{"first_name": "\\ud800"}', b'{"a": NaN}']),
)


@FUZZ
@given(body=not_json, content_type=st.sampled_from(["application/json", "text/plain", "multipart/form-data"]))
def test_bodies_that_are_not_a_json_object(rep_api, rep, lead, body, content_type):
    before = counts()
    for url in ("/api/v1/leads/", f"/api/v1/leads/{lead.pk}/calls/", "/api/v1/referral-sources/"):
        response = rep_api.generic("POST", url, body, content_type=content_type)
        assert response.status_code in (400, 415), (url, response.content)
        assert technical_messages([response.json()["error"]["message"]]) == []
    assert counts() == before


def test_json_nested_too_deeply_is_a_400_not_a_500(rep_api):
    """json.loads recursed past Python's limit and DRF let the RecursionError through as a 500."""
    response = rep_api.generic("POST", "/api/v1/leads/", "[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "JSON parse error - the request body is nested too deeply."
    assert not Lead.objects.exists()


def test_a_nul_in_the_referrer_search_is_a_400_naming_q(rep_api):
    """The search went straight into an icontains filter: PostgreSQL refused the NUL and the API answered 500."""
    ReferralSourceFactory(name="Carla Diaz")
    response = rep_api.get("/api/v1/referral-sources/", {"q": "Carla\x00"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"q": ["Null characters are not allowed."]}
    found = rep_api.get("/api/v1/referral-sources/", {"q": " diaz "}).json()["results"]
    assert [source["name"] for source in found] == ["Carla Diaz"]


def test_markup_sent_through_the_api_is_escaped_on_the_lead_page(rep_api, rep):
    body = {"first_name": "<script>alert(1337)</script>", "company": '" onmouseover="alert(1337)', "phone": ""}
    response = send(rep_api, "post", "/api/v1/leads/", {**body, "email": "x@example.com"})
    assert response.status_code == 201
    assert response.json()["first_name"] == body["first_name"]  # JSON carries it as data, exactly
    lead_page_escapes(rep, response.json()["id"], body["first_name"], body["company"])
    assert json.loads(response.content)["company"] == body["company"]


def test_a_follow_up_snoozed_to_year_9999_is_refused(rep_api, rep, lead):
    """The snooze took any future time; the calendar feed then overflowed adding the call's 15 minutes."""
    follow_up = FollowUpFactory(lead=lead, owner=rep)
    body = {"until": "9999-12-31T23:50:00Z", "reason": "later"}
    response = send(rep_api, "post", f"/api/v1/follow-ups/{follow_up.pk}/snooze/", body)
    assert response.json()["error"]["fields"] == {"until": ["Snooze until a time within the next 5 years."]}
    assert FollowUp.objects.get(pk=follow_up.pk).snoozed_count == 0
