"""URLs of the API app, included at /api/: v1 endpoints, schema and docs, profile pages, calendar feed."""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from . import pages, views

app_name = "api"
REDOC_CSP = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.include_format_suffixes = False  # JSON only: leads/1/calls.json was a 500 (the actions take no format)
router.register("leads", views.LeadViewSet, basename="lead")
router.register("calls", views.CallViewSet, basename="call")
router.register("follow-ups", views.FollowUpViewSet, basename="follow-up")
router.register("events", views.EventViewSet, basename="event")
router.register("referral-sources", views.ReferralSourceViewSet, basename="referral-source")
router.register("referrals", views.ReferralViewSet, basename="referral")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/inbound/", views.InboundLeadView.as_view(), name="inbound"),
    re_path(r"^v1/(?P<rest>[\s\S]*)$", views.endpoint_not_found),  # last: any other v1 URL is a JSON 404
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The docs are pages for people: a browser without a session goes to the login page, not a JSON 401.
    # The split view serves Swagger UI's start-up script as a file (?script), so the CSP needs no inline script.
    path("docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="docs"),
    # Redoc styles itself with <style> elements it writes at run time (styled-components) and parses in a blob:
    # worker: this page alone allows inline styles (not scripts); templates/drf_spectacular/redoc.html has no inline.
    path("redoc/", REDOC_CSP(login_required(SpectacularRedocView.as_view(url_name="api:schema"))), name="redoc"),
    path("profile/", pages.profile, name="profile"),
    path("profile/tokens/", pages.api_token_create, name="token-create"),
    path("profile/tokens/<int:token_id>/revoke/", pages.api_token_revoke, name="token-revoke"),
    path("profile/calendar/", pages.calendar_feed_create, name="calendar-create"),
    path("profile/calendar/revoke/", pages.calendar_feed_revoke, name="calendar-revoke"),
    path("calendar/<str:secret>.ics", pages.calendar_feed, name="calendar-feed"),
]
