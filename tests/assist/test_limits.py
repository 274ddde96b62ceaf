"""Per-endpoint limits across processes: two worker processes sharing an endpoint
through Redis never have more calls in flight than its maximum, and a place held by a
process that died is freed when its lease runs out."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from typing import Any

import pytest

from assist import limits
from assist.client import ModelError
from assist.models import Endpoint
from tests.assist.fake_llm import FakeLLM
from tests.services import ROOT, require_redis


def test_two_processes_never_exceed_max_concurrency(fake_llm: FakeLLM) -> None:
    url = require_redis()
    fake_llm.latency = 0.05
    endpoint_id = random.randrange(10**8, 10**9)  # a fresh key in Redis
    env = {
        **os.environ,
        "REDIS_URL": url,
        "SECRET_KEY": "not-a-secret-only-for-this-run-0123456789abcdefghijklmnopq",
        "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "0",
    }
    env.pop("PYTEST_VERSION", None)
    command = [sys.executable, "-m", "tests.assist.limits_worker", fake_llm.url, str(endpoint_id)]
    # Each process alone would run 6 calls at once; together they may run only 3.
    procs = [
        subprocess.Popen([*command, "3", "6", "5"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert fake_llm.calls == 2 * 6 * 5
    assert fake_llm.max_in_flight == 3


def test_a_dead_holders_place_is_freed_when_its_lease_ends(settings: Any, monkeypatch: Any) -> None:
    settings.REDIS_URL = require_redis()
    monkeypatch.setattr(limits, "LEASE_MARGIN", 0.0)
    endpoint = Endpoint(pk=random.randrange(10**8, 10**9), max_concurrency=1, timeout=1.0)
    # A process that took the only place and died: it never gives it back.
    abandoned = limits.slot(endpoint)
    abandoned.__enter__()
    started = time.monotonic()
    with limits.slot(endpoint):
        waited = time.monotonic() - started
    assert 0.5 <= waited < 3.0


@pytest.mark.parametrize("redis", [False, True])
def test_one_place_means_one_call_at_a_time(settings: Any, redis: bool) -> None:
    settings.REDIS_URL = require_redis() if redis else ""
    endpoint = Endpoint(pk=random.randrange(10**8, 10**9), max_concurrency=1, timeout=5.0)
    with limits.slot(endpoint), pytest.raises(ModelError, match="kept this call waiting"):  # noqa: SIM117
        with limits.slot(endpoint, max_wait=0.2):
            pass
    with limits.slot(endpoint, max_wait=0.2):
        pass
