"""Every hygiene page: anonymous users log in first, reps are refused, managers and admins get in."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import LeadFactory
from warmcrm.hygiene.models import DuplicatePair

pytestmark = pytest.mark.django_db

PAGES = ["/hygiene/duplicates/", "/hygiene/slipping/", "/hygiene/lost-reasons/"]


@pytest.fixture
def pair(rep):
    a, b = LeadFactory(owner=rep), LeadFactory(owner=rep)
    return DuplicatePair.objects.create(lead_a=a, lead_b=b, reasons=["email"])


@pytest.mark.parametrize("url", PAGES)
def test_pages_per_role(url, rep_client, manager_client, admin_client_role):
    assert Client().get(url).status_code == 302
    assert rep_client.get(url).status_code == 403
    assert manager_client.get(url).status_code == 200
    assert admin_client_role.get(url).status_code == 200


def test_merge_and_not_duplicate_per_role(pair, rep_client, manager_client, admin_client_role):
    merge, decide = f"/hygiene/duplicates/{pair.pk}/merge/", f"/hygiene/duplicates/{pair.pk}/not-duplicate/"
    assert Client().get(merge).status_code == 302
    assert Client().post(decide).status_code == 302
    assert rep_client.get(merge).status_code == 403
    assert rep_client.post(decide).status_code == 403
    assert manager_client.get(merge).status_code == 200
    assert admin_client_role.get(merge).status_code == 200
    assert manager_client.get(decide).status_code == 405
    assert DuplicatePair.objects.get().status == "open"
    assert admin_client_role.post(decide).status_code == 302
    assert DuplicatePair.objects.get().status == "not_duplicate"
