"""Pages and API routes of the model in the loop (full paths, included at the site root):
endpoints, prompt versions, samples and generations here; the judge's in judging_urls."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from assist import api, judging_urls, views

app_name = "assist"

P = "projects/<slug:slug>/model/"
A = "api/v1/projects/<int:project_id>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path(P, views.model_page, name="page"),
    path(P + "endpoints/new/", views.endpoint_form, name="endpoint_new"),
    path(P + "endpoints/<int:endpoint_id>/", views.endpoint_form, name="endpoint"),
    path(P + "endpoints/<int:endpoint_id>/test/", views.endpoint_test, name="endpoint_test"),
    path(P + "endpoints/<int:endpoint_id>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path(P + "prompts/new/", views.prompt_form, name="prompt_new"),
    path(P + "prompts/<int:prompt_id>/", views.prompt_form, name="prompt"),
    path(P + "prompts/<int:prompt_id>/preview/", views.prompt_preview, name="prompt_preview"),
    path(P + "samples/new/", views.sample_new, name="sample_new"),
    path(P + "samples/<int:sample_id>/", views.sample_page, name="sample"),
    path(P + "runs/new/", views.run_new, name="run_new"),
    path(P + "runs/", views.runs_section, name="runs"),
    path(P + "runs/<int:job_id>/", views.run_page, name="run"),
    path(P + "runs/<int:job_id>/cancel/", views.run_cancel, name="run_cancel"),
    path(P + "drafts/<int:generation_id>/rate/", views.rate, name="rate"),
    path(A + "endpoints/", api.EndpointsView.as_view(), name="api-endpoints"),
    path(A + "endpoints/<int:endpoint_id>/", api.EndpointView.as_view(), name="api-endpoint"),
    path(
        A + "endpoints/<int:endpoint_id>/test/",
        api.EndpointTestView.as_view(),
        name="api-endpoint-test",
    ),
    path(A + "prompts/", api.PromptsView.as_view(), name="api-prompts"),
    path(A + "prompts/<int:prompt_id>/", api.PromptView.as_view(), name="api-prompt"),
    path(
        A + "prompts/<int:prompt_id>/preview/",
        api.PromptPreviewView.as_view(),
        name="api-prompt-preview",
    ),
    path(A + "samples/", api.SamplesView.as_view(), name="api-samples"),
    path(A + "samples/<int:sample_id>/", api.SampleView.as_view(), name="api-sample"),
    path(A + "generations/", api.GenerationsView.as_view(), name="api-generations"),
    path(A + "generations/<int:job_id>/", api.GenerationView.as_view(), name="api-generation"),
    path(A + "ratings/", api.RatingsView.as_view(), name="api-ratings"),
    path("api/v1/jobs/<int:job_id>/cancel/", api.JobCancelView.as_view(), name="api-job-cancel"),
    *judging_urls.urlpatterns,
]
