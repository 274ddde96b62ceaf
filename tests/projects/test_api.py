"""The projects API as a script or CI job uses it."""

from __future__ import annotations

from rest_framework.test import APIClient

from projects.models import GuidelineAcknowledgement, Membership, Project
from tests.services import PASSWORD


def test_token_auth_round_trip(anna) -> None:
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": "anna", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/projects/").status_code == 200


def test_bad_login_is_a_json_400_with_detail(anna) -> None:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "anna", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "Unable to log in" in response.json()["detail"]


def test_anonymous_requests_get_json_401_or_403() -> None:
    response = APIClient().get("/api/v1/projects/")
    assert response.status_code in (401, 403)
    assert response.json()["detail"]


def test_only_staff_create_users(api, sam, anna) -> None:
    payload = {
        "username": "newbie",
        "password": "a long enough passphrase",
        "email": "n@example.org",
    }
    assert api(anna).post("/api/v1/users/", payload, format="json").status_code == 403
    response = api(sam).post("/api/v1/users/", payload, format="json")
    assert response.status_code == 201
    assert response.json()["username"] == "newbie"
    again = api(sam).post("/api/v1/users/", payload, format="json")
    assert again.status_code == 400
    assert "already exists" in again.json()["detail"]


def test_weak_password_is_refused_in_words(api, sam) -> None:
    response = api(sam).post(
        "/api/v1/users/", {"username": "weak", "password": "123"}, format="json"
    )
    assert response.status_code == 400
    assert "too short" in response.json()["detail"]


def test_creator_becomes_admin_and_lists_only_their_projects(
    api, anna, other_project, may_create
) -> None:
    response = api(may_create(anna)).post(
        "/api/v1/projects/",
        {"name": "Medical QA", "task_type": "correct", "overlap": 2},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "medical-qa" and body["role"] == "admin" and body["overlap"] == 2
    listed = api(anna).get("/api/v1/projects/").json()
    assert [p["name"] for p in listed] == ["Medical QA"]


def test_staff_see_every_project(api, sam, project, other_project) -> None:
    names = {p["name"] for p in api(sam).get("/api/v1/projects/").json()}
    assert names == {"Support answers", "Someone else's"}


def test_foreign_project_ids_are_404_everywhere(api, anna, project, other_project) -> None:
    pid = other_project.pk
    for method, path in [
        ("get", f"/api/v1/projects/{pid}/"),
        ("patch", f"/api/v1/projects/{pid}/"),
        ("get", f"/api/v1/projects/{pid}/members/"),
        ("get", f"/api/v1/projects/{pid}/guidelines/"),
        ("post", f"/api/v1/projects/{pid}/guidelines/acknowledge/"),
        ("get", "/api/v1/projects/999999/"),
    ]:
        response = getattr(api(anna), method)(path, {}, format="json")
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not found."} or "detail" in response.json()


def test_only_project_admins_edit_projects(api, alice, anna, project) -> None:
    url = f"/api/v1/projects/{project.pk}/"
    denied = api(anna).patch(url, {"name": "Renamed"}, format="json")
    assert denied.status_code == 403
    assert "admins" in denied.json()["detail"]
    ok = api(alice).patch(url, {"name": "Renamed", "overlap": 3}, format="json")
    assert ok.status_code == 200
    project.refresh_from_db()
    assert (project.name, project.overlap) == ("Renamed", 3)


def test_bad_project_fields_are_400_and_change_nothing(api, alice, project, other_project) -> None:
    url = f"/api/v1/projects/{project.pk}/"
    for payload, words in [
        ({"overlap": 0}, "overlap"),
        ({"task_type": "translate"}, "task_type"),
        ({"slug": "elsewhere"}, "slug already exists"),
        ({"name": "Fine", "slug": "not a slug!"}, "slug"),
    ]:
        response = api(alice).patch(url, payload, format="json")
        assert response.status_code == 400, payload
        assert words in response.json()["detail"]
    project.refresh_from_db()
    assert (project.name, project.slug, project.overlap) == ("Support answers", "support", 1)


def test_members_add_and_change_role(api, alice, oscar, project) -> None:
    url = f"/api/v1/projects/{project.pk}/members/"
    assert (
        api(alice).post(url, {"username": "oscar", "role": "annotator"}, format="json").status_code
        == 201
    )
    assert (
        api(alice).post(url, {"username": "oscar", "role": "reviewer"}, format="json").status_code
        == 201
    )
    assert Membership.objects.get(project=project, user=oscar).role == "reviewer"
    roles = {m["username"]: m["role"] for m in api(alice).get(url).json()}
    assert roles == {"alice": "admin", "rita": "reviewer", "anna": "annotator", "oscar": "reviewer"}
    missing = api(alice).post(url, {"username": "ghost", "role": "annotator"}, format="json")
    assert missing.status_code == 400 and "ghost" in missing.json()["detail"]
    bad_role = api(alice).post(url, {"username": "oscar", "role": "owner"}, format="json")
    assert bad_role.status_code == 400


def test_the_last_admin_cannot_be_demoted(api, alice, project) -> None:
    url = f"/api/v1/projects/{project.pk}/members/"
    response = api(alice).post(url, {"username": "alice", "role": "annotator"}, format="json")
    assert response.status_code == 400
    assert "at least one admin" in response.json()["detail"]


def test_guidelines_are_versioned_sanitized_and_acknowledged(api, alice, anna, project) -> None:
    url = f"/api/v1/projects/{project.pk}/guidelines/"
    body = "# Rules\n\nBe kind.<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    first = api(alice).post(url, {"body": body}, format="json")
    assert first.status_code == 201
    html = first.json()["html"]
    assert "<h1>Rules</h1>" in html
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html
    assert api(anna).post(url, {"body": "mine"}, format="json").status_code == 403
    second = api(alice).post(url, {"body": "Version two"}, format="json").json()
    assert second["version"] == 2
    versions = [g["version"] for g in api(anna).get(url).json()]
    assert versions == [2, 1]
    ack = api(anna).post(f"/api/v1/projects/{project.pk}/guidelines/acknowledge/")
    assert ack.status_code == 200 and ack.json()["version"] == 2
    assert GuidelineAcknowledgement.objects.filter(user=anna, guideline__version=2).exists()
    empty = api(alice).post(url, {"body": "   "}, format="json")
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]


def test_acknowledging_with_no_guideline_is_a_clear_400(api, anna, project) -> None:
    response = api(anna).post(f"/api/v1/projects/{project.pk}/guidelines/acknowledge/")
    assert response.status_code == 400
    assert "no guideline" in response.json()["detail"]


def test_schema_and_docs_are_served(client, anna) -> None:
    client.force_login(anna)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/projects/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_unknown_api_path_is_json_404(client) -> None:
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_project_count_unchanged_after_duplicate_slug(api, alice, project, may_create) -> None:
    before = Project.objects.count()
    response = api(may_create(alice)).post(
        "/api/v1/projects/", {"name": "Other", "slug": "support"}, format="json"
    )
    assert response.status_code == 400
    assert Project.objects.count() == before


def test_project_carries_review_stages_and_checks(api, alice, project) -> None:
    url = f"/api/v1/projects/{project.pk}/"
    body = api(alice).get(url).json()
    assert body["review_stages"][0]["name"] == "Review"
    assert body["review_stages"][0]["sample_rate"] == 1.0
    assert body["checks"]["format"]["enabled"] is True
    assert body["checks"]["required_prefix"]["enabled"] is False
    stages = [
        {"name": "Peer review", "sample_rate": 1.0, "min_approvals": 1},
        {"name": "Expert review", "sample_rate": 0.2, "min_approvals": 2},
    ]
    changed = api(alice).patch(
        url,
        {
            "review_stages": stages,
            "checks": {"required_prefix": {"enabled": True, "options": {"prefix": "Support:"}}},
        },
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    body = changed.json()
    assert [s["name"] for s in body["review_stages"]] == ["Peer review", "Expert review"]
    assert body["review_stages"][1]["min_approvals"] == 2
    assert body["checks"]["required_prefix"]["options"]["prefix"] == "Support:"


def test_a_bad_part_of_a_project_patch_changes_nothing(api, alice, project) -> None:
    url = f"/api/v1/projects/{project.pk}/"
    response = api(alice).patch(
        url,
        {
            "name": "Renamed",
            "review_stages": [{"name": "Peer review", "sample_rate": 1.0, "min_approvals": 1}],
            "checks": {"no_such_check": {"enabled": True}},
        },
        format="json",
    )
    assert response.status_code == 400
    assert "no_such_check" in response.json()["detail"]
    body = api(alice).get(url).json()
    assert body["name"] == "Support answers"
    assert [s["name"] for s in body["review_stages"]] == ["Review"]
