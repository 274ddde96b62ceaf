"""The anchoring comparison (answers corrected from the model's draft against answers
written from scratch) shows the judge's mean score per group once the judge scored them."""

from __future__ import annotations

from typing import Any

import pytest

from annotation import selectors
from annotation.models import Item
from checks.models import CheckResult
from projects import services as project_services
from projects.models import Role
from tests.annotation.test_anchoring import DRAFT, _submit
from tests.factories import make_item

pytestmark = pytest.mark.django_db


def judged(item: Item, score: int) -> None:
    item.refresh_from_db()
    assert item.current_revision is not None
    CheckResult.objects.create(
        revision=item.current_revision,
        name="judge",
        outcome="pass",
        details={"score": score, "reason": "test", "prompt": 1, "endpoint": 1},
    )


def test_the_comparison_shows_the_judges_mean_score_per_group(
    client: Any, correct_project: Any, alice: Any, anna: Any
) -> None:
    project_services.set_member(project=correct_project, username="anna", role=Role.ANNOTATOR)
    make_item(correct_project, "one", draft=DRAFT)
    corrected = _submit(correct_project, anna, DRAFT + " Then confirm.")
    correct_project.anchoring_share = 1.0
    correct_project.save()
    make_item(correct_project, "two", draft=DRAFT)
    make_item(correct_project, "three", draft=DRAFT)
    scratch = [_submit(correct_project, anna, t) for t in ("Go to Settings.", "Open Security.")]
    judged(corrected, 4)
    judged(scratch[0], 1)
    judged(scratch[1], 2)
    result = selectors.anchoring_comparison(correct_project)
    assert result["corrected"]["extra"] == {"judged": 1, "judge_mean": 4.0}
    assert result["from_scratch"]["extra"] == {"judged": 2, "judge_mean": 1.5}
    client.force_login(alice)
    page = client.get(f"/projects/{correct_project.slug}/queues/").content.decode()
    section = page[page.index('id="anchoring-from_scratch"') :]
    assert "1.50" in section[:800]
