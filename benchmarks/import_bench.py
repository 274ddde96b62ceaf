"""Import throughput and memory: generate N chat rows, import them with
``manage.py import_items`` in a child process (the worker), print rows/s and the
child's peak RSS.

    DATABASE_URL=postgres://… python benchmarks/import_bench.py 100000 1000000

Rows are OpenAI-chat JSONL with a 50 to 400 character prompt and a 200 to 1,500 character
response, generated from a fixed seed. The benchmark project is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "not-a-secret-only-for-this-run-0123456789abcdefghijklmnopq")

WORDS_TEXT = (
    "the of and to in is you that it he was for on are as with his they at be this have from "
    "or one had by word but not what all were we when your can said there use an each which she "
    "do how their if will up other about out many then them these so some her would make like "
    "him into time has look two more write go see number no way could people my than first water "
    "été naïve café über straße 数据 模型 训练 질문 答案"
)
WORDS = WORDS_TEXT.split(" ")


def text(rng: random.Random, low: int, high: int) -> str:
    target = rng.randint(low, high)
    words: list[str] = []
    size = 0
    while size < target:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:target].strip() + "?"


def generate(path: Path, n: int, seed: int = 42) -> int:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            row = {
                "messages": [
                    {"role": "user", "content": f"{i}: {text(rng, 50, 400)}"},
                    {"role": "assistant", "content": text(rng, 200, 1500)},
                ]
            }
            out.write(json.dumps(row, ensure_ascii=False))
            out.write("\n")
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--keep", action="store_true", help="keep the benchmark project")
    parser.add_argument(
        "--cache", type=Path, help="keep generated files in this folder and reuse them"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from projects import services
    from projects.models import Project

    if connection.vendor != "postgresql":
        print("warning: not PostgreSQL; the target is measured on PostgreSQL", file=sys.stderr)
    user_model = __import__("django.contrib.auth", fromlist=["get_user_model"]).get_user_model()
    owner, _ = user_model.objects.get_or_create(username="import-bench")
    print(f"{'rows':>10} {'file MB':>8} {'seconds':>8} {'rows/s':>9} {'peak RSS MB':>12}  status")
    for n in args.sizes:
        slug = f"import-bench-{n}-{int(time.time())}"
        project = services.create_project(creator=owner, name=slug, slug=slug)
        with tempfile.TemporaryDirectory() as tmp:
            path = (args.cache or Path(tmp)) / f"rows-{n}.jsonl"
            size = path.stat().st_size if args.cache and path.exists() else generate(path, n)
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            started = time.perf_counter()
            result = subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "manage.py"),
                    "import_items",
                    slug,
                    str(path),
                    "--json",
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                env={**os.environ, "MEDIA_ROOT": tmp, "IMPORT_MAX_FILE_BYTES": str(4 << 30)},
            )
            elapsed = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        report = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}
        status = report.get("status", result.stderr.strip()[-200:])
        created = report.get("created", 0)
        peak_mb = max(peak, before) / 1024  # ru_maxrss is in KB on Linux
        print(
            f"{n:>10,} {size / 1e6:>8.0f} {elapsed:>8.1f} {n / elapsed:>9,.0f} {peak_mb:>12.0f}  "
            f"{status}, created {created:,}"
        )
        if not args.keep:
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM annotation_item WHERE project_id = %s", [project.pk])
            Project.objects.filter(pk=project.pk).delete()


if __name__ == "__main__":
    main()
