"""Logging a call from Today or the lead page: inline with htmx (row and warmth refresh in place), or a
plain form page and a redirect without JavaScript. The work itself is calls.services.call_log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django_htmx.http import retarget

from leads import selectors
from leads.models import FollowUp, Lead
from leads.views import add_errors, render_lead_page

from .forms import CallForm
from .models import Call, Outcome
from .services import call_log


def call_summary(call: Call, lead: Lead, follow_up: FollowUp | None) -> str:
    """'No answer logged for Ana Costa. Next call: Wed 25 Nov (No-answer retry).' (`follow_up`: the open one)"""
    text = f"{call.get_outcome_display()} logged for {lead}."
    if follow_up is not None:
        due = timezone.localtime(follow_up.due_at)
        text += f" Next call: {due:%a %d %b} ({follow_up.get_reason_display()})."
    elif call.outcome == Outcome.APPOINTMENT_SET and call.appointment_at:
        text += f" Appointment: {timezone.localtime(call.appointment_at):%a %d %b %H:%M}."
    return text


# The lead's id in Today's copy of the call form, which workspace.js replaces with a row's (an id is all the empty form
# varies by between rows).
LEAD_PLACEHOLDER = "__LEAD__"


def call_form_for_today() -> dict[str, object]:
    """The empty call form as Today's rows open it (`GET calls:log?back=today` with htmx), for a page to carry once."""
    return {
        "form": CallForm(),
        "lead": {"pk": LEAD_PLACEHOLDER},
        "call_url": reverse("calls:log", kwargs={"lead_id": 0}).replace("/0/", f"/{LEAD_PLACEHOLDER}/"),
        "placeholder": LEAD_PLACEHOLDER,
    }


@require_http_methods(["GET", "POST"])
@login_required
def call_log_page(request: HttpRequest, lead_id: int) -> HttpResponse:
    back = "today" if request.POST.get("back", request.GET.get("back")) == "today" else "lead"
    form = CallForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            # call_log reads the lead as it locks it, among the leads this user sees: no read of it before. For the lead
            # page with its owner and the referrer the lead is, which the page shows (joins, not queries of their own).
            leads = selectors.leads_visible_to(request.user)
            call = call_log(
                lead=Lead(pk=lead_id),
                leads=leads.select_related("owner", "as_referrer") if back == "lead" else leads,
                rep=request.user,
                **form.cleaned_data,
            )
        except Lead.DoesNotExist:
            raise Http404("No lead matches the given query.") from None
        except ValidationError as error:
            add_errors(form, error)
        else:
            return call_logged(request, call, back)
    lead = selectors.lead_get_for(request.user, lead_id)
    context = {"lead": lead, "form": form, "back": back, "connection": selectors.lead_connection_line(lead)}
    if request.htmx:
        return render(request, "calls/log.html#call-form", context)
    return render(request, "calls/log.html", context)


def call_logged(request: HttpRequest, call: Call, back: str) -> HttpResponse:
    lead = call.lead  # the row call_log locked and updated (warmth, stage, history), with what the row shows
    row = selectors.lead_queue_row(lead, follow_up=call.open_follow_up)  # its open follow-up serves the notice too
    notice = call_summary(call, lead, row.follow_up)
    if not request.htmx:
        messages.success(request, notice)
        if back == "today":
            return redirect(f"{reverse('leads:today')}#row-{lead.pk}")
        return redirect("leads:detail", lead_id=lead.pk)
    if back == "lead":
        # Today's lists in full, as Today reads them (asked for only the first rows, PostgreSQL walked the team's every
        # open follow-up: 190k buffers against 6.6k at 100k leads), but not its counts: the lead page shows none.
        next_lead = selectors.today_next_lead(request.user, after=lead)
        # The duplicates card stays as shown (hx-preserve): a call changes no pair, and it cost a query and its card.
        return render_lead_page(
            request, lead, notice=notice, next_lead=next_lead, follow_up=row.follow_up, keep_duplicates=True
        )
    # The row and the counts are all Today shows of it: the counts without the lists (the partial reads queue.*).
    context = {"row": row, "queue": selectors.today_counts(request.user), "logged": notice, "oob": True}
    html = render_to_string("leads/today.html#queue-row", context, request) + render_to_string(
        "leads/today.html#counts", context, request
    )
    response = retarget(HttpResponse(html), f"#row-{lead.pk}")
    response["HX-Reswap"] = "outerHTML"  # the row marks itself data-just-logged: workspace.js focuses the next
    return response
