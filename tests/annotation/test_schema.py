"""The item payload is described in the API schema with its real fields."""

from __future__ import annotations

import pytest
import yaml

from annotation.api import ItemSerializer
from annotation.leases import claim_next
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def test_the_schema_lists_the_item_fields(client, anna) -> None:
    client.force_login(anna)
    schema = yaml.safe_load(client.get("/api/schema/").content)
    item = schema["components"]["schemas"]["Item"]["properties"]
    assert {"state", "messages", "revision", "history", "checks", "base_revision"} <= set(item)
    path = schema["paths"]["/api/v1/items/{item_id}/"]["get"]
    ok = path["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Item"}
    history = schema["components"]["schemas"]["HistoryRow"]["properties"]
    assert {"from", "to", "event", "actor", "reason", "data", "at"} <= set(history)


def test_the_serializer_names_every_field_the_payload_has(project, alice, anna, api) -> None:
    item = make_item(project)
    claim_next(project=project, user=anna)
    declared = set(ItemSerializer().fields)
    for user in (anna, alice):  # the lease holder's view, and the admin's
        payload = api(user).get(f"/api/v1/items/{item.pk}/").json()
        assert set(payload) <= declared, set(payload) - declared
