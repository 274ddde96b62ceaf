"""Prompt versions and pinned samples through the API: placeholders and parameters
checked at save, versions frozen once used while labels move, the exact messages
previewed on a real item, and samples that are random but reproducible."""

from __future__ import annotations

import random
from typing import Any

import pytest

from annotation.states import State
from assist.models import PromptVersion, Sample
from assist.prompts import mark_used
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def purl(project: Any, rest: str = "") -> str:
    return f"/api/v1/projects/{project.pk}/prompts/{rest}"


def surl(project: Any, rest: str = "") -> str:
    return f"/api/v1/projects/{project.pk}/samples/{rest}"


def new_prompt(api: Any, user: Any, project: Any, **fields: Any) -> Any:
    body = {"name": "v1", "system": "Be brief.", "template": "Answer: {{prompt}}", **fields}
    return api(user).post(purl(project), body, format="json")


def test_a_prompt_version_is_saved_and_previewed_on_an_item(
    api: Any, alice: Any, project: Any
) -> None:
    item = make_item(project, "How do I reset it?", tags=["billing"], metadata={"product": "Pro"})
    response = new_prompt(
        api, alice, project, template="{{prompt}} [{{tags}}] {{metadata.product}}",
        params={"temperature": 0.2, "max_tokens": 100, "seed": 7},
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    pid = response.json()["id"]
    assert response.json()["params"] == {"temperature": 0.2, "max_tokens": 100, "seed": 7}
    preview = api(alice).get(purl(project, f"{pid}/preview/?item={item.pk}")).json()
    assert preview["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "How do I reset it? [billing] Pro"},
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"template": "Hi {{promt}}"}, "Unknown placeholder {{promt}}"),
        ({"system": "{{nope}}"}, "Unknown placeholder {{nope}}"),
        ({"template": "  "}, "template is empty"),
        ({"params": {"temprature": 1}}, "Unknown parameter(s): temprature"),
        ({"params": {"temperature": 5}}, "temperature must be between 0 and 2"),
        ({"params": {"max_tokens": "many"}}, "max_tokens must be a whole number"),
        ({"params": [1]}, "Parameters must be an object"),
        ({"labels": ["no spaces allowed"]}, "Labels are short words"),
        ({"kind": "poem"}, "kind"),
        ({"parent": 999999}, "parent must be another version"),
        ({"extra": 1}, "Unknown field(s): extra"),
    ],
)
def test_bad_versions_are_refused_with_a_reason(
    api: Any, alice: Any, project: Any, fields: dict[str, Any], message: str
) -> None:
    response = new_prompt(api, alice, project, **fields)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not PromptVersion.objects.exists()


def test_a_used_version_is_frozen_but_its_labels_move(api: Any, alice: Any, project: Any) -> None:
    first = new_prompt(api, alice, project, labels=["production"]).json()["id"]
    second = new_prompt(api, alice, project, name="v2", parent=first).json()
    assert second["parent"] == first
    # Before any run, text may change.
    assert (
        api(alice)
        .patch(purl(project, f"{first}/"), {"template": "Q: {{prompt}}"}, format="json")
        .status_code
        == 200
    )
    mark_used(PromptVersion.objects.get(pk=first))
    refused = api(alice).patch(purl(project, f"{first}/"), {"template": "new"}, format="json")
    assert refused.status_code == 409
    assert "frozen" in refused.json()["detail"] and "new version" in refused.json()["detail"]
    assert PromptVersion.objects.get(pk=first).template == "Q: {{prompt}}"
    refused = api(alice).patch(
        purl(project, f"{first}/"), {"params": {"temperature": 1}}, format="json"
    )
    assert refused.status_code == 409
    # "production" moves to v2: at most one version of a kind carries it.
    moved = api(alice).patch(
        purl(project, f"{second['id']}/"), {"labels": ["production"]}, format="json"
    )
    assert moved.status_code == 200
    assert PromptVersion.objects.get(pk=first).labels == []
    assert PromptVersion.objects.get(pk=second["id"]).labels == ["production"]
    assert (
        api(alice).patch(purl(project, f"{first}/"), {"labels": ["old"]}, format="json").status_code
        == 200
    )


def test_prompts_are_for_admins_only(
    api: Any, alice: Any, anna: Any, oscar: Any, project: Any, other_project: Any
) -> None:
    pid = new_prompt(api, alice, project).json()["id"]
    assert api(anna).get(purl(project)).status_code == 403
    assert new_prompt(api, anna, project).status_code == 403
    assert api(oscar).get(purl(project)).status_code == 404
    assert api(oscar).get(purl(other_project, f"{pid}/")).status_code == 404


def test_a_sample_is_random_pinned_and_reproducible(api: Any, alice: Any, project: Any) -> None:
    items = [make_item(project, f"Question {n}") for n in range(40)]
    response = api(alice).post(surl(project), {"size": 10, "seed": 1234}, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    ids = sorted(i.pk for i in items)
    assert data["items"] == random.Random(1234).sample(ids, 10)
    assert data["seed"] == 1234 and data["size"] == 10
    again = api(alice).post(surl(project), {"size": 10, "seed": 1234}, format="json").json()
    assert again["items"] == data["items"]
    # No seed: a random one is drawn and stored; default size 20.
    auto = api(alice).post(surl(project), {}, format="json").json()
    assert auto["size"] == 20 and isinstance(auto["seed"], int)
    stored = Sample.objects.get(pk=auto["id"])
    assert stored.item_ids == random.Random(stored.seed).sample(ids, 20)
    listed = api(alice).get(surl(project)).json()
    assert {s["id"] for s in listed} == {data["id"], again["id"], auto["id"]}


def test_a_sample_filter_picks_only_matching_items(api: Any, alice: Any, project: Any) -> None:
    tagged = {make_item(project, f"T{n}", tags=["billing"]).pk for n in range(5)}
    for n in range(5):
        make_item(project, f"U{n}", tags=["other"])
    make_item(project, "approved", state=State.APPROVED, tags=["billing"])
    response = api(alice).post(
        surl(project), {"size": 50, "filter": {"tag": "billing", "state": "queued"}}, format="json"
    )
    assert response.status_code == 201
    assert set(response.json()["items"]) == tagged


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"size": 501}, "1 to 500"),
        ({"size": 0}, "1 to 500"),
        ({"size": "ten"}, "1 to 500"),
        ({"seed": "abc"}, "seed is a whole number"),
        ({"filter": {"colour": "red"}}, "Unknown filter(s): colour"),
        ({"filter": {"state": "nope"}}, "State must be one of"),
        ({"filter": {"queue": 99999}}, "no queue 99999"),
        ({"filter": {"tag": "nothing-has-this"}}, "No items match"),
        ({"sizes": 3}, "Unknown field(s): sizes"),
    ],
)
def test_bad_samples_are_refused(
    api: Any, alice: Any, project: Any, body: Any, message: str
) -> None:
    make_item(project, "One")
    response = api(alice).post(surl(project), body, format="json")
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Sample.objects.exists()


def test_samples_are_for_admins_only(api: Any, anna: Any, oscar: Any, project: Any) -> None:
    make_item(project, "One")
    assert api(anna).post(surl(project), {}, format="json").status_code == 403
    assert api(oscar).post(surl(project), {}, format="json").status_code == 404
    assert api(anna).get(surl(project)).status_code == 403
