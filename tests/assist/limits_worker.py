"""One worker process for the cross-process limits test: ``threads`` threads each make
``calls`` model calls through ``assist.calls.call_model`` against the loopback server,
sharing one endpoint's limits through Redis (``REDIS_URL`` must be set).

Usage: python -m tests.assist.limits_worker <base_url> <endpoint_id> <max_concurrency> <threads> <calls>
"""

from __future__ import annotations

import os
import sys
import threading


def main() -> None:
    base_url, endpoint_id, concurrency, threads, count = sys.argv[1:6]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from assist.calls import call_model
    from assist.models import Endpoint

    # An endpoint as a run sees it; the limits key is its id, shared by every process.
    endpoint = Endpoint(
        pk=int(endpoint_id), base_url=base_url, model="drafter", timeout=10,
        max_concurrency=int(concurrency),
    )  # fmt: skip

    def work() -> None:
        for _ in range(int(count)):
            call_model(endpoint, [{"role": "user", "content": "hi"}])

    workers = [threading.Thread(target=work) for _ in range(int(threads))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print("done", flush=True)


if __name__ == "__main__":
    main()
