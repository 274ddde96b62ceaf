"""Speed and correctness of the review queue under concurrent reviewers.

Loads a project with ``--items`` items waiting at a review stage that needs two
approvals (bulk inserts into a scratch test database), then runs ``--reviewers``
threads, each looping ``next_for_review`` → ``decide(approve)`` for ``--seconds``.
Prints decisions per second, next/decide latency (p50/p95/p99 ms), and checks the
database afterwards: no stage visit with more approvals than it needed, exactly one
advance per item that completed the stage, no reviewer approving one item twice.

    DATABASE_URL=postgres://…/scratch python benchmarks/review_bench.py --items 100000

The script creates and drops its own ``test_…`` database next to the one named.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "not-a-secret-only-for-this-run-0123456789abcdefghijklmnopq")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.models import Count, F  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--reviewers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args)
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(args: argparse.Namespace) -> None:
    from annotation.models import Item, Revision, RevisionKind, Transition
    from annotation.states import State
    from projects import services as project_services
    from projects.models import Role
    from reviews import services
    from reviews.decisions import decide
    from reviews.models import Review, StageVisit
    from reviews.policy import set_review_stages

    User = get_user_model()
    admin = User.objects.create_user("bench-admin", password="x")
    annotator = User.objects.create_user("bench-annotator", password="x")
    project = project_services.create_project(creator=admin, name="Review bench")
    project_services.set_member(project=project, username=annotator.username, role=Role.ANNOTATOR)
    reviewers = []
    for n in range(args.reviewers):
        user = User.objects.create_user(f"bench-reviewer-{n}", password="x")
        project_services.set_member(project=project, username=user.username, role=Role.REVIEWER)
        reviewers.append(user)
    set_review_stages(
        project=project,
        stages=[
            {"name": "Peer", "sample_rate": 1, "min_approvals": 2},
            {"name": "Final", "sample_rate": 0, "min_approvals": 1},
        ],
    )

    started = time.perf_counter()
    batch = 5000
    for start in range(0, args.items, batch):
        n = min(batch, args.items - start)
        items = Item.objects.bulk_create(
            Item(
                project=project,
                source=[{"role": "user", "content": f"Question {start + k}?"}],
                state=State.IN_REVIEW,
                stage=0,
            )
            for k in range(n)
        )
        revisions = Revision.objects.bulk_create(
            Revision(
                item=item,
                messages=[*item.source, {"role": "assistant", "content": "An answer."}],
                kind=RevisionKind.SUBMISSION,
                author=annotator,
            )
            for item in items
        )
        for item, revision in zip(items, revisions, strict=True):
            item.current_revision = revision
        Item.objects.bulk_update(items, ["current_revision"])
        StageVisit.objects.bulk_create(
            StageVisit(item=item, stage=0, stage_name="Peer", min_approvals=2) for item in items
        )
    load_s = time.perf_counter() - started
    print(f"loaded {args.items} items in review in {load_s:.1f}s")

    next_times: list[float] = []
    decide_times: list[float] = []
    errors: list[str] = []
    stop = time.monotonic() + args.seconds

    def work(user: object) -> None:
        try:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                lease = services.next_for_review(project=project, reviewer=user)  # type: ignore[arg-type]
                next_times.append(time.perf_counter() - t0)
                if lease is None:
                    break
                item = Item.objects.select_related("project").get(pk=lease.item_id)
                t0 = time.perf_counter()
                decide(item=item, reviewer=user, decision="approve")  # type: ignore[arg-type]
                decide_times.append(time.perf_counter() - t0)
        except Exception as exc:  # reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(u,)) for u in reviewers]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0

    over = StageVisit.objects.filter(approvals__gt=F("min_approvals")).count()
    completed = StageVisit.objects.filter(outcome="approved").count()
    approved = Item.objects.filter(state=State.APPROVED).count()
    moves = Transition.objects.filter(event="approve").count()
    twice = (
        Review.objects.values("item_id", "reviewer_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    print(
        f"vendor={connection.vendor} reviewers={args.reviewers} decisions={len(decide_times)} "
        f"in {elapsed:.1f}s = {len(decide_times) / elapsed:.1f} decisions/s"
    )
    print(
        "next   p50/p95/p99 ms: "
        f"{pct(next_times, 0.5):.1f} / {pct(next_times, 0.95):.1f} / {pct(next_times, 0.99):.1f}"
    )
    print(
        "decide p50/p95/p99 ms: "
        f"{pct(decide_times, 0.5):.1f} / {pct(decide_times, 0.95):.1f} / {pct(decide_times, 0.99):.1f}"
    )
    print(
        f"stage visits completed={completed} items approved={approved} approve moves={moves} "
        f"over-approved visits={over} reviewer twice on one item={twice} errors={len(errors)}"
    )
    if errors:
        print("first error:", errors[0])
    ok = over == 0 and twice == 0 and completed == approved == moves and not errors
    print("consistent" if ok else "INCONSISTENT")


if __name__ == "__main__":
    main()
