"""Forms for leads. Validation messages are the model's, so forms, imports and the API agree."""

from __future__ import annotations

from django import forms

from .models import Lead


class LeadForm(forms.ModelForm):
    class Meta:
        model = Lead
        fields = ["first_name", "last_name", "title", "company", "email", "phone", "connection_type", "research_notes"]
        widgets = {"research_notes": forms.Textarea(attrs={"rows": 3})}
