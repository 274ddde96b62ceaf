"""Every route of the URL conf, by method, by who asks and by whose object, against one table
of who may use each route: no unexpected 2xx, no database change on a refused request,
a foreign id is a 404. A route missing from ``RULES`` fails the test, so a new page or
endpoint cannot ship without saying who may use it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.db.models import Max
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.services import issue_token
from annotation.models import Assignment, Queue
from assist.models import Endpoint, Generation, PromptVersion, Sample
from exports.models import ExportJob
from imports.models import ImportJob
from overview.models import SavedView
from projects.models import Job, Membership
from tests.factories import make_item

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ANON, USER, MEMBER, REVIEWER, ADMIN, STAFF = range(6)
OWNER = 10  # the object's owner (a token) or staff

# Who may use each route: the lowest standing that gets past the access check.
RULES: dict[str, int] = {
    "": ANON,
    "healthz": ANON,
    "login": ANON,
    "logout": ANON,
    "api-schema": ANON,
    "api-docs": ANON,
    "accounts:tokens": USER,
    "accounts:revoke": OWNER,
    "accounts:api-token": ANON,
    "accounts:api-logout": USER,
    "accounts:api-tokens": USER,
    "accounts:api-token-detail": OWNER,
    "projects:users": STAFF,
    "projects:user_creator": STAFF,
    "projects:api-users": STAFF,
    "projects:list": USER,
    "projects:create": USER,
    "projects:edit": ADMIN,
    "projects:guidelines": MEMBER,
    "projects:acknowledge": MEMBER,
    "projects:api-members": MEMBER,
    "projects:api-guidelines": MEMBER,
    "projects:api-acknowledge": MEMBER,
    "projects:api-job": ADMIN,
    "annotation:work": MEMBER,
    "annotation:queues": ADMIN,
    "annotation:queue_edit": ADMIN,
    "annotation:item": MEMBER,
    "annotation:item_draft": MEMBER,
    "annotation:item_submit": MEMBER,
    "annotation:item_skip": MEMBER,
    "annotation:item_flag": MEMBER,
    "annotation:item_reopen": ADMIN,
    "annotation:item_unflag": ADMIN,
    "annotation:my_work": USER,
    "annotation:api-next": MEMBER,
    "annotation:api-item": MEMBER,
    "annotation:api-draft": MEMBER,
    "annotation:api-lease": MEMBER,
    "annotation:api-submit": MEMBER,
    "annotation:api-skip": MEMBER,
    "annotation:api-flag": MEMBER,
    "annotation:api-reopen": ADMIN,
    "annotation:api-unflag": ADMIN,
    "imports:page": ADMIN,
    "imports:detail": ADMIN,
    "imports:columns": ADMIN,
    "imports:cancel": ADMIN,
    "imports:remove": ADMIN,
    "imports:rerun": ADMIN,
    "imports:errors": ADMIN,
    "api-imports": ADMIN,
    "api-import": ADMIN,
    "api-import-cancel": ADMIN,
    "api-import-rerun": ADMIN,
    "checks:page": ADMIN,
    "checks:live": MEMBER,
    "checks:redact": MEMBER,
    "checks:recheck": ADMIN,
    "checks:api": ADMIN,
    "checks:api-recheck": ADMIN,
    "review:queue": REVIEWER,
    "review:next": REVIEWER,
    "review:item": REVIEWER,
    "review:release": REVIEWER,
    "review:policy": ADMIN,
    "review:api-next": REVIEWER,
    "review:api-reviews": MEMBER,
    "export": ADMIN,
    "export_download": ADMIN,
    "api-exports": ADMIN,
    "api-export": ADMIN,
    "api-export-download": ADMIN,
    "overview:project": MEMBER,
    "overview:members": ADMIN,
    "overview:member_remove": ADMIN,
    "overview:api-projects": USER,
    "overview:api-project": MEMBER,
    "overview:api-stats": MEMBER,
    "overview:items": MEMBER,
    "overview:save_view": MEMBER,
    "overview:delete_view": MEMBER,
    "overview:api-items": MEMBER,
    "overview:dashboard": REVIEWER,
    "overview:dashboard_csv": REVIEWER,
    "overview:api-dashboard": REVIEWER,
    "overview:set_target": ADMIN,
    "overview:people": ADMIN,
    "overview:bulk": ADMIN,
    "overview:bulk_job": ADMIN,
    "overview:api-items-bulk": ADMIN,
    "overview:item": ADMIN,
    "overview:item_action": ADMIN,
    "overview:calibration": ADMIN,
    "overview:api-calibration": ADMIN,
    # The model in the loop: project admins only.
    **{
        f"assist:{name}": ADMIN
        for name in (
            "page",
            "endpoint_new",
            "endpoint",
            "endpoint_test",
            "endpoint_delete",
            "prompt_new",
            "prompt",
            "prompt_preview",
            "sample_new",
            "sample",
            "run_new",
            "runs",
            "run",
            "run_cancel",
            "rate",
            "api-endpoints",
            "api-endpoint",
            "api-endpoint-test",
            "api-prompts",
            "api-prompt",
            "api-prompt-preview",
            "api-samples",
            "api-sample",
            "api-generations",
            "api-generation",
            "api-ratings",
            "api-job-cancel",
            "judge-runs",
            "judge-start",
            "judge-default-prompt",
            "judge-compare",
            "judge-report",
            "judge-cancel",
            "api-judgements",
            "api-judgement-compare",
            "api-judgement",
            "api-judgement-cancel",
        )
    },
}
SKIP = re.compile(r"^admin/")  # Django's admin: staff only, its own permission system
ID_KINDS = {
    "slug",
    "project_id",
    "item_id",
    "import_id",
    "export_id",
    "job_id",
    "queue_id",
    "membership_id",
    "user_id",
    "token_id",
    "endpoint_id",
    "prompt_id",
    "sample_id",
    "generation_id",
    "view_id",
    "key",
}
TABLES = [
    "annotation.Item",
    "annotation.Revision",
    "annotation.Transition",
    "annotation.Assignment",
    "annotation.Queue",
    "projects.Project",
    "projects.Membership",
    "projects.Guideline",
    "projects.Job",
    "imports.ImportJob",
    "exports.ExportJob",
    "reviews.Review",
    "reviews.ReviewStage",
    "checks.CheckConfig",
    "accounts.ApiToken",
]


def routes() -> Iterator[tuple[str, str, list[str]]]:
    """(name, pattern with <kwargs>, kwarg names) for every route."""

    def walk(patterns: Any, prefix: str, namespace: str) -> Iterator[tuple[str, str, list[str]]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = ":".join(x for x in (namespace, p.namespace or "") if x)
                yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                pattern = prefix + str(p.pattern)
                if SKIP.search(pattern):
                    continue
                name = ":".join(x for x in (namespace, p.name or "") if x)
                yield name, pattern, re.findall(r"<(?:\w+:)?(\w+)>", pattern)

    yield from walk(get_resolver().url_patterns, "", "")


def fingerprint() -> list[tuple[int, Any]]:
    """Row count and highest id of each table a refused request must not touch, and
    the latest change of items and jobs."""
    out = []
    for label in TABLES:
        model = apps.get_model(label)
        manager = model._default_manager
        out.append((manager.count(), manager.aggregate(m=Max("pk"))["m"]))
    for label, field in (("annotation.Item", "state_changed_at"), ("projects.Job", "status")):
        model = apps.get_model(label)
        out.append((0, tuple(model._default_manager.order_by("pk").values_list(field, flat=True))))
    return out


@pytest.fixture
def world(
    alice: Any, rita: Any, anna: Any, oscar: Any, sam: Any, project: Any, other_project: Any
) -> dict[str, Any]:
    def objects(p: Any, admin: Any) -> dict[str, Any]:
        item = make_item(p, answer="An answer.", author=anna)
        Assignment.objects.create(
            item=item, user=anna, status="submitted", expires_at=timezone.now()
        )
        return {
            "slug": p.slug,
            "project_id": p.pk,
            "item_id": item.pk,
            "import_id": ImportJob.objects.create(project=p, filename="a.jsonl").pk,
            "export_id": ExportJob.objects.create(project=p, format="openai-chat").pk,
            "job_id": Job.objects.create(project=p, kind="recheck").pk,
            "queue_id": Queue.objects.create(project=p, name="Q").pk,
            "membership_id": Membership.objects.get(project=p, user=admin).pk,
            "user_id": admin.pk,
            "token_id": issue_token(user=admin, name="t")[1].pk,
            "owner": admin,
            "key": "states",
            **model_objects(p, item, admin),
        }

    users = [None, oscar, anna, rita, alice, sam]
    return {
        "own": objects(project, alice),
        "foreign": objects(other_project, oscar),
        "users": users,
        # each user's standing in each project
        "standing": {
            "own": {
                None: ANON,
                oscar: USER,
                anna: MEMBER,
                rita: REVIEWER,
                alice: ADMIN,
                sam: STAFF,
            },
            "foreign": {None: ANON, oscar: ADMIN, anna: USER, rita: USER, alice: USER, sam: STAFF},
        },
    }


def model_objects(p: Any, item: Any, admin: Any) -> dict[str, int]:
    endpoint = Endpoint.objects.create(
        project=p, name="local", base_url="http://127.0.0.1:9/v1", model="m", family="llama"
    )
    prompt = PromptVersion.objects.create(project=p, name="v1", template="{{prompt}}")
    sample = Sample.objects.create(project=p, name="s", size=1, seed=1, item_ids=[item.pk])
    run = Job.objects.create(project=p, kind="generation", status="succeeded")
    generation = Generation.objects.create(job=run, prompt=prompt, item=item, output="Draft")
    view = SavedView.objects.create(project=p, user=admin, name="mine", query="state=queued")
    return {
        "endpoint_id": endpoint.pk,
        "prompt_id": prompt.pk,
        "sample_id": sample.pk,
        "generation_id": generation.pk,
        "view_id": view.pk,
    }


def may_use(need: int, level: int, user: Any, owner: Any) -> bool:
    if level == STAFF:
        return True
    if need == OWNER:
        return user is not None and user == owner
    return level >= need


def test_every_route_refuses_who_may_not_use_it(world: dict[str, Any]) -> None:
    table = list(routes())
    unruled = sorted(name or pattern for name, pattern, _ in table if name not in RULES)
    assert unruled == [], f"routes without a rule in RULES: {unruled}"
    unknown_kinds = sorted({k for _, _, kinds in table for k in kinds} - ID_KINDS)
    assert unknown_kinds == [], f"path parameters the matrix cannot fill: {unknown_kinds}"
    problems: list[str] = []
    sent = 0
    for name, pattern, kinds in table:
        need = RULES[name]
        for target in ("own", "foreign"):
            if target == "foreign" and not kinds:
                continue
            ids = world[target]
            path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), pattern)
            for user in world["users"]:
                level = world["standing"][target][user]
                if may_use(need, level, user, ids["owner"]):
                    continue
                client = Client()
                if user is not None:
                    client.force_login(user)
                for method in ("get", "post", "put", "patch", "delete"):
                    before = fingerprint()
                    response = getattr(client, method)(path)
                    sent += 1
                    code = response.status_code
                    who = user.username if user else "anonymous"
                    if 200 <= code < 300:
                        problems.append(f"{method.upper()} {path} as {who}: {code}")
                    elif level == USER and MEMBER <= need <= ADMIN and code not in (404, 405):
                        problems.append(f"{method.upper()} {path} as {who} (not a member): {code}")
                    if fingerprint() != before:
                        problems.append(f"{method.upper()} {path} as {who}: changed the database")
    print(f"\npermission matrix: {len(table)} routes, {sent} refused requests checked")
    assert sent > 1000
    assert problems == [], "\n".join(problems[:60])


READ_ONLY_PAGES = {
    "annotation:item",
    "annotation:my_work",
    "assist:model",
    "exports:export_download",
    "imports:detail",
    "imports:errors",
    "overview:project",
    "projects:list",
    "review:queue",
}


def test_pages_answer_405_to_methods_they_do_not_handle(world: dict[str, Any]) -> None:
    """HTML pages take GET and, where a form posts, POST; everything else is a 405, and
    a read-only page refuses POST too. (API views declare their methods through DRF.)"""
    staff = world["users"][-1]
    client = Client()
    client.force_login(staff)
    ids = world["own"]
    wrong: list[str] = []
    checked = 0
    for name, pattern, _ in routes():
        if pattern.startswith("api/") or name in ("", "logout", "login", "healthz"):
            continue
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), pattern)
        methods = ["put", "patch", "delete"] + (["post"] if name in READ_ONLY_PAGES else [])
        for method in methods:
            before = fingerprint()
            code = getattr(client, method)(path).status_code
            checked += 1
            if code != 405:
                wrong.append(f"{method.upper()} {path}: {code}")
            if fingerprint() != before:
                wrong.append(f"{method.upper()} {path}: changed the database")
    assert checked > 100
    assert wrong == [], "\n".join(wrong)
