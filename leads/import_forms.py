"""Forms of the list import: the upload, and the mapping with the import's settings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from . import importing, upload_safety
from .forms import IdChoices
from .models import ConnectionType, ImportJob
from .roles import MANAGER, REP

ACCEPT = ".csv,.tsv,.txt,.xlsx"


def max_upload_message() -> str:
    return f"The file is larger than {settings.IMPORT_MAX_UPLOAD_BYTES / 1048576:.0f} MB, the largest import."


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="Contact list (CSV, TSV or XLSX)",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
        error_messages={"empty": "The file is empty.", "required": "Choose a file to upload."},
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(max_upload_message())
        try:
            upload_safety.upload_check(upload)  # zip bombs, million-column sheets and rows: before it is stored
        except upload_safety.UploadRefused as exc:
            raise forms.ValidationError(str(exc)) from exc
        return upload


def owner_choices() -> QuerySet[Any]:
    """The people leads can be handed to: active reps and managers."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[REP, MANAGER])
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class OwnerChoice(IdChoices):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()


class ImportSettingsForm(forms.Form):
    """One "column -> lead field" choice per column, then the event, connection and owners."""

    event_name = forms.CharField(label="Event", max_length=200, help_text="Created if it does not exist yet.")
    event_date = forms.DateField(label="Event date", widget=forms.DateInput(attrs={"type": "date"}))
    connection_type = forms.ChoiceField(
        label="How we are connected", choices=ConnectionType.choices, initial=ConnectionType.EVENT_LIST
    )
    owners = OwnerChoice(
        label="Assign to",
        queryset=get_user_model().objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Pick one rep, or several to share the leads round-robin.",
    )

    def __init__(self, *args: Any, job: ImportJob, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.job = job
        self.fields["owners"].queryset = owner_choices()
        choices = [("", "— ignore —"), *importing.FIELD_LABELS.items()]
        self.column_names: list[str] = []
        for index, header in enumerate(job.headers):
            name = f"column_{index}"
            self.column_names.append(name)
            self.fields[name] = forms.ChoiceField(
                label=header or f"Column {index + 1}",
                choices=choices,
                required=False,
                initial=job.mapping[index] if index < len(job.mapping) else "",
            )
        if not self.is_bound:
            self.initial.setdefault("event_name", job.event_name)
            self.initial.setdefault("event_date", job.event_date or timezone.localdate())
            self.initial.setdefault("connection_type", job.connection_type)
            if job.owner_ids:
                self.initial.setdefault("owners", job.owner_ids)

    def columns(self) -> list[forms.BoundField]:
        return [self[name] for name in self.column_names]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        mapping = [cleaned.get(name, "") for name in self.column_names]
        for problem in importing.mapping_problems(mapping, len(self.job.headers)):
            self.add_error(None, problem)
        cleaned["mapping"] = mapping
        return cleaned
