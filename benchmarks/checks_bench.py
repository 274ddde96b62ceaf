"""Speed of the automated checks.

1. Rule-based suite: revisions per second in one process for every check that needs no
   database (format, length with real token counts, placeholder, PII, toxicity, refusal,
   rubber stamp), over pairs from the shared datasets; the language detector measured
   apart (it is a model, not a rule).
2. Near-duplicate lookup against a 1,000,000-item index in PostgreSQL: the real
   ``find_duplicates`` (band-key probe on the (project, key) index, then signatures and
   the exact Jaccard of the candidates), p50/p99 over 1,000 lookups of which a tenth are
   near-copies of indexed texts.

    python benchmarks/checks_bench.py                       # suite only
    DATABASE_URL=postgres://…/scratch python benchmarks/checks_bench.py --items 1000000

The index is built in the database given (bulk COPY, about two minutes for a million
items); use a scratch database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATASETS = Path(os.environ.get("DATASETS", ROOT.parent / "shared" / "datasets"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "not-a-secret-only-for-this-run-0123456789abcdefghijklmnopq")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

Messages = list[dict[str, str]]


def pairs() -> list[Messages]:
    out = []
    for line in (DATASETS / "self-instruct_seed_tasks.jsonl").read_text().splitlines():
        row = json.loads(line)
        instance = row["instances"][0]
        out.append(
            [
                {"role": "user", "content": row["instruction"] + "\n" + instance["input"]},
                {"role": "assistant", "content": instance["output"]},
            ]
        )
    for line in (DATASETS / "oasst_en_100_tree.jsonl").read_text().splitlines():
        prompt = json.loads(line)["prompt"]
        for reply in prompt.get("replies", []):
            out.append(
                [
                    {"role": "user", "content": prompt["text"]},
                    {"role": "assistant", "content": reply["text"]},
                ]
            )
    return out


def suite(seconds: float) -> None:
    from checks import config
    from checks import services as checks
    from checks.registry import REGISTRY, CheckContext

    data = pairs()
    chars = statistics.mean(sum(len(m["content"]) for m in p) for p in data)
    rule_based = [
        config.default_config(REGISTRY[name])
        for name in (
            "format",
            "length",
            "placeholder",
            "pii",
            "toxicity",
            "refusal",
            "rubber_stamp",
        )
    ]
    language = [config.default_config(REGISTRY["language"])]
    context = CheckContext(task_type="correct", model_draft="A draft the annotator rewrote.")
    for configured, label in ((rule_based, "rule-based suite"), (language, "language detector")):
        checks.evaluate(configured, data[0], context)  # load tokenizer / models once
        done = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        while time.perf_counter() - started < seconds:
            for messages in data:
                checks.evaluate(configured, messages, context)
            done += len(data)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        # CPU time is what one worker process needs; wall time also counts waiting for a
        # core on a busy machine.
        print(
            f"{label:<20} {done / cpu:>8,.0f} revisions/s per process (CPU time), "
            f"{done / elapsed:,.0f}/s wall clock; {len(configured)} checks, "
            f"{len(data)} dataset pairs of {chars:,.0f} chars on average"
        )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


WORDS = [
    "account",
    "password",
    "reset",
    "settings",
    "email",
    "link",
    "security",
    "support",
    "order",
    "refund",
    "invoice",
    "shipping",
    "delivery",
    "product",
    "warranty",
    "battery",
    "screen",
    "update",
    "install",
    "device",
    "network",
    "router",
    "printer",
    "driver",
    "browser",
    "cache",
    "cookie",
    "login",
    "server",
    "backup",
    "storage",
    "sync",
    "folder",
    "file",
    "photo",
    "video",
    "music",
    "playlist",
    "calendar",
    "meeting",
    "reminder",
    "note",
    "task",
    "project",
    "team",
    "billing",
    "plan",
    "upgrade",
    "discount",
    "coupon",
    "receipt",
    "address",
    "phone",
    "language",
    "region",
    "time",
    "zone",
]


def synthetic_text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120)))


def build_index(items: int) -> tuple[Any, list[str]]:
    """A project with ``items`` indexed items (bulk COPY into the real tables)."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from annotation.models import Item, Revision, RevisionKind
    from checks.registry import duplicates as dup
    from projects.services import create_project

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user(f"bench{time.time_ns()}", password="x")
    project = create_project(creator=user, name=f"Bench {time.time_ns()}")
    rng = random.Random(7)
    sample: list[str] = []
    started = time.perf_counter()
    first_id = (Item.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1_000_000
    batch = 50_000
    with connection.cursor() as cursor:
        raw = cursor.connection
        for start in range(0, items, batch):
            with raw.cursor() as cur:
                with cur.copy(
                    "COPY reviews_duplicateentry (item_id, project_id, revision_id, text_hash, prompt_hash, signature) FROM STDIN"
                ) as copy_entries:
                    band_rows = []
                    for n in range(start, min(items, start + batch)):
                        text = synthetic_text(rng)
                        if len(sample) < 100 and n % (items // 100 or 1) == 0:
                            sample.append(text)
                        sig = dup.signature(text)
                        item_id = first_id + n
                        copy_entries.write_row(
                            (item_id, project.pk, 0, f"{n:064x}", "", sig.tobytes())
                        )
                        band_rows.extend(
                            (project.pk, key, item_id) for key in set(dup.band_keys(sig))
                        )
                with cur.copy(
                    "COPY reviews_duplicateband (project_id, key, item_id) FROM STDIN"
                ) as copy_bands:
                    for row in band_rows:
                        copy_bands.write_row(row)
            raw.commit()
            print(
                f"  indexed {min(items, start + batch):,} items ({time.perf_counter() - started:.0f}s)",
                flush=True,
            )
        cursor.execute("ANALYZE reviews_duplicateband")
        cursor.execute("ANALYZE reviews_duplicateentry")
    # Real items and revisions for the texts the near-copies are made from, so the exact
    # Jaccard verification reads real rows.
    for n, text in enumerate(sample):
        item = Item.objects.create(project=project, source=[])
        revision = Revision.objects.create(
            item=item,
            messages=[{"role": "assistant", "content": text}],
            kind=RevisionKind.SUBMISSION,
        )
        from checks import services as checks

        checks.index_item(item, revision, checks.fingerprint(item, revision.messages))
        sample[n] = text
    print(f"index built: {items:,} items in {time.perf_counter() - started:.0f}s")
    return project, sample


def lookups(project: Any, sample: list[str], count: int) -> None:
    from annotation.models import Item
    from checks import services as checks

    rng = random.Random(11)
    timings = []
    found = 0
    for n in range(count):
        if n % 10 == 0:
            words = rng.choice(sample).split()
            words[rng.randrange(len(words))] = "different"
            text = " ".join(words)
        else:
            text = synthetic_text(rng)
        messages = [{"role": "assistant", "content": text}]
        item = Item(project=project, source=[])
        fp = checks.fingerprint(item, messages)
        started = time.perf_counter()
        result = checks.find_duplicates(
            project_id=project.pk, item_id=None, messages=messages, fp=fp
        )
        timings.append((time.perf_counter() - started) * 1000)
        found += n % 10 == 0 and any(d.similarity >= 0.8 for d in result)
    timings.sort()
    p50 = timings[len(timings) // 2]
    p99 = timings[int(len(timings) * 0.99) - 1]
    print(
        f"near-duplicate lookup: p50 {p50:.2f} ms, p99 {p99:.2f} ms over {count} lookups; "
        f"{found}/{count // 10} planted near-copies found"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--items", type=int, default=0, help="size of the near-duplicate index (0: skip)"
    )
    parser.add_argument("--lookups", type=int, default=1000)
    args = parser.parse_args()
    suite(args.seconds)
    if args.items:
        from django.db import connection

        if connection.vendor != "postgresql":
            sys.exit(
                "The index benchmark needs PostgreSQL: set DATABASE_URL to a scratch database."
            )
        project, sample = build_index(args.items)
        lookups(project, sample, args.lookups)


if __name__ == "__main__":
    main()
