"""Malformed JSON is a 400 with a message everywhere, never a 500: bodies nested
deeper than any client needs, text no database can store (NUL, unpaired surrogates),
bytes that are not UTF-8; and such text is never echoed back broken."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from checks.registry import REGISTRY
from checks.registry.base import CheckContext
from projects.models import Guideline, Project


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def post_raw(client: Any, url: str, body: bytes | str, method: str = "post") -> Any:
    return getattr(client, method)(url, data=body, content_type="application/json")


@pytest.mark.django_db
@pytest.mark.parametrize("levels", [65, 100_000])
def test_deep_nesting_on_the_anonymous_token_endpoint_is_a_400(levels: int) -> None:
    response = post_raw(APIClient(), "/api/v1/auth/token/", '{"username": ' + deep(levels) + "}")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


@pytest.mark.django_db
def test_deep_nesting_on_a_signed_in_endpoint_is_a_400(api: Any, alice: Any, project: Any) -> None:
    response = post_raw(
        api(alice),
        f"/api/v1/projects/{project.pk}/",
        '{"review_stages": ' + deep(5000) + "}",
        "patch",
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


@pytest.mark.django_db
def test_bytes_that_are_not_utf8_are_a_400(api: Any, alice: Any, project: Any) -> None:
    response = post_raw(
        api(alice), f"/api/v1/projects/{project.pk}/", b'{"name": "\xff\xfe"}', "patch"
    )
    assert response.status_code == 400
    assert "not UTF-8" in response.json()["detail"]


@pytest.mark.django_db
def test_an_unpaired_surrogate_in_a_field_name_is_echoed_safely(
    api: Any, alice: Any, project: Any
) -> None:
    body = '{"name": "Fine", "\\ud800colour": "blue"}'
    response = post_raw(api(alice), f"/api/v1/projects/{project.pk}/", body, "patch")
    assert response.status_code == 400
    assert "\ufffdcolour" in response.json()["detail"]


@pytest.mark.django_db
def test_nul_and_unpaired_surrogates_in_text_are_cleaned_before_storing(
    api: Any, alice: Any, project: Any
) -> None:
    body = json.dumps({"body": "Be kind.\u0000 Cite \ud83d sources."}, ensure_ascii=True)
    response = post_raw(api(alice), f"/api/v1/projects/{project.pk}/guidelines/", body)
    assert response.status_code == 201, response.content
    assert Guideline.objects.get(project=project).body == "Be kind. Cite \ufffd sources."
    renamed = post_raw(
        api(alice), f"/api/v1/projects/{project.pk}/", '{"name": "Sup\\u0000port \\udc00"}', "patch"
    )
    assert renamed.status_code == 200
    assert Project.objects.get(pk=project.pk).name == "Support \ufffd"


@pytest.mark.django_db
def test_the_live_checks_refuse_deeply_nested_messages(project: Any, anna: Any) -> None:
    client = Client()
    client.force_login(anna)
    response = client.post("/projects/support/checks/live/", {"messages": deep(100_000)})
    assert response.status_code == 400


def test_a_json_answer_nested_too_deeply_fails_the_json_check() -> None:
    messages = [
        {"role": "user", "content": "JSON please"},
        {"role": "assistant", "content": deep(100_000)},
    ]
    verdict = REGISTRY["json"].run(messages, CheckContext(), {})
    assert verdict.failed and "nested too deeply" in verdict.message
