"""Forms for leads. Validation messages are the model's, so forms, imports and the API agree."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from .models import Lead, Stage
from .roles import MANAGER, REP
from .services import EDITABLE_FIELDS


def assignable_users() -> Any:
    """People a lead can belong to: active reps and managers."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=(REP, MANAGER))
        .distinct()
        .order_by("first_name", "username")
    )


class IdChoices(forms.ModelMultipleChoiceField):
    """Several rows picked by id; a value that cannot be an id is an invalid choice before any query.

    Django catches a bad id's ValueError but not the OverflowError of one past 64 bits (SQLite raised it: a 500).
    """

    def _check_values(self, value: Any) -> Any:
        for pk in value:
            if not (isinstance(pk, int | str) and str(pk).isascii() and str(pk).isdigit() and len(str(pk)) <= 18):
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()


class LeadForm(forms.ModelForm):
    class Meta:
        model = Lead
        fields = list(EDITABLE_FIELDS)  # what lead_update accepts, so the form can never post more
        widgets = {
            "research_notes": forms.Textarea(attrs={"rows": 3}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }
        labels = {"research_notes": "Research / point-of-view notes"}


class LeadCreateForm(LeadForm):
    """A new lead; managers pick its owner, a rep's new lead is their own."""

    owner = UserChoiceField(queryset=assignable_users(), required=False, empty_label="Me")

    def __init__(self, *args: Any, can_assign: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_users()
        if not can_assign:
            del self.fields["owner"]


class NotesForm(forms.Form):
    research_notes = forms.CharField(
        required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 4}), label="Research / point of view"
    )


class StageForm(forms.Form):
    stage = forms.ChoiceField(choices=Stage.choices, label="Move to stage")
    lost_reason = forms.CharField(required=False, max_length=200, label="Why was it lost?")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("stage") == Stage.LOST and not cleaned.get("lost_reason", "").strip():
            self.add_error("lost_reason", "Say why the lead was lost.")
        return cleaned  # whether the reason is on the admins' list is lead_set_stage's rule (pages and API alike)

    def lost_reasons(self) -> list[str]:
        """The active reasons admins maintain in warmcrm.hygiene, offered as choices (imported here: leads
        depends on no app at load)."""
        if not hasattr(self, "_lost_reasons"):
            from warmcrm.hygiene.selectors import active_lost_reasons

            self._lost_reasons = active_lost_reasons()
        return self._lost_reasons


class OwnerForm(forms.Form):
    owner = UserChoiceField(queryset=assignable_users(), label="Owner", empty_label=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_users()


class ReassignForm(OwnerForm):
    """Managers give the selected leads of the list to a rep."""

    lead = IdChoices(
        queryset=Lead.objects.none(),
        error_messages={
            "required": "Select at least one lead to reassign.",
            "invalid_choice": "One of the selected leads no longer exists; reload the list and try again.",
        },
        widget=forms.MultipleHiddenInput,
    )

    def __init__(self, *args: Any, leads: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].label = "Reassign selected to"
        self.fields["owner"].queryset = assignable_users().filter(groups__name=REP)
        self.fields["owner"].error_messages["required"] = "Pick the rep who takes over these leads."
        self.fields["lead"].queryset = leads


class DoNotCallForm(forms.Form):
    do_not_call = forms.BooleanField(required=False, label="Do not call")
