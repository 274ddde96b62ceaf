"""People meet the app's own "not found" and "not allowed" pages, in the demo (DEBUG) as
in production; the API answers JSON; pages name a favicon."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug(request, settings) -> bool:
    settings.DEBUG = request.param
    return request.param


def test_unknown_path_is_the_app_404(client, anna, debug) -> None:
    client.force_login(anna)
    response = client.get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "There is nothing here, or it is not yours to see." in html
    assert "URLconf" not in html and "Django tried these URL patterns" not in html


def test_foreign_project_is_the_app_404(client, oscar, project, debug) -> None:
    client.force_login(oscar)
    response = client.get(f"/projects/{project.slug}/")
    assert response.status_code == 404
    assert "There is nothing here" in response.content.decode()


def test_missing_slash_still_redirects(client, anna, debug) -> None:
    client.force_login(anna)
    response = client.get("/projects")
    assert response.status_code == 301 and response["Location"].endswith("/projects/")


def test_api_404_stays_json(client, anna, debug) -> None:
    client.force_login(anna)
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_not_allowed_is_the_app_403(client, anna, debug) -> None:
    client.force_login(anna)
    response = client.get("/users/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Not allowed" in html and "Only instance staff manage user accounts." in html
    assert "admin/login" not in html


def test_pages_name_a_favicon_that_is_served(client, anna, debug) -> None:
    client.force_login(anna)
    html = client.get("/projects/").content.decode()
    assert 'rel="icon"' in html and "favicon.svg" in html
