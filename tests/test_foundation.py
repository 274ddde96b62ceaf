"""Settings, health, API conventions, and the production compose file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int
from tests.services import ROOT, celery_worker, wait_for


def _django_check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTEST_VERSION", "SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_secret_key_with_debug_off_refuses_to_start() -> None:
    result = _django_check({"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_deploy_check_is_clean_with_production_settings() -> None:
    env = {"DEBUG": "0", "SECRET_KEY": "x" * 20 + "k9Qz!vT#2mLp$8wRa7@Yc4^Nd6&Hs1*Gb", "HTTPS": "1"}
    result = _django_check(env, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_env_helpers_name_the_variable_on_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG")
    monkeypatch.setenv("SOME_NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER"):
        env_int("SOME_NUMBER", 1)
    monkeypatch.setenv("SOME_FLAG", "yes")
    assert env_bool("SOME_FLAG") is True


def test_healthz_reports_database_and_broker(db, client, settings) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] == ("ok" if settings.REDIS_URL else "eager")


def test_healthz_is_503_when_the_broker_is_down(db, client, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("error")


def test_compose_describes_the_production_stack() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"db", "redis", "web", "worker", "beat"} <= set(services)
    assert "postgres" in services["db"]["image"]
    assert "redis" in services["redis"]["image"]
    assert "gunicorn" in " ".join(services["web"]["command"])
    assert "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]
    for name in ("db", "redis", "web"):
        assert "healthcheck" in services[name], f"{name} has no health check"
    assert set(compose["volumes"]) >= {"pgdata", "media"}
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")
        # Commands name things that exist in this repository.
        assert services[name].get("build") or services[name].get("image")
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile and "collectstatic" in dockerfile
    assert Path(ROOT / "config" / "wsgi.py").exists()


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_end_to_end() -> None:
    from config.celery import app, ping

    app.conf.task_always_eager = False
    with celery_worker() as worker:
        result = ping.delay("hello from the test")
        lines: list[str] = []

        def done() -> bool:
            line = worker.stdout.readline().decode() if worker.stdout else ""
            lines.append(line)
            return result.id in line and "succeeded" in line

        wait_for(done, timeout=60, interval=0)
        assert "hello from the test" in lines[-1]


def test_models_and_migrations_agree() -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTEST_VERSION",)}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env={**clean, "DEBUG": "1", "DATABASE_URL": "sqlite:///:memory:"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("key", ["short-key", "a" * 60, "abab" * 20])
def test_a_weak_secret_key_refuses_to_start_with_debug_off(key: str) -> None:
    result = _django_check({"DEBUG": "0", "SECRET_KEY": key})
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr


def test_https_settings_are_the_default_with_debug_off_and_plain_http_is_a_choice() -> None:
    key = "k9Qz!vT#2mLp$8wRa7@Yc4^Nd6&Hs1*Gb" * 2
    show = "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0)"
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTEST_VERSION", "SECRET_KEY", "DEBUG", "HTTPS")
    }
    for extra, expected in (({}, "True True True"), ({"HTTPS": "0"}, "False False False")):
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", show],
            cwd=ROOT,
            env={**clean, "DEBUG": "0", "SECRET_KEY": key, **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.stdout.strip() == expected, result.stderr
