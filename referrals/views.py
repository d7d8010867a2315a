"""Referral pages: the referrers list, a referrer's page, and "ask for a referral" on the lead page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from leads.roles import sees_all_leads
from leads.selectors import lead_get_for
from leads.views import add_errors, lead_page_updated, render_lead_page

from . import selectors
from .forms import ReferralAskForm, ReferrerSearchForm
from .services import referral_ask

PAGE_SIZE = 25


@require_GET
@login_required
def referrer_list(request: HttpRequest) -> HttpResponse:
    form = ReferrerSearchForm(request.GET)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    sources = selectors.referral_sources_with_counts(request.user, search=search)
    page = Paginator(sources, PAGE_SIZE).get_page(request.GET.get("page"))
    template = "referrals/list.html#referrer-table" if request.htmx else "referrals/list.html"
    return render(request, template, {"form": form, "page": page})


@require_GET
@login_required
def referrer_detail(request: HttpRequest, source_id: int) -> HttpResponse:
    source = selectors.referral_source_get(request.user, source_id)
    referrals = Paginator(selectors.referrals_visible_to(request.user, source=source), PAGE_SIZE)
    page = referrals.get_page(request.GET.get("page"))
    # The referrer's own lead is linked only for someone who may open it.
    source_lead_visible = source.lead_id is not None and (
        sees_all_leads(request.user) or source.lead.owner_id == request.user.pk
    )
    context = {
        "source": source,
        "page": page,
        "hidden_count": source.referral_count - source.visible_count,
        "source_lead_visible": source_lead_visible,
    }
    template = "referrals/detail.html#referral-table" if request.htmx else "referrals/detail.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@login_required
def referral_ask_page(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Add the person a lead refers: the lead page's form, or its own page without JavaScript."""
    lead = lead_get_for(request.user, lead_id)
    form = ReferralAskForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            referral = referral_ask(
                referrer=lead, actor=request.user, note=form.cleaned_data["note"], **form.lead_fields()
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            notice = f"Added {referral.lead}, referred by {lead}."
            return lead_page_updated(request, lead, notice, new_referral=referral)
    if request.htmx:
        return render_lead_page(request, lead, referral_form=form)
    return render(request, "referrals/ask.html", {"lead": lead, "form": form})
