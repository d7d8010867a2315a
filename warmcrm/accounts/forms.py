"""The profile form: time zone, working days, digest hour and opt-out."""

from __future__ import annotations

from typing import Any

from django import forms

from .models import WEEKDAYS, Profile


class ProfileForm(forms.ModelForm):
    working_days = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one working day."},
        help_text="The digest is only sent on these days.",
    )
    digest_hour = forms.TypedChoiceField(
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
        coerce=int,
        label="Send the morning digest from",
    )

    class Meta:
        model = Profile
        fields = ["time_zone", "working_days", "digest_hour", "digest_opt_out"]
        labels = {"digest_opt_out": "No morning digest email"}
        error_messages = {"time_zone": {"invalid_choice": "Pick a time zone from the list, e.g. Europe/Berlin."}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].error_messages["invalid_choice"] = (
            "Pick a time zone from the list, e.g. America/New_York or Europe/Berlin."
        )
