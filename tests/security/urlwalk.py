"""Every URL pattern of the URL conf, filled with real ids from a small data set, and a client per role.

The permission matrix and the header/CSP scan both walk what `get_resolver()` holds, so a new view is
checked the day it is added.
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from leads.models import Lead
from tests.factories import (
    CallFactory,
    EventFactory,
    FollowUpFactory,
    LeadFactory,
    ReferralFactory,
    ReferralSourceFactory,
    UserFactory,
)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
ROLES = ("anonymous", "rep", "other_rep", "manager", "admin")
OWN_LEAD_MARK = "Quillfeather"  # the last name of every lead of `rep`: no page of anyone else's may show it


def request(client: Client, method: str, path: str, *, htmx: bool = False) -> HttpResponse:
    """`method` on `path` with an empty body (JSON for the API), rolled back so the walk leaves the data as it was.

    The client's cookies are restored too, so a logout (or a new session) does not change the next request.
    `htmx` sends it as htmx does, which makes most pages answer with their partial.
    """
    cookies = copy.deepcopy(client.cookies)
    api = path.startswith("/api/v1/")
    headers = {"HX-Request": "true"} if htmx else {}
    with transaction.atomic():
        response = client.generic(
            method,
            path,
            "{}" if api else "",
            content_type="application/json" if api else FORM_CONTENT_TYPE,
            headers=headers,
        )
        transaction.set_rollback(True)
    client.cookies = cookies
    return response


@dataclass(frozen=True)
class Route:
    """One URL pattern: `route` is the full pattern text (the matrix's key), `name` its namespaced name."""

    route: str
    name: str | None


def url_routes() -> list[Route]:
    """Every pattern, recursing into includes (the admin's too), in URL-conf order."""
    routes: list[Route] = []

    def walk(resolver: URLResolver, prefix: str, namespace: str | None) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = ":".join(n for n in (namespace, entry.namespace) if n) or None
                walk(entry, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                routes.append(Route(prefix + str(entry.pattern), name))

    walk(get_resolver(), "", None)
    return routes


_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_GROUP = re.compile(r"\(\?P<(\w+)>(?:[^()\\]|\\.|\([^()]*\))*\)")


def fill(route: str, values: dict[str, Any]) -> str:
    """The path of `route` with each converter / named group replaced by its value; checked by resolving it."""
    path = _GROUP.sub(lambda m: str(values[m[1]]), route)  # first: a group's name looks like a converter
    path = _CONVERTER.sub(lambda m: str(values[m[1]]), path)
    path = path.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")
    path = "/" + path
    resolved = resolve(path).route
    if resolved.replace("^", "") != route.replace("^", ""):
        raise AssertionError(f"{path} resolves to {resolved!r}, not to the pattern it was filled from ({route!r})")
    return path


@dataclass
class DataSet:
    """Users in each role and one of each object, owned by `rep` (never by `other_rep`)."""

    users: dict[str, Any]
    values: dict[str, Any]
    api_pk: dict[str, int]
    admin_objects: dict[str, Any]

    def client(self, role: str) -> Client:
        client = Client()
        if role != "anonymous":
            client.force_login(self.users[role])
        return client

    def path(self, route: Route) -> str:
        values = dict(self.values)
        name = route.name or ""
        if name.startswith("api:"):
            base = name.removeprefix("api:").rsplit("-", 1)[0]
            if base in self.api_pk:
                values["pk"] = self.api_pk[base]
        elif model_page := re.match(r"admin/(\w+)/(\w+)/", route.route):
            # A ModelAdmin's page: the first object of that model (an unknown id where the data set has none).
            obj = self.admin_objects.get(f"{model_page[1]}.{model_page[2]}")
            values["object_id"] = values["id"] = obj.pk if obj is not None else 999_999_999
        return fill(route.route, values)


def build_data_set() -> DataSet:
    from leads.import_services import import_job_create
    from warmcrm.api.services import api_token_create, calendar_feed_token_create
    from warmcrm.hygiene.models import DuplicatePair

    users = {
        "rep": UserFactory(username="rita", role="rep"),
        "other_rep": UserFactory(username="raj", role="rep"),
        "manager": UserFactory(username="maria", role="manager"),
        "admin": UserFactory(username="adam", role="admin"),
    }
    rep = users["rep"]
    event = EventFactory()
    lead = LeadFactory(owner=rep, event=event, last_name=OWN_LEAD_MARK)
    twin = LeadFactory(owner=rep, email=lead.email, last_name=OWN_LEAD_MARK)
    referral = ReferralFactory(lead__owner=rep, lead__last_name=OWN_LEAD_MARK, source=ReferralSourceFactory())
    call = CallFactory(lead=lead)
    follow_up = FollowUpFactory(lead=lead)
    pair = DuplicatePair.objects.create(lead_a=min(lead, twin, key=lambda x: x.pk),
                                        lead_b=max(lead, twin, key=lambda x: x.pk), reasons=["email"])
    job = import_job_create(
        actor=users["admin"], source=io.BytesIO(b"First name,Last name,Email\nAna,Costa,ana@example.com\n"),
        file_name="list.csv",
    )
    token, _raw = api_token_create(user=rep, name="laptop")
    _feed, secret = calendar_feed_token_create(user=rep)

    values = {
        "lead_id": lead.pk,
        "job_id": job.pk,
        "source_id": referral.source_id,
        "pair_id": pair.pk,
        "token_id": token.pk,
        "panel": "funnel",
        "secret": secret,
        "format": "json",
        "rest": "no-such-endpoint/",
        "app_label": "leads",
        "url": "no-such-page/",
        "content_type_id": ContentType.objects.get_for_model(Lead).pk,
        "object_id": lead.pk,
        "uidb64": "x",
        "token": "x",
    }
    api_pk = {
        "lead": lead.pk,
        "call": call.pk,
        "follow-up": follow_up.pk,
        "event": event.pk,
        "referral-source": referral.source_id,
        "referral": referral.pk,
    }
    admin_objects = {
        model._meta.label_lower: model._default_manager.order_by("pk").first()
        for model in admin.site._registry
    }
    return DataSet(users=users, values=values, api_pk=api_pk, admin_objects=admin_objects)
