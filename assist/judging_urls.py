"""Routes of the judge: judgement runs, their reports and the comparison of two runs."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from assist import judging_api, judging_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/<slug:slug>/model/judgements/", judging_views.judge_runs, name="judge-runs"),
    path(
        "projects/<slug:slug>/model/judgements/new/",
        judging_views.judge_start,
        name="judge-start",
    ),
    path(
        "projects/<slug:slug>/model/judgements/default-prompt/",
        judging_views.judge_default_prompt,
        name="judge-default-prompt",
    ),
    path(
        "projects/<slug:slug>/model/judgements/compare/",
        judging_views.judge_compare,
        name="judge-compare",
    ),
    path(
        "projects/<slug:slug>/model/judgements/<int:job_id>/",
        judging_views.judge_report,
        name="judge-report",
    ),
    path(
        "projects/<slug:slug>/model/judgements/<int:job_id>/cancel/",
        judging_views.judge_cancel,
        name="judge-cancel",
    ),
    path(
        "api/v1/projects/<int:project_id>/judgements/",
        judging_api.JudgementsView.as_view(),
        name="api-judgements",
    ),
    path(
        "api/v1/projects/<int:project_id>/judgements/compare/",
        judging_api.JudgementCompareView.as_view(),
        name="api-judgement-compare",
    ),
    path(
        "api/v1/projects/<int:project_id>/judgements/<int:job_id>/",
        judging_api.JudgementReportView.as_view(),
        name="api-judgement",
    ),
    path(
        "api/v1/projects/<int:project_id>/judgements/<int:job_id>/cancel/",
        judging_api.JudgementCancelView.as_view(),
        name="api-judgement-cancel",
    ),
]
