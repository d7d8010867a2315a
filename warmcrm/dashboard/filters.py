"""The dashboard's filters: period, rep, team, connection type and event. Plain values once validated.

`DashboardFilters` is what every selector takes, so a panel, its CSV export and the tests all read the
same figures for the same filters. The form only offers the reps and teams the manager may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from leads.models import ConnectionType, Event
from leads.roles import ADMIN, MANAGER, REP, role_of

from .models import Team

THIS_WEEK = "week"
THIS_MONTH = "month"
LAST_90_DAYS = "90d"
CUSTOM = "custom"
PERIODS = [
    (THIS_WEEK, "This week"),
    (THIS_MONTH, "This month"),
    (LAST_90_DAYS, "Last 90 days"),
    (CUSTOM, "Custom dates"),
]
DEFAULT_PERIOD = LAST_90_DAYS
MAX_CUSTOM_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    """[start, end) in the team's time zone, plus the inclusive dates a person reads."""

    key: str
    first_day: date
    last_day: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone())

    @property
    def days(self) -> int:
        """Calendar days of the period up to today, the divisor of "calls per day"."""
        last = min(self.last_day, timezone.localdate())
        return max((last - self.first_day).days + 1, 1)

    @property
    def label(self) -> str:
        return f"{self.first_day:%d %b %Y} – {self.last_day:%d %b %Y}"


def period_for(key: str, *, today: date, date_from: date | None = None, date_to: date | None = None) -> Period:
    if key == THIS_WEEK:
        return Period(key, today - timedelta(days=today.weekday()), today)
    if key == THIS_MONTH:
        return Period(key, today.replace(day=1), today)
    if key == CUSTOM and date_from and date_to:
        return Period(key, date_from, date_to)
    return Period(LAST_90_DAYS, today - timedelta(days=89), today)


@dataclass(frozen=True)
class Scope:
    """Whose leads a user sees on the dashboard: `owner_ids` is a subquery of user ids, or None for everyone.

    Admins and managers who manage no team see everyone (and unassigned leads); a manager of one or
    more teams sees those teams' members. One query decides which.
    """

    owner_ids: QuerySet | None
    team_ids: list[int] | None

    @classmethod
    def of(cls, user: Any) -> Scope:
        role = role_of(user)
        if role == ADMIN:
            return cls(None, None)
        if role != MANAGER:
            return cls(Team.members.through.objects.none().values("user_id"), [])
        managed = list(Team.objects.filter(managers=user).values_list("pk", flat=True))
        if not managed:
            return cls(None, None)
        return cls(Team.members.through.objects.filter(team_id__in=managed).values("user_id"), managed)

    def teams(self) -> QuerySet[Team]:
        return Team.objects.all() if self.team_ids is None else Team.objects.filter(pk__in=self.team_ids)

    def reps(self) -> QuerySet:
        reps = get_user_model().objects.filter(groups__name=REP, is_active=True).order_by("first_name", "username")
        return reps if self.owner_ids is None else reps.filter(pk__in=self.owner_ids)


@dataclass(frozen=True)
class DashboardFilters:
    period: Period
    owner_ids: QuerySet | None = None  # the manager's team scope; None is everyone
    rep_id: int | None = None
    team_id: int | None = None
    connection_type: str = ""
    event_id: int | None = None

    def lead_q(self, prefix: str = "") -> Q:
        """The rep/team/connection/event filters as a Q on leads, or on a relation to a lead with `prefix`."""
        q = self.lead_attributes_q(prefix)
        if self.owner_ids is not None:
            q &= Q(**{f"{prefix}owner_id__in": self.owner_ids})
        if self.rep_id is not None:
            q &= Q(**{f"{prefix}owner_id": self.rep_id})
        if self.team_id is not None:
            q &= Q(**{f"{prefix}owner__teams": self.team_id})
        return q

    def lead_attributes_q(self, prefix: str = "") -> Q:
        """Only the connection and event filters (rep activity applies rep/team to the caller instead)."""
        q = Q()
        if self.connection_type:
            q &= Q(**{f"{prefix}connection_type": self.connection_type})
        if self.event_id is not None:
            q &= Q(**{f"{prefix}event_id": self.event_id})
        return q

    def user_q(self, prefix: str = "") -> Q:
        """The rep/team filters on users (the reps whose activity is shown)."""
        q = Q()
        if self.owner_ids is not None:
            q &= Q(**{f"{prefix}id__in": self.owner_ids})
        if self.rep_id is not None:
            q &= Q(**{f"{prefix}id": self.rep_id})
        if self.team_id is not None:
            q &= Q(**{f"{prefix}teams": self.team_id})
        return q


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(choices=PERIODS, required=False, initial=DEFAULT_PERIOD)
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}), input_formats=["%Y-%m-%d"]
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}), input_formats=["%Y-%m-%d"]
    )
    rep = forms.ModelChoiceField(queryset=None, required=False, empty_label="All reps")
    team = forms.ModelChoiceField(queryset=None, required=False, empty_label="All teams")
    connection = forms.ChoiceField(
        choices=[("", "All connections"), *ConnectionType.choices], required=False, label="Connection"
    )
    event = forms.ModelChoiceField(queryset=Event.objects.all(), required=False, empty_label="All events")

    def __init__(self, data: Any, *, user: Any) -> None:
        super().__init__(data)
        self.scope = Scope.of(user)
        self.fields["rep"].queryset = self.scope.reps()
        self.fields["team"].queryset = self.scope.teams()
        self.fields["rep"].error_messages["invalid_choice"] = "Pick a rep from the list."
        self.fields["team"].error_messages["invalid_choice"] = "Pick a team from the list."
        self.fields["event"].error_messages["invalid_choice"] = "Pick an event from the list."
        self.fields["date_from"].error_messages["invalid"] = "Enter the start date as YYYY-MM-DD."
        self.fields["date_to"].error_messages["invalid"] = "Enter the end date as YYYY-MM-DD."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        period = cleaned.get("period") or DEFAULT_PERIOD
        cleaned["period"] = period
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if period == CUSTOM and not self.has_error("date_from") and not self.has_error("date_to"):
            if date_from is None or date_to is None:
                raise forms.ValidationError("Pick both a start and an end date for a custom period.")
            if date_from > date_to:
                self.add_error("date_to", "The end date is before the start date.")
            elif (date_to - date_from).days >= MAX_CUSTOM_DAYS:
                self.add_error("date_to", "Pick a period of at most three years.")
        return cleaned

    def filters(self) -> DashboardFilters:
        """The validated filters; call after is_valid()."""
        data = self.cleaned_data
        return DashboardFilters(
            period=period_for(
                data["period"], today=timezone.localdate(), date_from=data.get("date_from"), date_to=data.get("date_to")
            ),
            owner_ids=self.scope.owner_ids,
            rep_id=data["rep"].pk if data.get("rep") else None,
            team_id=data["team"].pk if data.get("team") else None,
            connection_type=data.get("connection") or "",
            event_id=data["event"].pk if data.get("event") else None,
        )
