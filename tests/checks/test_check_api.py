"""HTTP API and pages of automated checks: configuration, re-check jobs, job status,
the live checks fragment and the redact action; who may use them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from annotation.states import State
from checks.config import project_checks
from checks.models import CheckConfig
from projects.models import Job
from tests.factories import make_item


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- API ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_reads_and_patches_the_check_configuration(
    project: Any, alice: Any, api: Any, django_assert_num_queries: Any
) -> None:
    client = api(alice)
    # Queries: project, membership, check configs.
    with django_assert_num_queries(3):
        response = client.get(f"/api/v1/projects/{project.pk}/checks/")
    assert response.status_code == 200
    by_name = {c["name"]: c for c in response.json()}
    assert by_name["pii"]["enabled"] is True and by_name["pii"]["severity"] == "warn"
    assert by_name["near_duplicate"]["options"]["threshold"] == 0.8
    assert by_name["required_prefix"]["enabled"] is False

    response = client.patch(
        f"/api/v1/projects/{project.pk}/checks/",
        {"pii": {"severity": "block"}, "near_duplicate": {"options": {"threshold": 0.9}}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    by_name = {c["name"]: c for c in response.json()}
    assert by_name["pii"]["severity"] == "block"
    assert by_name["near_duplicate"]["options"]["threshold"] == 0.9
    assert CheckConfig.objects.get(project=project, name="pii").severity == "block"


@pytest.mark.django_db
def test_bad_patch_is_a_400_with_a_detail_and_changes_nothing(
    project: Any, alice: Any, api: Any
) -> None:
    response = api(alice).patch(
        f"/api/v1/projects/{project.pk}/checks/",
        {"pii": {"severity": "block"}, "length": {"options": {"max_chars": "lots"}}},
        format="json",
    )
    assert response.status_code == 400
    assert "max_chars must be a number" in response.json()["detail"]
    assert next(c for c in project_checks(project) if c.name == "pii").severity == "warn"
    response = api(alice).patch(
        f"/api/v1/projects/{project.pk}/checks/", ["nonsense"], format="json"
    )
    assert response.status_code == 400


@pytest.mark.django_db
def test_checks_api_roles(
    project: Any, other_project: Any, anna: Any, rita: Any, oscar: Any, api: Any
) -> None:
    assert api(anna).get(f"/api/v1/projects/{project.pk}/checks/").status_code == 403
    assert (
        api(rita).patch(f"/api/v1/projects/{project.pk}/checks/", {}, format="json").status_code
        == 403
    )
    assert api(oscar).get(f"/api/v1/projects/{project.pk}/checks/").status_code == 404
    assert (
        api(anna)
        .post(f"/api/v1/projects/{project.pk}/recheck/", {"state": "in_review"}, format="json")
        .status_code
        == 403
    )


@pytest.mark.django_db(transaction=True)
def test_recheck_job_runs_and_is_visible_at_the_jobs_endpoint(
    project: Any, alice: Any, oscar: Any, api: Any
) -> None:
    item = make_item(project, answer="Lorem ipsum dolor sit amet.", state=State.IN_REVIEW, stage=0)
    response = api(alice).post(
        f"/api/v1/projects/{project.pk}/recheck/", {"items": [item.pk]}, format="json"
    )
    assert response.status_code == 202, response.json()
    job = response.json()
    assert job["kind"] == "recheck" and job["total"] == 1
    status = api(alice).get(f"/api/v1/jobs/{job['id']}/").json()
    assert status["status"] == "succeeded" and status["progress"] == 1
    assert status["result"] == {"fail": 1}
    item.refresh_from_db()
    assert (
        item.state == State.IN_REVIEW
    )  # a re-check shows new results; it does not pull items back
    assert api(oscar).get(f"/api/v1/jobs/{job['id']}/").status_code == 404
    assert api(alice).get("/api/v1/jobs/999999/").status_code == 404


@pytest.mark.django_db
def test_recheck_validation(project: Any, other_project: Any, alice: Any, api: Any) -> None:
    foreign = make_item(other_project, answer="x")
    response = api(alice).post(
        f"/api/v1/projects/{project.pk}/recheck/", {"items": [foreign.pk]}, format="json"
    )
    assert response.status_code == 400 and "not in this project" in response.json()["detail"]
    response = api(alice).post(f"/api/v1/projects/{project.pk}/recheck/", {}, format="json")
    assert response.status_code == 400
    response = api(alice).post(
        f"/api/v1/projects/{project.pk}/recheck/", {"state": "dancing"}, format="json"
    )
    assert response.status_code == 400
    assert not Job.objects.exists()


# --- pages ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_checks_page_lists_every_check_and_saves_a_form(project: Any, alice: Any) -> None:
    client = login(alice)
    page = client.get("/projects/support/checks/")
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        "Personal data and secrets" in html and "Near-duplicate" in html and "Re-run checks" in html
    )
    response = client.post(
        "/projects/support/checks/",
        {
            "check": "forbidden_phrases",
            "enabled": "on",
            "severity": "warn",
            "opt-phrases": "lol\nbtw\n",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/projects/support/checks/#check-forbidden_phrases"
    config = CheckConfig.objects.get(project=project, name="forbidden_phrases")
    assert (
        config.enabled and config.severity == "warn" and config.options["phrases"] == ["lol", "btw"]
    )


@pytest.mark.django_db
def test_checks_page_htmx_save_returns_the_card_with_errors(project: Any, alice: Any) -> None:
    response = login(alice).post(
        "/projects/support/checks/",
        {"check": "required_prefix", "enabled": "on", "severity": "block", "opt-prefix": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200  # htmx swaps only 2xx: the card comes back with the error
    html = response.content.decode()
    assert "set prefix before enabling" in html
    assert 'hx-post="/projects/support/checks/"' in html and "<h1>" not in html
    assert not next(c for c in project_checks(project) if c.name == "required_prefix").enabled


@pytest.mark.django_db
def test_a_failed_save_shows_the_card_as_typed(project: Any, alice: Any) -> None:
    typed = {"check": "regex", "enabled": "on", "severity": "block", "opt-pattern": "([unclosed"}
    typed |= {"opt-mode": "forbid", "opt-description": "No brackets"}
    response = login(alice).post("/projects/support/checks/", typed, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "not a valid regular expression" in html
    assert 'name="opt-pattern" value="([unclosed"' in html
    assert 'name="enabled" checked' in html
    assert '<option value="forbid" selected>' in html and 'value="No brackets"' in html
    assert '<option value="block" selected>' in html
    assert not CheckConfig.objects.filter(project=project, name="regex").exists()  # nothing saved


@pytest.mark.django_db
def test_a_failed_save_without_htmx_shows_the_page_with_the_card_as_typed(
    project: Any, alice: Any
) -> None:
    response = login(alice).post(
        "/projects/support/checks/",
        {"check": "forbidden_phrases", "enabled": "on", "severity": "warn", "opt-phrases": "  \n"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>" in html and "set phrases before enabling" in html
    card = html[html.index('id="check-forbidden_phrases"') :]
    card = card[: card.index("</section>")]
    assert 'name="enabled" checked' in card
    response = login(alice).post(
        "/projects/support/checks/",
        {"check": "near_duplicate", "enabled": "on", "severity": "warn", "opt-threshold": "7"},
        HTTP_HX_REQUEST="true",
    )
    assert 'name="opt-threshold" value="7"' in response.content.decode()


@pytest.mark.django_db
def test_checks_page_htmx_poll_returns_only_the_jobs(project: Any, alice: Any) -> None:
    client = login(alice)
    page = client.get("/projects/support/checks/").content.decode()
    assert 'action="/projects/support/checks/recheck/"' in page and "<h1>" in page
    jobs = client.get("/projects/support/checks/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="jobs"' in jobs and "No re-checks yet." in jobs
    assert "<h1>" not in jobs and "Re-run checks" not in jobs


@pytest.mark.django_db
def test_checks_page_is_for_admins(project: Any, anna: Any, oscar: Any) -> None:
    assert login(anna).get("/projects/support/checks/").status_code == 403
    assert login(oscar).get("/projects/support/checks/").status_code == 404


@pytest.mark.django_db
def test_recheck_form_starts_a_job(project: Any, alice: Any) -> None:
    make_item(project, answer="Fine answer here.", state=State.IN_REVIEW, stage=0)
    response = login(alice).post(
        "/projects/support/checks/recheck/", {"state": "in_review"}, follow=True
    )
    assert response.redirect_chain == [("/projects/support/checks/#recheck", 302)]
    assert "Re-checking 1 items" in response.content.decode()
    assert Job.objects.get(project=project).total == 1


def live_post(client: Client, messages: Any, **extra: Any) -> Any:
    return client.post(
        "/projects/support/checks/live/", {"messages": json.dumps(messages), **extra}
    )


@pytest.mark.django_db
def test_live_checks_render_the_results_fragment(
    project: Any, anna: Any, django_assert_max_num_queries: Any
) -> None:
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "As an AI language model, TODO"},
    ]
    client = login(anna)
    # Queries: session, user, project, membership, check configs.
    with django_assert_max_num_queries(5):
        response = live_post(client, messages)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "Placeholder or unfinished text" in html and 'class="badge fail"' in html
    assert "Refusal or AI boilerplate" in html and 'class="badge warn"' in html


@pytest.mark.django_db
def test_live_checks_escape_user_text(project: Any, anna: Any) -> None:
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "<script>alert(1)</script> {{x}}"},
    ]
    html = live_post(login(anna), messages).content.decode()
    assert "</script>" not in html and "&lt;/script&gt;" in html


@pytest.mark.django_db
def test_live_checks_use_the_items_draft_and_refuse_foreign_items(
    project: Any, other_project: Any, anna: Any, oscar: Any
) -> None:
    from projects.services import update_project

    update_project(project=project, task_type="correct")
    item = make_item(project, draft="Paris is in Italy.")
    messages = [
        {"role": "user", "content": "Where is Paris?"},
        {"role": "assistant", "content": "Paris is in Italy."},
    ]
    html = live_post(login(anna), messages, item=str(item.pk)).content.decode()
    assert "model&#x27;s draft unchanged" in html or "model's draft unchanged" in html
    foreign = make_item(other_project)
    assert live_post(login(anna), messages, item=str(foreign.pk)).status_code == 404
    assert live_post(login(oscar), messages).status_code == 404
    assert (
        login(anna).post("/projects/support/checks/live/", {"messages": "{broken"}).status_code
        == 400
    )


@pytest.mark.django_db
def test_redact_replaces_personal_data(project: Any, anna: Any) -> None:
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Mail jane@example.com."},
    ]
    response = login(anna).post(
        "/projects/support/checks/redact/", {"messages": json.dumps(messages)}
    )
    assert response.status_code == 200
    assert response.json()["messages"][1]["content"] == "Mail [EMAIL]."
