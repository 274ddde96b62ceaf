"""Creating projects is a permission: instance staff have it and can give it to others;
everyone else sees no "New project" button and is refused with a reason."""

from __future__ import annotations

import pytest

from projects.access import CREATE_NOT_ALLOWED, may_create_projects
from projects.models import Project

pytestmark = pytest.mark.django_db

FORM = {"name": "Recipes", "slug": "", "task_type": "write", "overlap": 1, "language": "en"}


def test_members_without_the_permission_cannot_create(client, api, anna) -> None:
    client.force_login(anna)
    assert "New project" not in client.get("/projects/").content.decode()
    page = client.get("/projects/new/")
    assert page.status_code == 403 and CREATE_NOT_ALLOWED in page.content.decode()
    assert client.post("/projects/new/", FORM).status_code == 403
    response = api(anna).post("/api/v1/projects/", {"name": "Recipes"}, format="json")
    assert response.status_code == 403 and response.json()["detail"] == CREATE_NOT_ALLOWED
    assert not Project.objects.filter(name="Recipes").exists()


def test_staff_create_and_allow_others(client, api, sam, anna) -> None:
    client.force_login(sam)
    assert "New project" in client.get("/projects/").content.decode()
    assert client.post("/projects/new/", FORM).status_code == 302

    # Staff allow anna on the users page; she can then create, until they stop it.
    response = client.post(f"/users/{anna.pk}/creator/", {"allowed": "1"}, follow=True)
    assert "anna may now create projects." in response.content.decode()
    created = api(anna).post("/api/v1/projects/", {"name": "Anna's"}, format="json")
    assert created.status_code == 201
    client.post(f"/users/{anna.pk}/creator/", {"allowed": "0"})
    refused = api(anna).post("/api/v1/projects/", {"name": "Again"}, format="json")
    assert refused.status_code == 403


def test_only_staff_change_who_creates(client, anna, rita) -> None:
    client.force_login(anna)
    assert client.post(f"/users/{rita.pk}/creator/", {"allowed": "1"}).status_code == 403
    assert not may_create_projects(rita)


def test_a_new_account_may_be_allowed_at_once(api, sam) -> None:
    payload = {
        "username": "lead",
        "password": "a long enough passphrase",
        "can_create_projects": True,
    }
    assert api(sam).post("/api/v1/users/", payload, format="json").status_code == 201
    from django.contrib.auth import get_user_model

    lead = get_user_model().objects.get(username="lead")
    response = api(lead).post("/api/v1/projects/", {"name": "Lead's"}, format="json")
    assert response.status_code == 201
