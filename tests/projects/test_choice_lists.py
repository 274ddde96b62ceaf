"""Skip reasons and flag categories are the project's own: set on the Settings page and
through the project API, offered by the editor, and enforced by skip and flag."""

from __future__ import annotations

import pytest

from annotation.models import AssignmentStatus
from projects.models import DEFAULT_FLAG_CATEGORIES, DEFAULT_SKIP_REASONS, MAX_CHOICES
from tests.conftest import api_for
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def test_new_projects_start_with_the_usual_lists(project, alice) -> None:
    data = api_for(alice).get(f"/api/v1/projects/{project.pk}/").json()
    assert data["skip_reasons"] == DEFAULT_SKIP_REASONS
    assert data["flag_categories"] == DEFAULT_FLAG_CATEGORIES
    assert data["anchoring_share"] == 0.0


def test_the_api_changes_the_lists(project, alice) -> None:
    r = api_for(alice).patch(
        f"/api/v1/projects/{project.pk}/",
        {"skip_reasons": ["Needs engineering", " Other "], "flag_categories": ["pii", "spam"]},
        format="json",
    )
    assert r.status_code == 200, r.json()
    project.refresh_from_db()
    assert project.skip_reasons == ["Needs engineering", "Other"]
    assert project.flag_categories == ["pii", "spam"]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ([], "at least one"),
        (["Fine", ""], "Choice 2 is empty"),
        (["Fine", "fine"], "listed twice"),
        ([f"reason {n}" for n in range(MAX_CHOICES + 1)], "At most 20"),
        ("Needs engineering", "list"),
        ([1, 2], "list"),
    ],
)
def test_the_api_refuses_a_bad_list_with_a_clear_400(project, alice, value, words) -> None:
    r = api_for(alice).patch(
        f"/api/v1/projects/{project.pk}/", {"skip_reasons": value, "name": "Renamed"}, format="json"
    )
    assert r.status_code == 400
    assert words in str(r.json())
    project.refresh_from_db()
    assert project.skip_reasons == DEFAULT_SKIP_REASONS and project.name == "Support answers"


def test_the_anchoring_share_is_a_share(project, alice) -> None:
    client = api_for(alice)
    assert (
        client.patch(
            f"/api/v1/projects/{project.pk}/", {"anchoring_share": 1.5}, format="json"
        ).status_code
        == 400
    )
    r = client.patch(f"/api/v1/projects/{project.pk}/", {"anchoring_share": 0.25}, format="json")
    assert r.status_code == 200 and r.json()["anchoring_share"] == 0.25


def test_only_the_admin_changes_the_lists(project, anna) -> None:
    r = api_for(anna).patch(
        f"/api/v1/projects/{project.pk}/", {"skip_reasons": ["x"]}, format="json"
    )
    assert r.status_code == 403


def _settings(client, project, **changes):
    page = client.get(f"/projects/{project.slug}/settings/")
    assert page.status_code == 200
    form = page.context["form"]
    data = {
        name: form[name].value() if form[name].value() is not None else "" for name in form.fields
    }
    data["skip_reasons"] = "\n".join(project.skip_reasons)
    data["flag_categories"] = "\n".join(project.flag_categories)
    data.update(changes)
    return client.post(f"/projects/{project.slug}/settings/", data)


def test_the_settings_page_edits_the_lists_one_per_line(client, project, alice) -> None:
    client.force_login(alice)
    page = client.get(f"/projects/{project.slug}/settings/").content.decode()
    assert "I lack the expertise\nThe prompt is unclear" in page
    r = _settings(client, project, skip_reasons="Needs engineering\r\n\r\nOther\r\n")
    assert r.status_code == 302, r.content.decode()[:2000]
    project.refresh_from_db()
    assert project.skip_reasons == ["Needs engineering", "Other"]
    assert project.flag_categories == DEFAULT_FLAG_CATEGORIES


def test_the_settings_page_shows_a_bad_list_as_an_error(client, project, alice) -> None:
    client.force_login(alice)
    r = _settings(client, project, flag_categories="spam\nSpam")
    assert r.status_code == 400
    assert "listed twice" in r.content.decode()
    project.refresh_from_db()
    assert project.flag_categories == DEFAULT_FLAG_CATEGORIES


def test_the_editor_offers_the_projects_lists(client, project, anna) -> None:
    project.skip_reasons = ["Needs engineering", "Other"]
    project.flag_categories = ["unsafe", "Contains customer data"]
    project.save()
    item = make_item(project)
    client.force_login(anna)
    client.post(f"/projects/{project.slug}/work/")
    page = client.get(f"/items/{item.pk}/").content.decode()
    assert "<option>Needs engineering</option>" in page
    assert "I lack the expertise" not in page
    assert 'value="Contains customer data"' in page and "Unsafe or harmful" in page
    assert 'value="duplicate"' not in page


def test_skip_takes_a_listed_reason_or_free_words_only_with_other(project, anna) -> None:
    project.skip_reasons = ["Needs engineering"]
    project.save()
    item = make_item(project)
    client = api_for(anna)
    client.post(f"/api/v1/projects/{project.pk}/next/")
    r = client.post(f"/api/v1/items/{item.pk}/skip/", {"reason": "Bored"}, format="json")
    assert r.status_code == 400
    assert "'Needs engineering'" in r.json()["detail"]
    r = client.post(
        f"/api/v1/items/{item.pk}/skip/",
        {"reason": "needs engineering", "note": "API change"},
        format="json",
    )
    assert r.status_code == 200
    assignment = item.assignments.get()
    assert assignment.status == AssignmentStatus.SKIPPED
    assert assignment.reason == "Skipped: Needs engineering — API change"


def test_flag_takes_only_the_projects_categories(project, anna) -> None:
    project.flag_categories = ["pii", "spam"]
    project.save()
    item = make_item(project)
    client = api_for(anna)
    client.post(f"/api/v1/projects/{project.pk}/next/")
    r = client.post(f"/api/v1/items/{item.pk}/flag/", {"category": "unsafe"}, format="json")
    assert r.status_code == 400
    assert "'pii', 'spam'" in r.json()["detail"]
    r = client.post(f"/api/v1/items/{item.pk}/flag/", {"category": "pii"}, format="json")
    assert r.status_code == 200
    item.refresh_from_db()
    assert item.state == "flagged"


def test_the_editor_form_flags_with_a_project_category(client, project, anna) -> None:
    project.flag_categories = ["Contains customer data"]
    project.save()
    item = make_item(project)
    client.force_login(anna)
    client.post(f"/projects/{project.slug}/work/")
    client.post(f"/items/{item.pk}/flag/", {"category": "Contains customer data", "note": "x"})
    item.refresh_from_db()
    assert item.state == "flagged"
    assert item.assignments.get().reason == "Contains customer data: x"
