"""The work queue under load: 32 annotators claiming and submitting over HTTP.

A project of 1,000,000 items on PostgreSQL, served by gunicorn. Each simulated
annotator loops: ``POST /api/v1/projects/{id}/next/`` then ``POST
/api/v1/items/{id}/submit/``. Prints next-item and submit latency (p50/p99 ms),
throughput, and the number of double or over-assignments (must be 0).

    DATABASE_URL=postgres://… REDIS_URL=redis://… python benchmarks/queue_bench.py \
        [--items 1000000] [--annotators 32] [--seconds 60] [--workers 4] [--overlap 1]

The items are loaded once with COPY and reused by later runs (the project's open items
are topped up). Submissions go to the broker in REDIS_URL (no worker is needed for the
measurement; the script purges what it queued afterwards).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "not-a-secret-only-for-this-run-0123456789abcdefghijklmnopq")
os.environ.setdefault("DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

SLUG = "queue-bench"


def prepare(items: int, annotators: int, overlap: int) -> tuple[int, list[str]]:
    from django.contrib.auth import get_user_model

    from accounts.services import issue_token
    from annotation.models import Assignment, Item
    from annotation.queues import default_queue
    from projects import services
    from projects.models import Project, Role

    assert connection.vendor == "postgresql", "the benchmark needs PostgreSQL (DATABASE_URL)"
    call_command("migrate", verbosity=0)
    User = get_user_model()
    owner, _ = User.objects.get_or_create(username="bench-admin")
    project = Project.objects.filter(slug=SLUG).first() or services.create_project(
        creator=owner, name="Queue bench", slug=SLUG
    )
    project.overlap, project.max_leases, project.lease_minutes = overlap, 5, 30
    project.save(update_fields=["overlap", "max_leases", "lease_minutes"])
    default_queue(project)
    # Start every run from the same place: no leases, every item open.
    Assignment.objects.filter(item__project=project).delete()
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE annotation_item SET state='queued', claims=0, current_revision_id=NULL "
            "WHERE project_id=%s AND (state<>'queued' OR claims<>0)",
            [project.pk],
        )
    have = Item.objects.filter(project=project).count()
    if have < items:
        started = time.perf_counter()
        now = timezone.now()
        with (
            connection.cursor() as cur,
            cur.copy(
                "COPY annotation_item (project_id, source, model_draft, reference, is_gold, "
                "metadata, tags, priority, prompt_hash, state, created_at, state_changed_at, "
                "claims) FROM STDIN"
            ) as copy,
        ):
            for n in range(have, items):
                source = json.dumps([{"role": "user", "content": f"Question number {n}?"}])
                copy.write_row(
                    (
                        project.pk,
                        source,
                        "",
                        "",
                        False,
                        "{}",
                        "[]",
                        n % 5,
                        "",
                        "queued",
                        now,
                        now,
                        0,
                    )
                )
        connection.cursor().execute("ANALYZE annotation_item")
        print(f"loaded {items - have:,} items in {time.perf_counter() - started:.1f} s")
    tokens = []
    for n in range(annotators):
        user, _ = User.objects.get_or_create(username=f"bench-annotator-{n}")
        services.set_member(project=project, username=user.username, role=Role.ANNOTATOR)
        tokens.append(issue_token(user=user, name="queue bench")[0])
    return project.pk, tokens


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def annotator(
    port: int, token: str, project_id: int, stop: float, out: dict, think: float = 0.0
) -> None:
    try:
        work(port, token, project_id, stop, out, think)
    except Exception as exc:  # counted and shown, never a silent hang
        out["errors"].append(("exception", repr(exc)))


def work(port: int, token: str, project_id: int, stop: float, out: dict, think: float) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def call(method: str, path: str, body: object = None) -> tuple[int, dict, float]:
        payload = json.dumps(body) if body is not None else None
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                break
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                conn.close()  # the server closed an idle keep-alive connection: reconnect
                if attempt == 2:
                    raise
        elapsed = (time.perf_counter() - started) * 1000
        return response.status, (json.loads(raw) if raw else {}), elapsed

    if think:
        time.sleep(random.uniform(0, think))  # annotators do not all start the same instant
    while time.perf_counter() < stop:
        status, item, ms = call("POST", f"/api/v1/projects/{project_id}/next/")
        out["next"].append(ms)
        if status == 204:
            break
        if status != 200:
            out["errors"].append((status, item))
            break
        out["claimed"].append(item["id"])
        messages = [*item["draft"][:-1], {"role": "assistant", "content": "A benchmark answer."}]
        if think:
            time.sleep(random.uniform(0.5, 1.5) * think)  # the annotator writing
        status, body, ms = call(
            "POST",
            f"/api/v1/items/{item['id']}/submit/",
            {"messages": messages, "base_revision": item["base_revision"]},
        )
        out["submit"].append(ms)
        if status not in (200, 201):
            out["errors"].append((status, body))
            break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--annotators", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--overlap", type=int, default=1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0,
        help="time each annotator spends writing between next and submit (0: flat out)",
    )
    args = parser.parse_args()

    project_id, tokens = prepare(args.items, args.annotators, args.overlap)
    env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--worker-class",
            "gthread",
            "--keep-alive",
            "75",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                c = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
                c.request("GET", "/healthz")
                c.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)
        # Warm every worker's connections and caches.
        out_warm: dict = {"next": [], "submit": [], "claimed": [], "errors": []}
        warm = [
            threading.Thread(
                target=annotator, args=(args.port, t, project_id, time.perf_counter() + 2, out_warm)
            )
            for t in tokens
        ]
        for t in warm:
            t.start()
        for t in warm:
            t.join()
        out: dict = {"next": [], "submit": [], "claimed": [], "errors": []}
        stop = time.perf_counter() + args.seconds
        started = time.perf_counter()
        threads = [
            threading.Thread(
                target=annotator, args=(args.port, t, project_id, stop, out, args.think_ms / 1000)
            )
            for t in tokens
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM (SELECT a.item_id FROM annotation_assignment a JOIN annotation_item i "
            "ON i.id=a.item_id WHERE i.project_id=%s AND a.status IN ('active','submitted') "
            "GROUP BY a.item_id HAVING count(*) > %s) over_assigned",
            [project_id, args.overlap],
        )
        over = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM (SELECT item_id, user_id FROM annotation_assignment GROUP BY 1, 2 "
            "HAVING count(*) > 1) doubled"
        )
        doubled = cur.fetchone()[0]
    claimed = out["claimed"] + out_warm["claimed"]
    repeated = len(claimed) - len(set(claimed)) if args.overlap == 1 else 0
    if os.environ.get("REDIS_URL"):
        from config.celery import app

        app.control.purge()
    print(
        f"think {args.think_ms:.0f} ms  "
        f"items {args.items:,}  annotators {args.annotators}  overlap {args.overlap}  "
        f"gunicorn {args.workers}x{args.threads} gthread"
    )
    print(
        f"claims+submits {len(out['submit']):,} in {elapsed:.1f} s = {len(out['submit']) / elapsed:.0f}/s"
    )
    if out["errors"]:
        print("first error:", out["errors"][0])
    if not out["next"] or not out["submit"]:
        return
    print(
        f"next   p50 {statistics.median(out['next']):.1f} ms  "
        f"p95 {percentile(out['next'], 95):.1f} ms  p99 {percentile(out['next'], 99):.1f} ms"
    )
    print(
        f"submit p50 {statistics.median(out['submit']):.1f} ms  "
        f"p95 {percentile(out['submit'], 95):.1f} ms  p99 {percentile(out['submit'], 99):.1f} ms"
    )
    print(
        f"double assignments {doubled + repeated}  over-assigned items {over}  errors {len(out['errors'])}"
    )


if __name__ == "__main__":
    main()
