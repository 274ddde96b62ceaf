"""An item's reviews are visible to exactly those who may see the item."""

from __future__ import annotations

import pytest

from annotation import leases
from tests.conftest import api_for
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def test_an_annotator_reads_reviews_only_of_items_they_worked_on(project, anna, rita) -> None:
    mine, theirs = make_item(project, "mine"), make_item(project, "not mine")
    lease = leases.claim_next(project=project, user=anna)
    assert lease is not None and lease.item == mine
    client = api_for(anna)
    assert client.get(f"/api/v1/items/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/items/{theirs.pk}/reviews/").status_code == 404
    assert client.get(f"/api/v1/items/{mine.pk}/reviews/").status_code == 200
    assert api_for(rita).get(f"/api/v1/items/{theirs.pk}/reviews/").status_code == 200


def test_an_outsider_gets_404(project, oscar) -> None:
    item = make_item(project)
    assert api_for(oscar).get(f"/api/v1/items/{item.pk}/reviews/").status_code == 404
