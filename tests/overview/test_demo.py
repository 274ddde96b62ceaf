"""The demo follows its own guideline: the checks enforce the prefix and the "never ask
for a password" rule it states, and the skip reason it names exists in the editor."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from checks.config import enabled_checks
from checks.registry import CheckContext
from checks.services import evaluate
from projects.models import Guideline, Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings) -> Project:
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    return Project.objects.get(slug="cloudsync-support")


def _fails(project: Project, answer: str) -> dict[str, str]:
    messages = [
        {"role": "user", "content": "I cannot log in on my new phone."},
        {"role": "assistant", "content": answer},
    ]
    configured = enabled_checks(project)
    results = evaluate(configured, messages, CheckContext(task_type=project.task_type))
    return {r.name: r.severity for r in results if r.outcome == "fail"}


def test_demo_blocks_what_its_guideline_forbids(demo) -> None:
    asks = _fails(demo, "CloudSync Pro Support: Please send me your password and I will check.")
    assert asks.get("forbidden_phrases") == "block"
    unprefixed = _fails(demo, "Open Settings → Account and choose Sign out everywhere.")
    assert unprefixed.get("required_prefix") == "block"
    good = _fails(
        demo,
        "CloudSync Pro Support: Open Settings → Account, choose Reset password and follow "
        "the link we email you.",
    )
    assert "forbidden_phrases" not in good and "required_prefix" not in good


def test_demo_guideline_names_a_skip_reason_the_editor_offers(demo, client) -> None:
    guideline = Guideline.objects.get(project=demo).body
    assert 'the reason "I lack the expertise"' in guideline
    client.post("/login/", {"username": "admin", "password": "admin"})
    lease = client.post(f"/api/v1/projects/{demo.pk}/next/")
    assert lease.status_code == 200, lease.content
    html = client.get(f"/items/{lease.json()['id']}/").content.decode()
    assert "<option>I lack the expertise</option>" in html
