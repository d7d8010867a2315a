"""Forms of the hygiene pages: the merge choices and the stale-flag snooze."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.utils import timezone

from leads.models import Lead


class MergeForm(forms.Form):
    """Which lead survives, and for each differing field whose value to keep (radio per field)."""

    survivor = forms.TypedChoiceField(coerce=int, widget=forms.RadioSelect, label="Keep the record of")

    def __init__(self, *args: Any, lead_a: Lead, lead_b: Lead, fields: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lead_a, self.lead_b, self.differing = lead_a, lead_b, fields
        self.fields["survivor"].choices = [
            (lead_a.pk, f"{lead_a} (lead {lead_a.pk})"),
            (lead_b.pk, f"{lead_b} (lead {lead_b.pk})"),
        ]
        self.fields["survivor"].initial = lead_a.pk
        for name in fields:
            self.fields[f"pick_{name}"] = forms.TypedChoiceField(
                coerce=int,
                choices=[(lead_a.pk, str(lead_a.pk)), (lead_b.pk, str(lead_b.pk))],
                initial=lead_a.pk,
                widget=forms.RadioSelect,
                label=Lead._meta.get_field(name).verbose_name.capitalize(),
                error_messages={
                    "required": "Pick which value to keep.",
                    "invalid_choice": "Pick one of the two values.",
                },
            )

    def take_from_other(self) -> set[str]:
        """The fields whose value comes from the lead that is removed."""
        survivor = self.cleaned_data["survivor"]
        return {name for name in self.differing if self.cleaned_data[f"pick_{name}"] != survivor}


class SnoozeStaleForm(forms.Form):
    until = forms.DateField(
        label="Not before", widget=forms.DateInput(attrs={"type": "date"}), error_messages={"required": "Pick a date."}
    )
    reason = forms.CharField(
        max_length=200, label="Why it can wait", error_messages={"required": "Say why this lead can wait."}
    )

    def clean_until(self) -> datetime:
        day = self.cleaned_data["until"]
        if day <= timezone.localdate():
            raise forms.ValidationError("Pick a date after today.")
        return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
