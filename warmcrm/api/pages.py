"""Browser pages of the API app: the profile page (API tokens, calendar URL) and the ICS feed itself."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from leads.roles import is_admin

from . import selectors, services
from .calendar import calendar_ics
from .models import ApiToken


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What will use it, e.g. “dialer” or “website contact form”.",
        error_messages={"required": "Name the token after what will use it, e.g. “dialer”."},
    )
    kind = forms.ChoiceField(choices=ApiToken.Kind.choices, initial=ApiToken.Kind.PERSONAL)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not is_admin(user):  # website-form tokens are an admin's decision
            self.fields["kind"].choices = [(ApiToken.Kind.PERSONAL, ApiToken.Kind.PERSONAL.label)]


def _render_profile(
    request: HttpRequest, *, form: ApiTokenForm | None = None, new_token: str = "", new_calendar_url: str = ""
) -> HttpResponse:
    form = form or ApiTokenForm(user=request.user)
    context = {
        "form": form,
        "tokens": selectors.api_tokens_of(request.user),
        "calendar_feed": selectors.calendar_feed_token_active(request.user),
        "new_token": new_token,
        "new_calendar_url": new_calendar_url,
    }
    return render(request, "api/profile.html", context, status=400 if form.errors else 200)


@require_GET
@login_required
@never_cache
def profile(request: HttpRequest) -> HttpResponse:
    return _render_profile(request)


@require_POST
@login_required
@never_cache
def api_token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            _token, raw = services.api_token_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(None if field == "__all__" else field, errors)
        else:
            # Shown in this response only: the database keeps a hash, so nobody can show it again.
            return _render_profile(request, new_token=raw)
    return _render_profile(request, form=form)


@require_POST
@login_required
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("api:profile")


@require_POST
@login_required
@never_cache
def calendar_feed_create(request: HttpRequest) -> HttpResponse:
    _feed, secret = services.calendar_feed_token_create(user=request.user)
    url = request.build_absolute_uri(reverse("api:calendar-feed", kwargs={"secret": secret}))
    return _render_profile(request, new_calendar_url=url)


@require_POST
@login_required
def calendar_feed_revoke(request: HttpRequest) -> HttpResponse:
    if services.calendar_feed_token_revoke(user=request.user):
        messages.success(request, "Calendar URL revoked: calendars subscribed to it stop updating.")
    return redirect("api:profile")


@require_GET
@never_cache
def calendar_feed(request: HttpRequest, secret: str) -> HttpResponse:
    """The private ICS feed. The secret in the URL is the only credential calendar apps can send."""
    feed = selectors.calendar_feed_token_find(secret)
    if feed is None:
        raise Http404("No such calendar.")
    now = timezone.now()
    services.calendar_feed_token_touch(feed=feed, now=now)
    user = feed.user
    items = selectors.calendar_items_for(user, now=now)
    body = calendar_ics(
        items,
        name=f"WarmCRM: {user.get_full_name() or user.get_username()}",
        lead_url=lambda lead_id: request.build_absolute_uri(reverse("leads:detail", kwargs={"lead_id": lead_id})),
        now=now,
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="warmcrm.ics"'
    return response
