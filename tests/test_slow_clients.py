"""The production shape survives slow clients: behind the nginx proxy of
docker-compose.yml (deploy/nginx/), sockets that dribble their headers or stall mid
upload do not hold gunicorn's sync workers, and /healthz keeps answering. Without the
proxy the same sockets take every worker, which is what the proxy is for."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import ROOT, missing

WORKERS = 2
SLOW_SOCKETS = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthz_seconds(port: int, timeout: float = 3.0) -> float | None:
    """How long /healthz took, or None when it did not answer within ``timeout``."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as r:
            r.read()
            return time.monotonic() - started if r.status == 200 else None
    except OSError:
        return None


def wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if healthz_seconds(port, timeout=1) is not None:
            return
        time.sleep(0.2)
    raise AssertionError(f"nothing answered /healthz on port {port}")


@pytest.fixture
def shape(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """gunicorn (sync workers, as in compose) and nginx with the repository's config:
    yields (gunicorn port, proxy port)."""
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        missing("nginx (apt-get install nginx)")
    assert nginx is not None
    app_port, proxy_port = free_port(), free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "slow-client-test-" + "k7Qz" * 16,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HTTPS": "0",
        "BEHIND_PROXY": "1",
    }
    env.pop("REDIS_URL", None)
    app = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{app_port}",
            "--workers",
            str(WORKERS),
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    template = (ROOT / "deploy" / "nginx" / "scriptorium.conf.template").read_text()
    server = template.replace("${SCRIPTORIUM_UPSTREAM}", f"127.0.0.1:{app_port}").replace(
        "${SCRIPTORIUM_LISTEN}", f"127.0.0.1:{proxy_port}"
    )
    (tmp_path / "scriptorium.conf").write_text(server)
    temp = "\n".join(
        f"  {kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"worker_processes 1;\npid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\n"
        f"events {{ worker_connections 512; }}\nhttp {{\n  access_log off;\n{temp}\n"
        f"  include {tmp_path / 'scriptorium.conf'};\n}}\n"
    )
    proxy = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(app_port)
        wait_up(proxy_port)
        yield app_port, proxy_port
    finally:
        for process in (proxy, app):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def slow_sockets(port: int, n: int) -> list[socket.socket]:
    """``n`` clients that started a request and then stall: half mid-headers, half mid
    upload (a 10 MB body announced, 1 KB sent)."""
    opened = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        if i % 2:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        else:
            s.sendall(
                b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 10485760\r\n\r\n" + b"x" * 1024
            )
        opened.append(s)
    return opened


def test_slow_clients_do_not_stop_the_app_behind_the_proxy(shape: tuple[int, int]) -> None:
    _, proxy_port = shape
    held = slow_sockets(proxy_port, SLOW_SOCKETS)
    try:
        time.sleep(1)
        answers = [healthz_seconds(proxy_port) for _ in range(5)]
        assert all(a is not None and a < 2 for a in answers), answers
    finally:
        for s in held:
            s.close()


def test_without_the_proxy_the_same_sockets_take_every_worker(shape: tuple[int, int]) -> None:
    app_port, proxy_port = shape
    held = slow_sockets(app_port, WORKERS * 2)
    try:
        time.sleep(1)
        assert healthz_seconds(app_port, timeout=3) is None
    finally:
        for s in held:
            s.close()
    assert healthz_seconds(proxy_port) is not None
