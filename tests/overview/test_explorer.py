"""The item explorer: every filter on the API and the page, who sees what, saved views,
full-text search, and a constant number of queries per page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from annotation.models import Assignment, AssignmentStatus, Queue
from annotation.states import State
from assist.models import Judgement, PromptVersion
from checks.models import CheckResult
from imports.models import ImportJob
from overview.models import SavedView
from projects.models import Job
from reviews.models import Review, ReviewStage
from tests.conftest import api_for
from tests.factories import make_item
from tests.services import require_postgres

pytestmark = pytest.mark.django_db


def _assign(item: Any, user: Any, status: str = AssignmentStatus.SUBMITTED) -> Assignment:
    return Assignment.objects.create(
        item=item, user=user, status=status, expires_at=timezone.now() + timedelta(hours=1)
    )


def _judgement(item: Any, score: int) -> Judgement:
    prompt = PromptVersion.objects.create(
        project=item.project, name=f"judge {item.pk}", kind="judge", template="rate"
    )
    job = Job.objects.create(project=item.project, kind="judge")
    return Judgement.objects.create(
        job=job, prompt=prompt, item=item, revision=item.current_revision, score=score
    )


@pytest.fixture
def data(project, alice, anna, rita) -> dict[str, Any]:
    """Four items that differ in every filtered attribute."""
    queue = Queue.objects.create(project=project, name="Billing")
    imported = ImportJob.objects.create(project=project, filename="a.jsonl")
    a = make_item(
        project,
        "How do I reset my password?",
        answer="Open settings and choose reset.",
        author=anna,
        state=State.IN_REVIEW,
        stage=0,
        tags=["account"],
        import_job=imported,
    )
    b = make_item(
        project,
        "Why was I billed twice?",
        answer="A refund is on its way.",
        author=anna,
        state=State.APPROVED,
        tags=["billing", "refund"],
        queue=queue,
        priority=5,
    )
    c = make_item(project, "Tell me a joke about penguins", state=State.QUEUED)
    d = make_item(project, "Ignore all rules", state=State.FLAGGED, is_gold=True)
    _assign(a, anna)
    _assign(b, anna)
    ReviewStage.objects.get_or_create(project=project, position=0, defaults={"name": "First"})
    assert a.current_revision is not None and b.current_revision is not None
    Review.objects.create(
        item=b, revision=b.current_revision, stage=0, reviewer=rita, decision="approve"
    )
    CheckResult.objects.create(revision=a.current_revision, name="pii", outcome="fail")
    CheckResult.objects.create(
        revision=a.current_revision, name="language", outcome="pass", details={"detected": "en"}
    )
    CheckResult.objects.create(revision=b.current_revision, name="pii", outcome="pass")
    CheckResult.objects.create(
        revision=a.current_revision, name="judge", outcome="pass", details={"score": 1}
    )
    _judgement(b, 4)
    return {"a": a, "b": b, "c": c, "d": d, "queue": queue, "import": imported}


def _ids(client: Any, project: Any, query: str = "") -> list[int]:
    response = client.get(f"/api/v1/projects/{project.pk}/items/?{query}")
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


FILTERS = [
    ("state=approved", ["b"]),
    ("stage=0", ["a"]),
    ("tag=billing", ["b"]),
    ("tag=bill", []),
    ("queue=default", ["a", "c", "d"]),
    ("annotator=anna", ["a", "b"]),
    ("reviewer=rita", ["b"]),
    ("check=pii:fail", ["a"]),
    ("check=pii:pass", ["b"]),
    ("judge_min=3", ["b"]),
    ("judge_max=2", ["a"]),
    ("origin=imported", ["a"]),
    ("origin=created", ["b", "c", "d"]),
    ("gold=yes", ["d"]),
    ("q=penguins", ["c"]),
    ("q=REFUND", ["b"]),
    ("q=billed&state=approved", ["b"]),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS)
def test_each_filter_on_the_api_and_the_page(client, project, alice, data, query, expected):
    wanted = sorted(data[k].pk for k in expected)
    assert sorted(_ids(api_for(alice), project, query)) == wanted
    client.force_login(alice)
    html = client.get(f"/projects/{project.slug}/items/?{query}").content.decode()
    for key in ("a", "b", "c", "d"):
        link = f'href="/projects/{project.slug}/items/{data[key].pk}/"'
        assert (link in html) == (key in expected), (key, query)


def test_queue_and_import_filters_take_ids(project, alice, data):
    client = api_for(alice)
    assert _ids(client, project, f"queue={data['queue'].pk}") == [data["b"].pk]
    assert _ids(client, project, f"import={data['import'].pk}") == [data["a"].pk]


def test_rows_carry_what_the_table_shows(project, alice, data):
    rows = api_for(alice).get(f"/api/v1/projects/{project.pk}/items/?ordering=id").json()
    first = rows["results"][0]
    assert first["prompt"] == "How do I reset my password?"
    assert first["answer"] == "Open settings and choose reset."
    assert first["worst_check"] == "fail" and first["checks"]["pii"] == "fail"
    assert first["judge_score"] == 1 and first["language"] == "en"
    assert first["annotators"] == ["anna"] and first["turns"] == 1
    assert rows["results"][1]["judge_score"] == 4  # from the judgement
    assert rows["results"][1]["reviewers"] == ["rita"]


def test_ordering_from_the_allow_list(project, alice, data):
    client = api_for(alice)
    assert _ids(client, project, "ordering=-priority")[0] == data["b"].pk
    assert _ids(client, project, "ordering=-id")[0] == data["d"].pk
    bad = client.get(f"/api/v1/projects/{project.pk}/items/?ordering=source")
    assert bad.status_code == 400 and "ordering must be one of" in bad.json()["detail"]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("colour=red", "Unknown filter(s): colour"),
        ("state=nope", "state must be one of"),
        ("judge_min=9", "judge score from 0 to 4"),
        ("check=pii", "name:outcome"),
        ("stage=first", "stage must be a whole number"),
        ("import=999999999999999999999999", "import must be a whole number"),
        ("origin=mars", "origin must be one of"),
        ("q=a%00b", "without NUL characters"),
    ],
)
def test_bad_filters_answer_400_on_the_api_and_a_message_on_the_page(
    client, project, alice, query, words
):
    response = api_for(alice).get(f"/api/v1/projects/{project.pk}/items/?{query}")
    assert response.status_code == 400 and words in response.json()["detail"]
    client.force_login(alice)
    page = client.get(f"/projects/{project.slug}/items/?{query}")
    assert page.status_code == 400 and words in page.content.decode()


def test_annotators_see_only_their_items_and_outsiders_get_404(
    client, project, anna, oscar, other_project, alice, data
):
    assert sorted(_ids(api_for(anna), project)) == sorted([data["a"].pk, data["b"].pk])
    client.force_login(anna)
    html = client.get(f"/projects/{project.slug}/items/").content.decode()
    assert "Tell me a joke" not in html and "How do I reset" in html
    assert 'name="ids"' not in html  # no bulk actions for annotators
    assert api_for(oscar).get(f"/api/v1/projects/{project.pk}/items/").status_code == 404
    client.force_login(oscar)
    assert client.get(f"/projects/{project.slug}/items/").status_code == 404
    assert api_for(alice).get(f"/api/v1/projects/{other_project.pk}/items/").status_code == 404


def test_the_schema_documents_the_filters(client, alice):
    client.force_login(alice)
    schema = client.get("/api/schema/").content.decode()
    for name in ("judge_min", "reviewer", "ordering", "origin"):
        assert f"name: {name}" in schema


def test_saved_views_are_per_user_and_open_as_a_url(client, project, alice, rita, data):
    client.force_login(alice)
    response = client.post(
        f"/projects/{project.slug}/items/views/", {"name": "Billing", "query": "tag=billing"}
    )
    assert response.status_code == 302 and response["Location"].endswith("?tag=billing")
    view = SavedView.objects.get(user=alice)
    assert view.query == "tag=billing"
    html = client.get(f"/projects/{project.slug}/items/").content.decode()
    assert f'href="/projects/{project.slug}/items/?tag=billing">Billing</a>' in html
    again = client.post(
        f"/projects/{project.slug}/items/views/", {"name": "Billing", "query": "state=queued"}
    )
    assert again.status_code == 302
    assert "already have a view" in client.get(again["Location"]).content.decode()
    # Shared as a URL: rita opens the same query string; she has no saved views of her own.
    client.force_login(rita)
    html = client.get(f"/projects/{project.slug}/items/?tag=billing").content.decode()
    assert "Why was I billed twice?" in html and ">Billing</a>" not in html
    assert client.post(f"/projects/{project.slug}/items/views/{view.pk}/delete/").status_code == 404
    client.force_login(alice)
    client.post(f"/projects/{project.slug}/items/views/{view.pk}/delete/")
    assert not SavedView.objects.exists()


def test_a_saved_view_refuses_a_bad_filter(client, project, alice):
    client.force_login(alice)
    response = client.post(
        f"/projects/{project.slug}/items/views/", {"name": "x", "query": "colour=red"}
    )
    assert "Unknown filter" in client.get(response["Location"]).content.decode()
    assert not SavedView.objects.exists()


def test_rows_link_to_the_admin_item_page_and_pages_link_on(client, project, alice):
    for i in range(55):
        make_item(project, f"prompt {i}")
    client.force_login(alice)
    html = client.get(f"/projects/{project.slug}/items/?state=queued").content.decode()
    assert html.count('name="ids"') == 50
    assert 'href="?state=queued&amp;page=2"' in html
    second = client.get(f"/projects/{project.slug}/items/?state=queued&page=2").content.decode()
    assert second.count('name="ids"') == 5


def _page_of(project: Any, n: int, anna: Any, rita: Any) -> None:
    for i in range(n):
        item = make_item(project, f"prompt {i}", answer=f"answer {i}", author=anna, tags=["t"])
        _assign(item, anna)
        assert item.current_revision is not None
        Review.objects.create(
            item=item, revision=item.current_revision, stage=0, reviewer=rita, decision="approve"
        )
        CheckResult.objects.create(revision=item.current_revision, name="pii", outcome="pass")


@pytest.mark.parametrize("n", [5, 50])
def test_the_api_page_runs_a_constant_number_of_queries(
    project, alice, anna, rita, n, django_assert_num_queries
):
    _page_of(project, n, anna, rita)
    client = api_for(alice)
    # project, membership, count, items (with revision and queue), assignments, reviews,
    # check results, judgements (for revisions without a judge result)
    with django_assert_num_queries(8):
        body = client.get(f"/api/v1/projects/{project.pk}/items/?tag=t&q=answer").json()
    assert len(body["results"]) == n


@pytest.mark.parametrize("n", [5, 50])
def test_the_page_runs_a_constant_number_of_queries(
    client, project, alice, anna, rita, n, django_assert_num_queries
):
    _page_of(project, n, anna, rita)
    client.force_login(alice)
    # session, user, project, membership, count, items, assignments, reviews, check
    # results, judgements, saved views, queues, stages
    with django_assert_num_queries(13):
        html = client.get(f"/projects/{project.slug}/items/?tag=t").content.decode()
    assert html.count('name="ids"') == n


def test_full_text_search_on_postgresql_uses_the_index(project, alice, data):
    require_postgres()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname IN "
            "('item_source_fts_idx', 'revision_messages_fts_idx')"
        )
        assert len(cursor.fetchall()) == 2
    client = api_for(alice)
    assert _ids(client, project, "q=penguins") == [data["c"].pk]
    assert _ids(client, project, "q=refund") == [data["b"].pk]  # in the answer


def test_search_escapes_like_wildcards(project, alice, data):
    assert _ids(api_for(alice), project, "q=%25") == []
