"""Forms for referrals: asking a lead for a referral, and searching referrers."""

from __future__ import annotations

from django import forms


class ReferralAskForm(forms.Form):
    """The person this lead refers. Names, phone and email are validated by the Lead model in the service."""

    first_name = forms.CharField(required=False, max_length=100, label="First name")
    last_name = forms.CharField(required=False, max_length=100, label="Last name")
    company = forms.CharField(required=False, max_length=200, label="Company")
    title = forms.CharField(required=False, max_length=150, label="Job title")
    phone = forms.CharField(required=False, max_length=50, label="Phone", widget=forms.TextInput(attrs={"type": "tel"}))
    email = forms.CharField(required=False, max_length=254, label="Email", widget=forms.EmailInput)
    note = forms.CharField(
        required=False,
        max_length=2000,
        label="What they said about them",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def lead_fields(self) -> dict[str, str]:
        names = ("first_name", "last_name", "company", "title", "phone", "email")
        return {name: self.cleaned_data[name] for name in names}


class ReferrerSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        label="Search referrers",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or organisation"}),
    )
