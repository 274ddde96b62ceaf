"""Export throughput and memory: N approved items on PostgreSQL, exported as openai-chat
with a 10% validation split. Prints rows/s and the peak RSS of the exporting process.

    DATABASE_URL=postgres://… python manage.py migrate
    DATABASE_URL=postgres://… python benchmarks/export_bench.py [--items 1000000]

The project ``bench-export`` is created once with the items (kept for later runs); the
export then runs in a fresh process, as a worker would, so the peak RSS is the export's.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "not-a-secret-only-for-this-run-0123456789abcdefghijklmnopq")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from annotation.models import Item, Revision, RevisionKind  # noqa: E402
from exports.models import ExportJob  # noqa: E402
from projects.models import Project  # noqa: E402

BATCH = 10_000
PROMPT = "How do I move my CloudSync Pro files to a new laptop? (ticket {n})"
ANSWER = (
    "Sign in on the new laptop, open Settings → Sync and choose the folders to sync. "
    "Your files download in the background; large folders can take a while. (ticket {n})"
)


def seed(items: int, slug: str) -> Project:
    project, _ = Project.objects.get_or_create(slug=slug, defaults={"name": "Export benchmark"})
    have = Item.objects.filter(project=project, state="approved").count()
    if have == items:
        return project
    Item.objects.filter(project=project).delete()
    started = time.perf_counter()
    for start in range(0, items, BATCH):
        with transaction.atomic():
            batch = [
                Item(
                    project=project,
                    source=[{"role": "user", "content": PROMPT.format(n=n)}],
                    state="approved",
                )
                for n in range(start, min(items, start + BATCH))
            ]
            Item.objects.bulk_create(batch)
            Revision.objects.bulk_create(
                Revision(
                    item=item,
                    kind=RevisionKind.SUBMISSION,
                    messages=[*item.source, {"role": "assistant", "content": ANSWER.format(n=n)}],
                )
                for n, item in enumerate(batch, start)
            )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE annotation_item i SET current_revision_id = r.id FROM annotation_revision r "
            "WHERE r.item_id = i.id AND i.project_id = %s",
            [project.pk],
        )
        cursor.execute("VACUUM ANALYZE annotation_item")
        cursor.execute("VACUUM ANALYZE annotation_revision")
    print(f"seeded {items:,} approved items in {time.perf_counter() - started:.0f} s")
    return project


def export(validation: float, fmt: str, slug: str) -> None:
    from exports.options import normalize_options
    from exports.services import build_export

    project = Project.objects.get(slug=slug)
    split = {"validation": validation, "seed": 42} if validation else None
    options = normalize_options(project=project, options={"format": fmt, "split": split})
    job = ExportJob.objects.create(project=project, format=fmt, options=options)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]
    started = time.perf_counter()
    cpu_started = time.process_time()
    built = build_export(job_id=job.pk)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert built is not None and built.status == "succeeded", built and built.message
    size = built.file.size
    print(f"format {fmt}, split {validation}: {built.rows:,} rows in {elapsed:.1f} s")
    print(
        f"  {built.rows / elapsed:,.0f} rows/s, file {size / 2**20:.0f} MiB, sha256 {built.sha256[:16]}…"
    )
    print(
        f"  exporter CPU {cpu:.1f} s ({built.rows / cpu:,.0f} rows per CPU-second); load average before: {load:.1f}"
    )
    print(f"  peak RSS {peak:.0f} MB (after Django start-up: {rss_before:.0f} MB)")
    print(f"  files: {[(f['name'], f['rows']) for f in built.files]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--validation", type=float, default=0.1)
    parser.add_argument("--format", default="openai-chat")
    parser.add_argument("--slug", default="bench-export", help="The benchmark project's slug.")
    parser.add_argument("--export-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a migrated PostgreSQL database.")
    if args.export_only:
        export(args.validation, args.format, args.slug)
        return
    seed(args.items, args.slug)
    connection.close()
    # A fresh process, so its peak RSS is the export's and not the seeding's.
    subprocess.run(
        [sys.executable, __file__, "--export-only", "--validation", str(args.validation),
         "--format", args.format, "--slug", args.slug],
        check=True,
    )  # fmt: skip


if __name__ == "__main__":
    main()
