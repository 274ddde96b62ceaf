"""Drafting a project's items with a model: 10,000 items against the loopback
chat-completions server (tests/assist/fake_llm.py) answering after 20 ms, with the
endpoint's max concurrency 32.

Prints items/s, the most calls the server saw in flight at once (must be at most the
endpoint's max concurrency) and, with ``--rpm``, the most calls in any sliding minute
(must be at most ``--rpm``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/generation_bench \
        python benchmarks/generation_bench.py [--items 10000] [--latency 0.02] \
        [--concurrency 32] [--rpm N]

Without DATABASE_URL it uses a fresh SQLite file in a temporary folder. A PostgreSQL
database named in DATABASE_URL is created if missing; the project is rebuilt each run.
The run goes through the same job and task as the product (in-process: no REDIS_URL).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "not-a-secret-only-for-this-run-0123456789abcdefghijklmnopq")
os.environ.setdefault("DEBUG", "0")
os.environ["OUTBOUND_ALLOWED_HOSTS"] = "127.0.0.1"
os.environ.pop("REDIS_URL", None)  # the run happens in this process
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"


def _ensure_postgres_database(url: str) -> None:
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return
    import psycopg

    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


_ensure_postgres_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

SLUG = "generation-bench"


def prepare(
    items: int, url: str, concurrency: int, rpm: int | None
) -> tuple[object, object, object]:
    from django.contrib.auth import get_user_model

    from annotation.models import Item
    from assist.models import Endpoint, PromptVersion
    from projects import services
    from projects.models import Project

    call_command("migrate", verbosity=0)
    Project.objects.filter(slug=SLUG).delete()
    owner, _ = get_user_model().objects.get_or_create(username="bench-admin")
    project = services.create_project(
        creator=owner, name="Generation bench", slug=SLUG, task_type="correct"
    )
    batch = [
        Item(
            project=project,
            source=[{"role": "user", "content": f"Question {n}: how do I do thing {n}?"}],
        )
        for n in range(items)
    ]
    Item.objects.bulk_create(batch, batch_size=2000)
    endpoint = Endpoint.objects.create(
        project=project, name="loopback", base_url=url, model="drafter", family="llama",
        max_concurrency=concurrency, rpm=rpm, timeout=30,
    )  # fmt: skip
    prompt = PromptVersion.objects.create(project=project, name="bench", template="{{prompt}}")
    return owner, endpoint, prompt


def peak_per_minute(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 60.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rpm", type=int, default=None)
    args = parser.parse_args()

    from assist.generation import start_generation
    from assist.models import Generation
    from projects.models import Job
    from tests.assist.fake_llm import FakeLLM

    fake = FakeLLM(latency=args.latency).start()
    try:
        owner, endpoint, prompt = prepare(args.items, fake.url, args.concurrency, args.rpm)
        started = time.monotonic()
        # No broker: the task runs in-process when the job is committed.
        job = start_generation(
            project=endpoint.project, actor=owner, endpoint=endpoint, prompt=prompt
        )  # type: ignore[attr-defined,arg-type]
        elapsed = time.monotonic() - started
        job = Job.objects.get(pk=job.pk)
        rows = Generation.objects.filter(job=job).count()
        applied = Generation.objects.filter(job=job, applied=True).count()
        print(f"database          {connection.vendor}")
        print(
            f"items             {args.items}  (latency {args.latency * 1000:.0f} ms, max concurrency {args.concurrency})"
        )
        print(
            f"status            {job.status}, {rows} drafts, {applied} applied, {len(job.errors)} errors"
        )
        print(f"wall time         {elapsed:.1f} s")
        print(f"items/s           {args.items / elapsed:.0f}")
        print(f"model calls       {fake.calls}")
        print(f"max in flight     {fake.max_in_flight}  (limit {args.concurrency})")
        peak = peak_per_minute(fake.call_times)
        print(
            f"peak calls/min    {peak}"
            + (f"  (limit {args.rpm})" if args.rpm else "  (no rpm limit set)")
        )
        assert fake.max_in_flight <= args.concurrency, "concurrency limit exceeded"
        assert not args.rpm or peak <= args.rpm, "rpm limit exceeded"
        assert rows == args.items and fake.calls == args.items, (
            "an item was drafted twice or not at all"
        )
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
