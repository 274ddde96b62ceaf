"""API tokens are stored hashed, expire, are named and revocable, die with a password
change or a logout; logins lock out after repeated failures by account and by address."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.services import PASSWORD

TOKEN_URL = "/api/v1/auth/token/"


def get_token(username: str = "anna", password: str = PASSWORD, **extra: Any) -> Any:
    return APIClient().post(
        TOKEN_URL, {"username": username, "password": password, **extra}, format="json"
    )


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.mark.django_db
def test_the_database_holds_a_digest_never_the_token(anna: Any) -> None:
    key = get_token(name="laptop").json()["token"]
    row = ApiToken.objects.get(user=anna)
    assert row.name == "laptop" and row.prefix == key[:8]
    assert key not in row.digest and row.digest != key
    assert with_token(key).get("/api/v1/projects/").status_code == 200


@pytest.mark.django_db
def test_an_expired_token_is_refused_with_a_reason(anna: Any) -> None:
    key = get_token(expires_in_days=1).json()["token"]
    ApiToken.objects.filter(user=anna).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = with_token(key).get("/api/v1/projects/")
    assert response.status_code == 401
    assert "unknown, revoked or expired" in response.json()["detail"]


@pytest.mark.django_db
def test_tokens_expire_after_the_default_days_unless_told(anna: Any, settings: Any) -> None:
    body = get_token().json()
    expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert abs(
        expires - (timezone.now() + dt.timedelta(days=settings.API_TOKEN_DAYS))
    ) < dt.timedelta(minutes=1)
    bad = get_token(expires_in_days=0)
    assert bad.status_code == 400 and "expires_in_days" in bad.json()


@pytest.mark.django_db
def test_several_named_tokens_and_revoking_one(anna: Any) -> None:
    ci = get_token(name="ci").json()["token"]
    laptop = get_token(name="laptop").json()["token"]
    listed = with_token(ci).get("/api/v1/auth/tokens/").json()
    assert sorted(t["name"] for t in listed) == ["ci", "laptop"]
    assert all(ci not in str(t) and laptop not in str(t) for t in listed)
    laptop_id = next(t["id"] for t in listed if t["name"] == "laptop")
    assert with_token(ci).delete(f"/api/v1/auth/tokens/{laptop_id}/").status_code == 204
    assert with_token(laptop).get("/api/v1/projects/").status_code == 401
    assert with_token(ci).get("/api/v1/projects/").status_code == 200


@pytest.mark.django_db
def test_someone_elses_token_cannot_be_revoked(anna: Any, rita: Any) -> None:
    mine = get_token().json()["token"]
    get_token("rita")
    ritas = ApiToken.objects.get(user=rita)
    assert with_token(mine).delete(f"/api/v1/auth/tokens/{ritas.pk}/").status_code == 404
    assert ApiToken.objects.filter(pk=ritas.pk).exists()


@pytest.mark.django_db
def test_a_new_password_revokes_every_token(anna: Any) -> None:
    key = get_token().json()["token"]
    anna.set_password("another long passphrase")
    anna.save()
    assert with_token(key).get("/api/v1/projects/").status_code == 401
    assert not ApiToken.objects.filter(user=anna).exists()


@pytest.mark.django_db
def test_logout_revokes_the_token_it_was_called_with(anna: Any) -> None:
    key = get_token().json()["token"]
    other = get_token(name="other").json()["token"]
    assert with_token(key).post("/api/v1/auth/logout/").status_code == 204
    assert with_token(key).get("/api/v1/projects/").status_code == 401
    assert with_token(other).get("/api/v1/projects/").status_code == 200


@pytest.mark.django_db
def test_the_token_endpoint_refuses_unknown_fields(anna: Any) -> None:
    response = get_token(scope="admin")
    assert response.status_code == 400
    assert "scope" in str(response.json())
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_repeated_failures_lock_the_account_on_the_api(anna: Any, settings: Any) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert get_token(password="wrong").status_code == 400
    locking = get_token(password="wrong")
    assert locking.status_code == 429
    assert "Try again in 15 minutes" in locking.json()["detail"]
    response = get_token()  # the right password, too late
    assert response.status_code == 429
    assert "Too many failed logins" in response.json()["detail"]
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_failures_from_one_address_lock_it_for_every_account(
    anna: Any, rita: Any, settings: Any
) -> None:
    for n in range(settings.AXES_FAILURE_LIMIT):
        get_token(f"nobody{n}", "wrong")
    assert get_token("rita").status_code == 429


@pytest.mark.django_db
def test_the_login_form_locks_out_with_a_page_saying_when_to_retry(
    anna: Any, settings: Any
) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        page = client.post("/login/", {"username": "anna", "password": "wrong"})
        assert page.status_code == 200
    assert client.post("/login/", {"username": "anna", "password": "x"}).status_code == 429
    page = client.post("/login/", {"username": "anna", "password": PASSWORD})
    assert page.status_code == 429
    assert "Try again in 15 minutes" in page.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_token_exchange_is_throttled_per_address(anna: Any) -> None:
    codes = [get_token().status_code for _ in range(25)]
    assert codes[:20] == [200] * 20
    assert codes[20:] == [429] * 5


@pytest.mark.django_db
def test_the_tokens_page_shows_a_new_key_once_and_revokes(anna: Any) -> None:
    client = Client()
    client.force_login(anna)
    page = client.post("/account/tokens/", {"name": "nightly export", "expires_in_days": "30"})
    body = page.content.decode()
    row = ApiToken.objects.get(user=anna)
    assert "Copy it now" in body and f"{row.prefix}" in body
    again = client.get("/account/tokens/").content.decode()
    assert "Copy it now" not in again and "nightly export" in again
    client.post(f"/account/tokens/{row.pk}/revoke/")
    assert not ApiToken.objects.exists()
    assert client.post("/account/tokens/", {"name": ""}).status_code == 400
