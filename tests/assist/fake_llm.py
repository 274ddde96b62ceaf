"""A real HTTP server on loopback that speaks the OpenAI chat-completions protocol, for
tests and benchmarks: nothing leaves the machine.

The request's ``model`` picks the behaviour:

- any other name: a deterministic draft, ``Draft: <first 80 characters of the last user
  turn>`` (``latency`` seconds late, if set);
- ``judge``: a judge that reads ``SCORE=<0-4>`` in the text it is shown and answers
  ``{"score": k, "reason": "…"}``; without a marker it scores by length (0 under 20
  characters, 4 over 200);
- ``nonsense``: a judge that answers prose with no score in it;
- ``slow``: answers after ``slow_seconds``;
- ``ratelimit``: the first ``rate_limited`` calls get 429 with ``Retry-After: 1``;
- ``error``: 500; ``malformed``: a 200 whose body is not JSON;
- ``missing``: 404 as for an unknown model. A key ``wrong`` gets 401.

The server counts calls and the most calls it had in flight at once, so tests and
benchmarks can prove that concurrency limits held.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

SCORE_MARK = re.compile(r"SCORE=([0-4])")


class FakeLLM:
    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency
        self.slow_seconds = 5.0
        self.rate_limited = 2
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[dict[str, Any]] = []
        self.call_times: list[float] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeLLM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, body: dict[str, Any], key: str) -> tuple[int, dict[str, str], bytes]:
        model = str(body.get("model", ""))
        messages = body.get("messages") or []
        last_user = next(
            (str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"),
            "",
        )
        if key == "wrong":
            return 401, {}, json.dumps({"error": {"message": "Incorrect API key"}}).encode()
        if model == "missing":
            return 404, {}, json.dumps({"error": {"message": "model not found"}}).encode()
        if model == "error":
            return 500, {}, json.dumps({"error": {"message": "boom"}}).encode()
        if model == "malformed":
            return 200, {}, b"{not json"
        if model == "ratelimit":
            with self._lock:
                limited = self.rate_limited > 0
                if limited:
                    self.rate_limited -= 1
            if limited:
                return 429, {"Retry-After": "1"}, b'{"error": {"message": "slow down"}}'
        if model == "slow":
            time.sleep(self.slow_seconds)
        if model == "judge":
            found = SCORE_MARK.search(last_user)
            if found:
                score = int(found.group(1))
            else:
                n = len(last_user)
                score = 0 if n < 20 else 4 if n > 200 else 2
            text = json.dumps({"score": score, "reason": f"Scored {score} by the test judge."})
        elif model == "nonsense":
            text = "What a lovely answer, I enjoyed reading it."
        else:
            text = "Draft: " + last_user[:80]
        payload = {
            "id": f"chatcmpl-{self.calls}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": sum(len(str(m.get("content", "")).split()) for m in messages),
                "completion_tokens": len(text.split()),
                "total_tokens": 0,
            },
        }
        return 200, {}, json.dumps(payload).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with fake._lock:
                    fake.calls += 1
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                    fake.call_times.append(time.monotonic())
                try:
                    body = json.loads(raw or b"{}")
                    with fake._lock:
                        fake.requests.append(body)
                    if fake.latency:
                        time.sleep(fake.latency)
                    key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                    status, headers, data = fake._answer(body, key)
                finally:
                    with fake._lock:
                        fake.in_flight -= 1
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


@pytest.fixture
def fake_llm(settings: Any) -> Iterator[FakeLLM]:
    """A loopback model server, allowed as an outbound host for the test."""
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    server = FakeLLM().start()
    yield server
    server.stop()
