"""Real PostgreSQL, Redis, Celery and Chromium for the tests that need them.

A test that needs a service it cannot find is skipped on a laptop, and fails when
``REQUIRE_SERVICES=1`` (CI), so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"
PASSWORD = "correct horse battery staple"
REQUIRED = os.environ.get("REQUIRE_SERVICES", "") not in ("", "0")


def missing(what: str) -> None:
    """Skip, or fail under REQUIRE_SERVICES=1, because ``what`` is not available."""
    if REQUIRED:
        pytest.fail(f"REQUIRE_SERVICES=1 but {what}")
    pytest.skip(what)


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        missing("this test needs PostgreSQL (set DATABASE_URL)")


def require_redis() -> str:
    url = settings.REDIS_URL
    if not url:
        missing("this test needs Redis (set REDIS_URL)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        missing(f"Redis at REDIS_URL does not answer: {exc}")
    return url


def require_datasets() -> Path:
    if not DATASETS.is_dir():
        missing(f"the shared datasets folder {DATASETS} is absent")
    return DATASETS


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        missing("Chromium is not installed (apt-get install -y chromium)")
    return str(path)


def database_url() -> str:
    """A URL for the database the tests are using right now (the test database)."""
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        user = s.get("USER") or "postgres"
        password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
        host = s.get("HOST") or "127.0.0.1"
        port = s.get("PORT") or 5432
        return f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"
    return f"sqlite:///{s['NAME']}"


@contextmanager
def celery_worker(
    *, queues: str = "celery", extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a real ``celery worker`` process against Redis and the test database."""
    redis_url = require_redis()
    require_postgres()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "SECRET_KEY": "not-a-secret-only-for-this-run-0123456789abcdefghijklmnopq",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **(extra_env or {}),
    }
    env.pop("PYTEST_VERSION", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
         "--concurrency=1", "--without-gossip", "--without-mingle", "--loglevel=INFO",
         "-Q", queues],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(predicate: object, *, timeout: float = 30.0, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
