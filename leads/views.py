"""Lead pages: Today, the leads list, the lead page and its controls, the pipeline board.

Thin: scope through the selectors, validate a form, call one service, render. With htmx a view
renders the page's refreshed part (an inline partial); without it, a full page or a redirect.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, Sum, Window
from django.db.models.functions import RowNumber
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import retarget

from . import selectors, services
from .filters import LeadFilter
from .forms import DoNotCallForm, LeadCreateForm, LeadForm, NotesForm, OwnerForm, ReassignForm, StageForm
from .models import Lead, Stage
from .roles import sees_all_leads

LIST_PAGE_SIZE = 25
BOARD_CARDS_PER_STAGE = 20
BOARD_STAGES = list(Stage)


def caller_name(user: Any) -> str:
    return user.first_name or user.get_username()


def add_errors(form: Form, error: ValidationError) -> None:
    """A service's ValidationError shown next to the form's fields (or above the form)."""
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


# --- Today -------------------------------------------------------------------------------------------


@require_GET
@login_required
def today(request: HttpRequest) -> HttpResponse:
    queue = selectors.today_queue(request.user)
    if request.htmx:
        return render(request, "leads/today.html#queue", {"queue": queue})
    from calls.views import call_form_for_today  # leads imports calls only inside functions (apps depend one way)

    # The rows' call form comes with the page: opening it is no request (a GET per call was half the requests).
    return render(request, "leads/today.html", {"queue": queue, "call_form": call_form_for_today()})


# --- Leads list --------------------------------------------------------------------------------------


@require_GET
@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    filterset = LeadFilter(request.GET or None, queryset=selectors.leads_for_list(request.user), request=request)
    page = Paginator(filterset.qs, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    for lead in page:
        lead.connection = selectors.lead_connection_line(lead)
    context: dict[str, Any] = {"filter": filterset, "page": page, "can_reassign": sees_all_leads(request.user)}
    if context["can_reassign"] and not request.htmx:
        context["reassign_form"] = ReassignForm(leads=Lead.objects.none())
    template = "leads/list.html#lead-table" if request.htmx else "leads/list.html"
    return render(request, template, context)


@require_POST
@login_required
def lead_reassign(request: HttpRequest) -> HttpResponse:
    if not sees_all_leads(request.user):
        raise PermissionDenied("Only managers can reassign leads.")
    form = ReassignForm(request.POST, leads=selectors.leads_visible_to(request.user))
    back = request.POST.get("next", "")
    if not back.startswith(reverse("leads:list")):
        back = reverse("leads:list")
    if form.is_valid():
        owner = form.cleaned_data["owner"]
        moved = services.leads_reassign(
            lead_ids=[lead.pk for lead in form.cleaned_data["lead"]], owner=owner, actor=request.user
        )
        messages.success(request, f"{moved} lead{'s' if moved != 1 else ''} reassigned to {caller_name(owner)}.")
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect(back)


@require_http_methods(["GET", "POST"])
@login_required
def lead_create(request: HttpRequest) -> HttpResponse:
    can_assign = sees_all_leads(request.user)
    form = LeadCreateForm(request.POST if request.method == "POST" else None, can_assign=can_assign)
    if request.method == "POST" and form.is_valid():
        fields = {name: value for name, value in form.cleaned_data.items() if name != "owner"}
        owner = form.cleaned_data.get("owner") or request.user
        try:
            lead = services.lead_create(actor=request.user, owner=owner, **fields)
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"{lead} added.")
            return redirect("leads:detail", lead_id=lead.pk)
    return render(request, "leads/create.html", {"form": form})


# --- The lead page -----------------------------------------------------------------------------------


def lead_page_context(request: HttpRequest, lead: Lead, **overrides: Any) -> dict[str, Any]:
    """Everything the lead page shows; `overrides` carry bound forms with errors and notices, the open follow-up when
    the caller knows it, and keep_duplicates (htmx keeps the duplicates card shown: a call does not change it)."""
    # Imported here: leads never imports calls or referrals at module level (apps depend one way).
    from calls.forms import CallForm
    from referrals.forms import ReferralAskForm

    referrer = getattr(lead, "as_referrer", None)
    follow_ups = selectors.lead_recent_follow_ups(lead)
    context: dict[str, Any] = {
        "lead": lead,
        "warmth": selectors.lead_warmth(lead),
        "timeline": selectors.lead_timeline(lead, follow_ups=follow_ups),
        "connection": selectors.lead_connection_line(lead),
        "opener": selectors.lead_opener(lead, caller_name=caller_name(request.user)),
        # The open follow-up: a caller that knows it passes it (call_log returns it), or it is among the timeline's.
        "follow_up": overrides["follow_up"]
        if "follow_up" in overrides
        else selectors.lead_open_follow_up(lead, recent=follow_ups),
        "referrer": referrer,
        "can_assign": sees_all_leads(request.user),
        "call_form": CallForm(),
        "referral_form": ReferralAskForm(),
        "stage_form": StageForm(initial={"stage": lead.stage, "lost_reason": lead.lost_reason}),
        "notes_form": NotesForm(initial={"research_notes": lead.research_notes}),
        "contact_form": None,
        "notice": "",
    }
    if context["can_assign"]:
        context["owner_form"] = OwnerForm(initial={"owner": lead.owner_id})
    context.update(overrides)
    return context


def render_lead_page(request: HttpRequest, lead: Lead, **overrides: Any) -> HttpResponse:
    """The lead page, or with htmx just its body (retargeted, so any form on it can answer with it)."""
    context = lead_page_context(request, lead, **overrides)
    if request.htmx:
        return retarget(render(request, "leads/detail.html#lead-body", context), "#lead-body")
    return render(request, "leads/detail.html", context)


def lead_page_updated(request: HttpRequest, lead: Lead, notice: str, **overrides: Any) -> HttpResponse:
    """After a change on the lead page: the refreshed body with htmx, a redirect (PRG) without."""
    if request.htmx:
        return render_lead_page(request, selectors.lead_get_for(request.user, lead.pk), notice=notice, **overrides)
    messages.success(request, notice)
    return redirect("leads:detail", lead_id=lead.pk)


@require_GET
@login_required
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    return render_lead_page(request, selectors.lead_get_for(request.user, lead_id))


@require_http_methods(["GET", "POST"])
@login_required
def lead_edit(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Contact details: inline on the lead page with htmx, its own page without."""
    lead = selectors.lead_get_for(request.user, lead_id)
    form = LeadForm(request.POST if request.method == "POST" else None, instance=lead)
    if request.method == "POST" and form.is_valid():
        services.lead_update(lead=lead, actor=request.user, **form.cleaned_data)
        return lead_page_updated(request, lead, "Contact details saved.")
    if request.method == "POST":
        lead.refresh_from_db()  # the invalid form changed the instance; nothing was saved
    if request.htmx:
        return render(request, "leads/edit.html#contact-form", {"lead": lead, "form": form})
    return render(request, "leads/edit.html", {"lead": lead, "form": form})


@require_POST
@login_required
def lead_notes(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = selectors.lead_get_for(request.user, lead_id)
    form = NotesForm(request.POST)
    if not form.is_valid():
        return render_lead_page(request, lead, notes_form=form)
    services.lead_update(lead=lead, actor=request.user, research_notes=form.cleaned_data["research_notes"])
    return lead_page_updated(request, lead, "Notes saved.")


@require_http_methods(["GET", "POST"])
@login_required
def lead_stage(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Move a lead to a stage (from the lead page or the board); lost asks for a reason first."""
    lead = selectors.lead_get_for(request.user, lead_id)
    back = "board" if request.POST.get("back", request.GET.get("back")) == "board" else "lead"
    form = StageForm(
        request.POST if request.method == "POST" else None, initial={"stage": request.GET.get("stage", lead.stage)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            stage, reason = form.cleaned_data["stage"], form.cleaned_data["lost_reason"]
            services.lead_set_stage(lead=lead, actor=request.user, stage=stage, lost_reason=reason)
        except ValidationError as error:
            add_errors(form, error)
            lead.refresh_from_db()
        else:
            notice = f"{lead} moved to {lead.get_stage_display()}."
            if back == "board":
                if request.htmx:
                    return retarget(render_board(request, notice=notice), "#board")
                messages.success(request, notice)
                return redirect("leads:board")
            return lead_page_updated(request, lead, notice)
    context = {"lead": lead, "form": form, "back": back}
    if request.htmx and back == "board":
        return retarget(render(request, "leads/stage.html#stage-form", context), f"#card-{lead.pk}")
    if request.htmx:
        return render_lead_page(request, lead, stage_form=form)
    return render(request, "leads/stage.html", context)


@require_POST
@login_required
def lead_owner(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = selectors.lead_get_for(request.user, lead_id)
    if not sees_all_leads(request.user):
        raise PermissionDenied("Only managers can change a lead's owner.")
    form = OwnerForm(request.POST)
    if not form.is_valid():
        return render_lead_page(request, lead, owner_form=form)
    services.lead_set_owner(lead=lead, actor=request.user, owner=form.cleaned_data["owner"])
    return lead_page_updated(request, lead, f"{lead} now belongs to {caller_name(form.cleaned_data['owner'])}.")


@require_POST
@login_required
def lead_do_not_call(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = selectors.lead_get_for(request.user, lead_id)
    form = DoNotCallForm(request.POST)
    form.is_valid()  # a missing checkbox is False: there is nothing to get wrong
    do_not_call = form.cleaned_data.get("do_not_call", False)
    services.lead_set_do_not_call(lead=lead, actor=request.user, do_not_call=do_not_call)
    notice = "Marked do-not-call: it leaves every call list." if do_not_call else "Do-not-call removed."
    return lead_page_updated(request, lead, notice)


# --- Pipeline board ----------------------------------------------------------------------------------


def render_board(request: HttpRequest, *, notice: str = "") -> HttpResponse:
    """Columns by stage with counts and total warmth (aggregated in the database), top cards each."""
    visible = selectors.leads_visible_to(request.user)
    totals = {
        row["stage"]: row
        for row in visible.order_by().values("stage").annotate(count=Count("pk"), warmth_total=Sum("warmth"))
    }
    ranked = (
        visible.annotate(
            rank=Window(RowNumber(), partition_by=F("stage"), order_by=[F("warmth").desc(), F("id").asc()])
        )
        .filter(rank__lte=BOARD_CARDS_PER_STAGE)
        .select_related(*selectors.LEAD_ROW_RELATED)
        .order_by("stage", "rank")
    )
    cards: dict[str, list[Lead]] = {}
    for lead in ranked:
        lead.connection = selectors.lead_connection_line(lead)
        cards.setdefault(lead.stage, []).append(lead)
    columns = []
    for stage in BOARD_STAGES:
        total = totals.get(stage.value, {})
        count = total.get("count", 0)
        stage_cards = cards.get(stage.value, [])
        columns.append(
            {
                "stage": stage,
                "count": count,
                "warmth_total": total.get("warmth_total") or 0,
                "cards": stage_cards,
                "more": count - len(stage_cards),
            }
        )
    context = {"columns": columns, "stages": BOARD_STAGES, "notice": notice}
    template = "leads/board.html#board" if request.htmx else "leads/board.html"
    return render(request, template, context)


@require_GET
@login_required
def board(request: HttpRequest) -> HttpResponse:
    return render_board(request)
