"""Model endpoints through the API: admins only, the key write-only and encrypted at
rest, private addresses refused unless allowed, and "test connection" saying what
happened."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from assist.families import guess_family
from assist.models import Endpoint
from tests.assist.fake_llm import FakeLLM

pytestmark = pytest.mark.django_db


def url(project: Any, rest: str = "") -> str:
    return f"/api/v1/projects/{project.pk}/endpoints/{rest}"


def create(api: Any, user: Any, project: Any, **fields: Any) -> Any:
    body = {"name": "local", "base_url": "http://127.0.0.1:9/v1", "model": "gpt-4o-mini", **fields}
    return api(user).post(url(project), body, format="json")


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gpt-4o-mini", "openai"),
        ("gpt-3.5-turbo", "openai"),
        ("o3-mini", "openai"),
        ("claude-3-5-sonnet", "anthropic"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama"),
        ("llama3.1:8b", "llama"),
        ("mixtral-8x7b", "mistral"),
        ("qwen2.5:7b", "qwen"),
        ("gemma2:9b", "google"),
        ("gemini-1.5-pro", "google"),
        ("deepseek-chat", "deepseek"),
        ("phi3:mini", "microsoft"),
        ("command-r-plus", "cohere"),
        ("something-else", ""),
    ],
)
def test_family_is_guessed_from_the_model_name(model: str, family: str) -> None:
    assert guess_family(model) == family


def test_admin_creates_an_endpoint_and_the_key_never_comes_back(
    api: Any, alice: Any, project: Any, fake_llm: FakeLLM
) -> None:
    response = create(api, alice, project, base_url=fake_llm.url, api_key="sk-very-secret-123")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["family"] == "openai"
    assert data["has_api_key"] is True
    assert "sk-very-secret-123" not in response.content.decode()
    assert "api_key" not in data and "api_key_encrypted" not in data
    listed = api(alice).get(url(project)).content.decode()
    assert "sk-very-secret-123" not in listed
    # Encrypted at rest: the column holds no trace of the key.
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key_encrypted FROM assist_endpoint")
        (stored,) = cursor.fetchone()
    assert stored and "sk-very-secret-123" not in stored


def test_key_replaced_kept_and_cleared(
    api: Any, alice: Any, project: Any, fake_llm: FakeLLM
) -> None:
    eid = create(api, alice, project, base_url=fake_llm.url, api_key="one").json()["id"]
    first = Endpoint.objects.get(pk=eid).api_key_encrypted
    api(alice).patch(url(project, f"{eid}/"), {"timeout": 30}, format="json")
    assert Endpoint.objects.get(pk=eid).api_key_encrypted == first
    api(alice).patch(url(project, f"{eid}/"), {"api_key": "two"}, format="json")
    assert Endpoint.objects.get(pk=eid).api_key_encrypted not in ("", first)
    response = api(alice).patch(url(project, f"{eid}/"), {"api_key": ""}, format="json")
    assert response.json()["has_api_key"] is False


def test_a_private_base_url_is_refused_unless_allowed(
    api: Any, alice: Any, project: Any, settings: Any
) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = []
    response = create(api, alice, project, base_url="http://127.0.0.1:8080/v1")
    assert response.status_code == 400
    assert "private, loopback or link-local" in response.json()["detail"]
    assert not Endpoint.objects.exists()
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    assert create(api, alice, project, base_url="http://127.0.0.1:8080/v1").status_code == 201


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "name"),
        ({"timeout": 0}, "timeout must be a number between 1 and 600"),
        ({"max_concurrency": 0}, "max_concurrency must be a whole number"),
        ({"api_key_env": "not a name!"}, "environment variable"),
        ({"api_key": "x", "api_key_env": "OPENAI_API_KEY"}, "not both"),
        ({"price_input": -1}, "price"),
        ({"colour": "red"}, "Unknown field(s): colour"),
        ({"base_url": "ftp://example.org"}, "http:// or https://"),
    ],
)
def test_bad_input_is_a_400_that_says_why(
    api: Any, alice: Any, project: Any, fake_llm: FakeLLM, fields: dict[str, Any], message: str
) -> None:
    response = create(api, alice, project, **{"base_url": fake_llm.url, **fields})
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Endpoint.objects.exists()


def test_same_name_twice_is_refused(api: Any, alice: Any, project: Any, fake_llm: FakeLLM) -> None:
    assert create(api, alice, project, base_url=fake_llm.url).status_code == 201
    response = create(api, alice, project, base_url=fake_llm.url)
    assert response.status_code == 400
    assert "already has an endpoint called 'local'" in response.json()["detail"]


def test_only_admins(
    api: Any, alice: Any, anna: Any, rita: Any, oscar: Any, project: Any, fake_llm: FakeLLM
) -> None:
    eid = create(api, alice, project, base_url=fake_llm.url).json()["id"]
    for user in (anna, rita):
        assert api(user).get(url(project)).status_code == 403
        assert create(api, user, project, name="x", base_url=fake_llm.url).status_code == 403
        assert api(user).post(url(project, f"{eid}/test/")).status_code == 403
    assert api(oscar).get(url(project)).status_code == 404
    assert api(oscar).get(url(project, f"{eid}/")).status_code == 404


def test_an_endpoint_of_another_project_is_not_found(
    api: Any, alice: Any, oscar: Any, project: Any, other_project: Any, fake_llm: FakeLLM
) -> None:
    eid = create(api, oscar, other_project, base_url=fake_llm.url).json()["id"]
    assert api(alice).get(url(project, f"{eid}/")).status_code == 404
    assert api(alice).delete(url(project, f"{eid}/")).status_code == 404
    assert Endpoint.objects.filter(pk=eid).exists()


def test_connection_shows_the_answer_and_latency(
    api: Any, alice: Any, project: Any, fake_llm: FakeLLM
) -> None:
    eid = create(api, alice, project, base_url=fake_llm.url, model="drafter").json()["id"]
    result = api(alice).post(url(project, f"{eid}/test/")).json()
    assert result["ok"] is True
    assert result["answer"].startswith("Draft: Reply with the single word")
    assert result["latency_ms"] >= 0


@pytest.mark.parametrize(
    ("model", "key", "message"),
    [
        ("missing", "", "has no model 'missing'"),
        ("drafter", "wrong", "refused the API key (401"),
        ("error", "", "had an error (500)"),
    ],
)
def test_connection_says_what_went_wrong(
    api: Any, alice: Any, project: Any, fake_llm: FakeLLM, model: str, key: str, message: str
) -> None:
    eid = create(api, alice, project, base_url=fake_llm.url, model=model, api_key=key).json()["id"]
    result = api(alice).post(url(project, f"{eid}/test/")).json()
    assert result["ok"] is False
    assert message in result["message"]


def test_connection_is_time_boxed(api: Any, alice: Any, project: Any, fake_llm: FakeLLM) -> None:
    fake_llm.slow_seconds = 3
    eid = create(api, alice, project, base_url=fake_llm.url, model="slow", timeout=1).json()["id"]
    result = api(alice).post(url(project, f"{eid}/test/")).json()
    assert result["ok"] is False and "did not answer within 1 s" in result["message"]


def test_connection_refused_is_named(api: Any, alice: Any, project: Any, settings: Any) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    eid = create(api, alice, project, base_url="http://127.0.0.1:9/v1", timeout=2).json()["id"]
    result = api(alice).post(url(project, f"{eid}/test/")).json()
    assert "connection refused" in result["message"]


def test_key_from_a_missing_environment_variable(
    api: Any, alice: Any, project: Any, fake_llm: FakeLLM, monkeypatch: Any
) -> None:
    monkeypatch.delenv("SCRIPTORIUM_TEST_KEY", raising=False)
    eid = create(
        api, alice, project, base_url=fake_llm.url, api_key_env="SCRIPTORIUM_TEST_KEY"
    ).json()["id"]
    result = api(alice).post(url(project, f"{eid}/test/")).json()
    assert "SCRIPTORIUM_TEST_KEY" in result["message"] and "not set" in result["message"]
    monkeypatch.setenv("SCRIPTORIUM_TEST_KEY", "wrong")
    result = api(alice).post(url(project, f"{eid}/test/")).json()
    assert "401" in result["message"]
