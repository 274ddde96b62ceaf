"""Per-endpoint concurrency and rate limits that hold across worker processes.

Each endpoint has at most ``max_concurrency`` calls in flight, at most ``rpm`` calls
and ``tpm`` (estimated) tokens in any sliding minute. With ``REDIS_URL`` set the
counts live in Redis, shared by every worker process on every host: a call holds a
lease (a member of a sorted set scored by its expiry), so a process killed mid-call
frees its place when the lease expires instead of holding it for ever. Without Redis
(the embedded default, one process) the same rules run on in-process state.

A call counts against the per-minute limits from the moment it ends, not the moment
it starts: the server received it somewhere in between, so counting late keeps the
limit true as the server sees it, however slow the calls.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from assist.client import ModelError
from assist.models import Endpoint

WINDOW = 60.0  # seconds: rpm and tpm are per sliding minute
LEASE_MARGIN = 30.0  # seconds a lease outlives the call's own timeout
POLL = 0.02  # seconds between tries while waiting for a place (Redis)
WAITED_TOO_LONG = "The endpoint's concurrency or rate limit kept this call waiting over {s:g} s."


def estimate_tokens(messages: Sequence[dict[str, str]], params: dict[str, Any] | None) -> int:
    """A cautious guess of what a call costs against ``tpm``: about four characters a
    token for what is sent, plus the most it may write."""
    chars = sum(len(m.get("content", "")) for m in messages)
    return chars // 4 + int((params or {}).get("max_tokens") or 256)


@dataclass(frozen=True)
class Limits:
    key: str
    concurrency: int
    rpm: int
    tpm: int
    lease: float

    @classmethod
    def of(cls, endpoint: Endpoint) -> Limits:
        return cls(
            key=f"assist:limits:{endpoint.pk}",
            concurrency=max(1, int(endpoint.max_concurrency or 1)),
            rpm=int(endpoint.rpm or 0),
            tpm=int(endpoint.tpm or 0),
            lease=float(endpoint.timeout or 60.0) + LEASE_MARGIN,
        )


# -- in-process ---------------------------------------------------------------------


@dataclass
class _Local:
    holders: dict[str, float] = field(default_factory=dict)  # holder -> lease expiry
    calls: dict[str, tuple[float, int]] = field(default_factory=dict)  # holder -> (time, tokens)
    condition: threading.Condition = field(default_factory=threading.Condition)


_local: dict[str, _Local] = {}
_local_lock = threading.Lock()


def _local_state(key: str) -> _Local:
    with _local_lock:
        return _local.setdefault(key, _Local())


def _local_try(state: _Local, limits: Limits, holder: str, tokens: int, now: float) -> float:
    """Take a place if the limits allow it now: 0.0, else how long to wait."""
    for name, expiry in list(state.holders.items()):
        if expiry <= now:
            del state.holders[name]
    for name, (at, _) in list(state.calls.items()):
        if at <= now - WINDOW:
            del state.calls[name]
    if len(state.holders) >= limits.concurrency:
        return min(state.holders.values()) - now
    wait = _rate_wait(sorted(state.calls.values()), limits, tokens, now)
    if wait > 0:
        return wait
    state.holders[holder] = now + limits.lease
    if limits.rpm or limits.tpm:
        state.calls[holder] = (now, tokens)
    return 0.0


def _rate_wait(calls: list[tuple[float, int]], limits: Limits, tokens: int, now: float) -> float:
    """How long until one more call of ``tokens`` fits the sliding minute (0: now)."""
    wait = 0.0
    if limits.rpm and len(calls) >= limits.rpm:
        wait = max(wait, calls[len(calls) - limits.rpm][0] + WINDOW - now)
    if limits.tpm and calls:
        used = sum(t for _, t in calls)
        # A call bigger than the whole budget runs alone in an otherwise empty minute.
        budget = max(limits.tpm, tokens)
        for at, spent in calls:
            if used + tokens <= budget:
                break
            used -= spent
            wait = max(wait, at + WINDOW - now)
    return max(wait, 0.0)


@contextmanager
def _local_slot(limits: Limits, tokens: int, max_wait: float | None) -> Iterator[None]:
    state = _local_state(limits.key)
    holder = uuid.uuid4().hex
    started = time.monotonic()
    with state.condition:
        while True:
            wait = _local_try(state, limits, holder, tokens, time.monotonic())
            if wait <= 0:
                break
            _check_waited(started, max_wait)
            state.condition.wait(timeout=min(max(wait, 0.001), 1.0))
    try:
        yield
    finally:
        with state.condition:
            state.holders.pop(holder, None)
            if holder in state.calls:
                # The call counts from when it ended: the server saw it no later.
                state.calls[holder] = (time.monotonic(), tokens)
            state.condition.notify_all()


def _check_waited(started: float, max_wait: float | None) -> None:
    if max_wait is not None and time.monotonic() - started > max_wait:
        raise ModelError(WAITED_TOO_LONG.format(s=max_wait), retryable=True)


# -- Redis --------------------------------------------------------------------------

# KEYS: holders (zset holder -> expiry), calls (zset "id:tokens" -> time)
# ARGV: now, holder, lease, concurrency, rpm, tpm, tokens, window
# Returns "0" when the place is taken, else the seconds to wait (as a string).
_ACQUIRE = """
local now = tonumber(ARGV[1])
local lease, concurrency = tonumber(ARGV[3]), tonumber(ARGV[4])
local rpm, tpm, tokens, window = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= concurrency then
  return '0.001'
end
local wait = 0
local calls = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
local n = #calls / 2
if rpm > 0 and n >= rpm then
  wait = math.max(wait, tonumber(calls[(n - rpm) * 2 + 2]) + window - now)
end
if tpm > 0 and n > 0 then
  local used = 0
  for i = 1, n do
    used = used + tonumber(string.match(calls[i * 2 - 1], ':(%d+)$'))
  end
  local budget = math.max(tpm, tokens)
  for i = 1, n do
    if used + tokens <= budget then break end
    used = used - tonumber(string.match(calls[i * 2 - 1], ':(%d+)$'))
    wait = math.max(wait, tonumber(calls[i * 2]) + window - now)
  end
end
if wait > 0 then return tostring(wait) end
redis.call('ZADD', KEYS[1], now + lease, ARGV[2])
if rpm > 0 or tpm > 0 then
  redis.call('ZADD', KEYS[2], now, ARGV[2] .. ':' .. ARGV[7])
  redis.call('EXPIRE', KEYS[2], math.ceil(window + lease) + 60)
end
redis.call('EXPIRE', KEYS[1], math.ceil(lease) + 60)
return '0'
"""

_redis_lock = threading.Lock()
_redis: dict[str, Any] = {}


def _redis_client(url: str) -> Any:
    import redis

    with _redis_lock:
        client = _redis.get(url)
        if client is None:
            client = _redis[url] = redis.Redis.from_url(url)
        return client


@contextmanager
def _redis_slot(url: str, limits: Limits, tokens: int, max_wait: float | None) -> Iterator[None]:
    client = _redis_client(url)
    script = client.register_script(_ACQUIRE)
    holders, calls = f"{limits.key}:holders", f"{limits.key}:calls"
    holder = uuid.uuid4().hex
    started = time.monotonic()
    while True:
        # Wall-clock time: every process on every host must read the same clock.
        args = [time.time(), holder, limits.lease, limits.concurrency]
        args += [limits.rpm, limits.tpm, tokens, WINDOW]
        wait = float(script(keys=[holders, calls], args=args))
        if wait <= 0:
            break
        _check_waited(started, max_wait)
        time.sleep(max(POLL, min(wait, 1.0)))
    try:
        yield
    finally:
        with client.pipeline() as pipe:
            pipe.zrem(holders, holder)
            # The call counts from when it ended: the server saw it no later.
            pipe.zadd(calls, {f"{holder}:{tokens}": time.time()}, xx=True)
            pipe.execute()


@contextmanager
def slot(
    endpoint: Endpoint, *, estimated_tokens: int = 0, max_wait: float | None = None
) -> Iterator[None]:
    """Hold one of ``endpoint``'s places for the duration of one call, waiting until its
    concurrency and per-minute limits allow it (at most ``max_wait`` seconds, then a
    retryable ModelError)."""
    limits = Limits.of(endpoint)
    tokens = max(0, int(estimated_tokens))
    url = getattr(settings, "REDIS_URL", "") or ""
    manager = (
        _redis_slot(url, limits, tokens, max_wait) if url else _local_slot(limits, tokens, max_wait)
    )
    with manager:
        yield
