"""Dashboards and balance: SVG charts with their numbers, CSV per table with formula
injection neutralised, the API agreeing with the page, live refresh."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from annotation.states import State
from checks.models import CheckResult
from overview.charts import bar_chart, csv_text, safe_cell
from reviews.models import Review
from tests.conftest import api_for
from tests.factories import make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def filled(project, anna, rita):
    a = make_item(
        project,
        "short",
        answer="x" * 300,
        author=anna,
        state=State.IN_REVIEW,
        stage=0,
        tags=["=HYPERLINK(1)", "billing"],
        prompt_hash="h1",
    )
    make_item(project, "short", tags=["billing"], prompt_hash="h1")
    make_item(project, "another", state=State.FLAGGED)
    assert a.current_revision is not None
    Review.objects.create(
        item=a,
        revision=a.current_revision,
        stage=0,
        reviewer=rita,
        decision="reject",
        reasons=["too-short"],
        scores={"clarity": 2},
    )
    CheckResult.objects.create(
        revision=a.current_revision, name="language", outcome="pass", details={"detected": "en"}
    )
    CheckResult.objects.create(revision=a.current_revision, name="pii", outcome="fail")
    return a


def test_cells_that_could_be_formulas_are_neutralised():
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell("plain") == "plain" and safe_cell(3) == "3"
    assert csv_text(["a"], [["=cmd"]]).splitlines() == ["a", "'=cmd"]


def test_charts_escape_labels_and_carry_title_and_axis():
    svg = bar_chart("Tags", [("<script>", 3)], unit="items")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "<title>Tags</title>" in svg and ">items</text>" in svg and ">3</text>" in svg


def test_the_dashboard_shows_charts_and_tables_and_refreshes(
    client, project, alice, filled, settings
):
    settings.REDIS_URL = ""  # tasks in-process, as under `make run`
    client.force_login(alice)
    html = client.get(f"/projects/{project.slug}/dashboard/").content.decode()
    for title in (
        "Items per state",
        "Throughput per day",
        "Queue health",
        "Rejection reasons",
        "Failing checks",
        "Prompt length",
        "Single vs multi-turn",
        "Tags",
        "Identical prompts",
        "Language of the answers",
    ):
        assert title in html
    assert html.count("<svg") >= 10 and 'hx-trigger="every 15s"' in html
    assert "too-short" in html and "Tasks run in the web process" in html
    assert f'href="/projects/{project.slug}/items/?tag=billing">billing</a>' in html
    partial = client.get(
        f"/projects/{project.slug}/dashboard/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert partial.lstrip().startswith('<div id="figures"')


def test_csv_downloads_neutralise_formulas_and_match_the_api(client, project, alice, anna, filled):
    client.force_login(alice)
    response = client.get(f"/projects/{project.slug}/dashboard/tags.csv")
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == "tag,items,share,target,status"
    assert "billing,2,0.667,,no target" in lines and "'=HYPERLINK(1),1,0.333,,no target" in lines
    api = api_for(alice).get(f"/api/v1/projects/{project.pk}/dashboard/").json()
    stats = api_for(alice).get(f"/api/v1/projects/{project.pk}/stats/").json()
    assert stats["dashboard"] == api
    assert "dashboard" not in api_for(anna).get(f"/api/v1/projects/{project.pk}/stats/").json()
    assert ["billing", 2, 0.667, "", "no target"] in api["tags"]["rows"]
    assert api["states"]["rows"] == [[s, n] for s, n in api["states"]["rows"]]
    assert ["h1"[:12], 2] in api["duplicates"]["rows"]
    assert ["en", 1] in api["languages"]["rows"]
    assert client.get(f"/projects/{project.slug}/dashboard/nope.csv").status_code == 404


def test_annotators_and_outsiders_do_not_see_the_dashboard(client, project, anna, oscar):
    client.force_login(anna)
    assert client.get(f"/projects/{project.slug}/dashboard/").status_code == 403
    client.force_login(oscar)
    assert client.get(f"/projects/{project.slug}/dashboard/").status_code == 404


def test_admins_set_tag_targets_and_see_them_met_or_not(client, project, alice, rita, filled):
    client.force_login(alice)
    url = f"/projects/{project.slug}/dashboard/targets/"
    client.post(url, {"tag": "billing", "min_items": "5", "max_percent": "50"})
    client.post(url, {"tag": "refusal", "min_items": "200"})
    rows = {
        r[0]: r
        for r in api_for(alice)
        .get(f"/api/v1/projects/{project.pk}/dashboard/")
        .json()["tags"]["rows"]
    }
    assert rows["billing"][3:] == ["at least 5 and at most 50 %", "3 short, over its share"]
    assert rows["refusal"][1:] == [0, 0.0, "at least 200", "200 short"]
    bad = client.post(url, {"tag": "x", "min_items": "lots"})
    assert "A target is a whole number" in client.get(bad["Location"]).content.decode()
    client.post(url, {"tag": "refusal"})
    tables = api_for(alice).get(f"/api/v1/projects/{project.pk}/dashboard/").json()
    assert "refusal" not in [r[0] for r in tables["tags"]["rows"]]
    assert tables["rubric"]["rows"] == [["clarity", "2", 1]]
    html = client.get(f"/projects/{project.slug}/dashboard/").content.decode()
    assert "Rubric scores given" in html and "Review turnaround" in html
    client.force_login(rita)
    assert client.post(url, {"tag": "x", "min_items": "1"}).status_code == 403


def test_a_broker_that_cannot_be_reached_is_a_clear_warning(client, project, alice, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    cache.delete("overview:worker-status")  # a status another test left
    client.force_login(alice)
    html = client.get(f"/projects/{project.slug}/dashboard/").content.decode()
    assert 'id="worker-warning"' in html and "The broker cannot be reached" in html


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_dashboard_and_people_pages_run_the_same_queries_for_more_data(
    client, project, alice, anna, rita
):
    client.force_login(alice)
    counts = []
    for n in (3, 30):
        for i in range(n):
            item = make_item(project, f"p{i}", answer="a", author=anna, tags=[f"t{i % 4}"])
            assert item.current_revision is not None
            Review.objects.create(
                item=item,
                revision=item.current_revision,
                stage=0,
                reviewer=rita,
                decision="approve",
            )
        counts.append(
            (
                _queries(client, f"/projects/{project.slug}/dashboard/"),
                _queries(client, f"/projects/{project.slug}/people/"),
            )
        )
    assert counts[0] == counts[1]
