"""The model client against a real loopback server: answers, usage, and every failure
as a message a person understands."""

from __future__ import annotations

from typing import Any

import pytest

from assist.client import ModelError, Target, complete
from tests.assist.fake_llm import FakeLLM


def test_a_draft_comes_back_with_its_usage(fake_llm: FakeLLM) -> None:
    answer = complete(
        Target(fake_llm.url, "drafter"), [{"role": "user", "content": "How do I reset it?"}]
    )
    assert answer.text == "Draft: How do I reset it?"
    assert answer.prompt_tokens == 5 and answer.completion_tokens == 6
    assert fake_llm.requests[0]["model"] == "drafter"


@pytest.mark.parametrize(
    ("model", "key", "message", "retryable"),
    [
        ("missing", "", "has no model 'missing'", False),
        ("drafter", "wrong", "refused the API key (401", False),
        ("error", "", "had an error (500)", True),
        ("malformed", "", "not a chat completion", False),
        ("ratelimit", "", "rate limiting (429", True),
    ],
)
def test_failures_say_what_happened(
    fake_llm: FakeLLM, model: str, key: str, message: str, retryable: bool
) -> None:
    with pytest.raises(ModelError) as caught:
        complete(Target(fake_llm.url, model, api_key=key), [{"role": "user", "content": "hi"}])
    assert message in caught.value.message
    assert caught.value.retryable is retryable


def test_429_passes_on_retry_after(fake_llm: FakeLLM) -> None:
    with pytest.raises(ModelError) as caught:
        complete(Target(fake_llm.url, "ratelimit"), [{"role": "user", "content": "hi"}])
    assert caught.value.retry_after == 1.0


def test_a_slow_model_times_out(fake_llm: FakeLLM) -> None:
    fake_llm.slow_seconds = 3
    with pytest.raises(ModelError) as caught:
        complete(Target(fake_llm.url, "slow", timeout=0.5), [{"role": "user", "content": "hi"}])
    assert "did not answer within 0.5 s" in caught.value.message


def test_nothing_listening_is_connection_refused(settings: Any) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    with pytest.raises(ModelError) as caught:
        complete(
            Target("http://127.0.0.1:9/v1", "m", timeout=2), [{"role": "user", "content": "x"}]
        )
    assert "connection refused" in caught.value.message


def test_loopback_is_refused_unless_allowed(settings: Any, fake_llm: FakeLLM) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = []
    with pytest.raises(ModelError) as caught:
        complete(Target(fake_llm.url, "m"), [{"role": "user", "content": "x"}])
    assert "private, loopback or link-local" in caught.value.message
    assert fake_llm.calls == 0
