"""Creating and changing a project through the API: its review policy and checks come
with it, all or nothing, and a field the endpoint does not know is refused."""

from __future__ import annotations

import pytest

from checks.config import project_checks
from projects.models import Project
from reviews.models import ReviewStage

pytestmark = pytest.mark.django_db

STAGES = [
    {"name": "First look", "sample_rate": 1.0, "min_approvals": 1},
    {"name": "Expert", "sample_rate": 0.2, "min_approvals": 2},
]


def test_create_applies_review_stages_and_checks(api, alice, may_create) -> None:
    response = api(may_create(alice)).post(
        "/api/v1/projects/",
        {"name": "Legal QA", "review_stages": STAGES, "checks": {"pii": {"severity": "block"}}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [s["name"] for s in body["review_stages"]] == ["First look", "Expert"]
    assert body["checks"]["pii"]["severity"] == "block"
    project = Project.objects.get(pk=body["id"])
    stages = ReviewStage.objects.filter(project=project).order_by("position")
    assert [(s.name, s.sample_rate, s.min_approvals) for s in stages] == [
        ("First look", 1.0, 1),
        ("Expert", 0.2, 2),
    ]
    assert next(c for c in project_checks(project) if c.name == "pii").severity == "block"
    # GET shows what POST stored.
    detail = api(may_create(alice)).get(f"/api/v1/projects/{project.pk}/").json()
    assert detail["review_stages"] == body["review_stages"]


def test_create_with_a_bad_stage_creates_nothing(api, alice, may_create) -> None:
    response = api(may_create(alice)).post(
        "/api/v1/projects/",
        {"name": "Broken", "review_stages": [{"name": "", "sample_rate": 1.0}]},
        format="json",
    )
    assert response.status_code == 400
    assert "name" in response.json()["detail"].lower()
    assert not Project.objects.filter(name="Broken").exists()


def test_create_with_a_bad_check_creates_nothing(api, alice, may_create) -> None:
    response = api(may_create(alice)).post(
        "/api/v1/projects/", {"name": "Broken", "checks": {"nope": {}}}, format="json"
    )
    assert response.status_code == 400
    assert "nope" in response.json()["detail"]
    assert not Project.objects.filter(name="Broken").exists()


@pytest.mark.parametrize("method", ["post", "patch"])
def test_unknown_fields_are_refused_by_name(api, alice, may_create, project, method) -> None:
    url = "/api/v1/projects/" if method == "post" else f"/api/v1/projects/{project.pk}/"
    before = Project.objects.count()
    response = getattr(api(may_create(alice)), method)(
        url, {"name": "Renamed", "colour": "blue", "stages": []}, format="json"
    )
    assert response.status_code == 400
    assert "colour" in response.json()["detail"] and "stages" in response.json()["detail"]
    assert Project.objects.count() == before
    project.refresh_from_db()
    assert project.name != "Renamed"
