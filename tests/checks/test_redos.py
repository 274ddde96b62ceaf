"""Project patterns run with a time budget: a pattern that backtracks without end fails
its check with a message instead of holding a web or worker process, and the Checks
page refuses such a pattern before it is saved."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from checks import config
from checks.models import CheckConfig
from checks.registry import REGISTRY
from checks.registry.base import CheckContext

CATASTROPHIC = r"(a|aa)+$"
# The pattern a probe of the live endpoint used: the regex engine answers it at once.
NESTED = r"^(a+)+$"


def pair(answer: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": "Say a"}, {"role": "assistant", "content": answer}]


def test_a_runaway_pattern_is_stopped_and_fails_with_a_message() -> None:
    started = time.monotonic()
    verdict = REGISTRY["regex"].run(
        pair("a" * 5000 + "!"), CheckContext(), {"pattern": CATASTROPHIC}
    )
    elapsed = time.monotonic() - started
    assert verdict.failed
    assert "took longer than 0.2 s" in verdict.message
    assert "Simplify it" in verdict.message
    assert elapsed < 5  # without a budget this search does not finish in a lifetime


def test_nested_repetition_from_the_probe_answers_at_once() -> None:
    verdict = REGISTRY["regex"].run(pair("a" * 29 + "!"), CheckContext(), {"pattern": NESTED})
    assert verdict.failed and "does not match" in verdict.message
    assert "took longer" not in verdict.message


@pytest.mark.django_db
def test_a_pattern_that_backtracks_is_refused_before_it_is_saved(project: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        config.update_checks(
            project=project,
            changes={"regex": {"enabled": True, "options": {"pattern": CATASTROPHIC}}},
        )
    assert "backtracks too much to run safely" in " ".join(caught.value.messages)
    assert not CheckConfig.objects.filter(project=project, name="regex").exists()


@pytest.mark.django_db
def test_the_live_endpoint_answers_quickly_with_a_stored_runaway_pattern(
    project: Any, anna: Any
) -> None:
    # A pattern saved before patterns were probed: it still cannot hold the web process.
    CheckConfig.objects.create(
        project=project,
        name="regex",
        enabled=True,
        severity="warn",
        options={"pattern": CATASTROPHIC},
    )
    client = Client()
    client.force_login(anna)
    started = time.monotonic()
    response = client.post(
        "/projects/support/checks/live/",
        {"messages": json.dumps(pair("a" * 3000 + "!"))},
    )
    assert response.status_code == 200
    assert time.monotonic() - started < 5
    assert "took longer than 0.2 s" in response.content.decode()
