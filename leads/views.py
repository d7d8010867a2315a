"""Lead pages. Thin: scope through the selectors, validate a form, call one service, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from . import selectors, services
from .forms import LeadForm


@require_GET
@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    leads = selectors.leads_visible_to(request.user).select_related("owner", "event").order_by("-warmth", "id")
    page = Paginator(leads, 50).get_page(request.GET.get("page"))
    template = "leads/list.html#lead-table" if request.htmx else "leads/list.html"
    return render(request, template, {"page": page})


@require_GET
@login_required
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = selectors.lead_get_for(request.user, lead_id)
    context = {"lead": lead, "warmth": selectors.lead_warmth(lead), "timeline": selectors.lead_timeline(lead)}
    return render(request, "leads/detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def lead_edit(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = selectors.lead_get_for(request.user, lead_id)
    form = LeadForm(request.POST or None, instance=lead)
    if request.method == "POST" and form.is_valid():
        services.lead_update(lead=lead, actor=request.user, **form.cleaned_data)
        return redirect("leads:detail", lead_id=lead.pk)
    return render(request, "leads/edit.html", {"lead": lead, "form": form})
