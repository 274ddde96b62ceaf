"""Every JSON endpoint of the OpenAPI schema, fed thousands of malformed requests
(wrong types, unknown and missing fields, broken or deeply nested JSON, NUL and
unpaired surrogates, huge numbers and strings, foreign and out-of-range ids, junk query
parameters), seeded so a failure replays: no response may be a 500.

Model-calling bodies that name a base URL are left out: a fuzzed URL could resolve a
public name (a DNS query leaving the machine); the endpoints' own tests cover them
against the loopback server.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from projects import services as project_services
from tests.factories import make_item

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SEED = 20261202
TOTAL = 2400  # requests, spread over the operations
SKIP_BODY = re.compile(r"/endpoints/")

NASTY: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    2**63,
    -(2**63) - 1,
    10**40,
    1e308,
    float("nan"),
    "",
    " ",
    "x" * 70_000,
    "\u0000",
    "a\u0000b",
    "\ud800",
    "\udfff tail",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "=cmd|' /C calc'!A0",
    "١٢٣",
    "🙂" * 500,
    "null",
    "[]",
    [],
    [None],
    ["x"] * 5000,
    {},
    {"": None},
    {"role": "user"},
    [{"role": "user", "content": 5}],
    [{"role": "robot", "content": "x"}],
    {"nested": {"deeper": {"deepest": [1, {"a": []}]}}},
]
BROKEN_TEXT = [
    b"{",
    b'{"a":',
    b"[1,]",
    b"\xff\xfe\x00",
    b"nul\x00byte",
    b"{}{}",
    b"'single'",
    b"NaN",
    b"[" * 50_000 + b"]" * 50_000,
    b'{"a": "\\ud800"}',
    b'{"a": "\\u0000"}',
    b" ",
]
ODD_QUERY = {
    "page": ["-1", "0", "abc", "99999999999999999999"],
    "page_size": ["-5", "100000", "x"],
    "ordering": ["-nope", "id;drop", ""],
    "state": ["nope", "%00"],
    "q": ["x" * 5000, "%ed%a0%80", "%ff%fe", "'%20OR%201=1"],
    "zzz": ["1"],
}


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def property_names(schema: dict[str, Any], components: dict[str, Any]) -> list[str]:
    ref = schema.get("$ref")
    if ref:
        schema = components.get(ref.rsplit("/", 1)[-1], {})
    names = list(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        names += property_names(part, components)
    return names


def body_for(rng: random.Random, names: list[str]) -> tuple[bytes, str]:
    """A malformed body and its content type."""
    kind = rng.randrange(8)
    if kind == 0:
        return rng.choice(BROKEN_TEXT), "application/json"
    if kind == 1:
        return json.dumps(rng.choice([[], "text", 5, None, True])).encode(), "application/json"
    if kind == 2:
        return b'{"x": ' + nested(rng.choice([70, 900, 5000])) + b"}", "application/json"
    if kind == 3:
        pairs = "&".join(f"{n}={rng.choice(['', '%00', '%ff', 'x' * 300])}" for n in names[:5])
        return (pairs or "a=%ff").encode(), "application/x-www-form-urlencoded"
    data: dict[str, Any] = {}
    for name in names:
        if rng.random() < 0.7:
            data[name] = rng.choice(NASTY)
    if kind == 4 or not names:
        data[rng.choice(["unknown", "\ud800key", "id", "__proto__"])] = rng.choice(NASTY)
    text = json.dumps(data, allow_nan=True, ensure_ascii=rng.random() < 0.5)
    return text.encode("utf-8", "surrogatepass"), "application/json"


def ids_for(param: str, own: dict[str, int]) -> list[Any]:
    base = own.get(param)
    return [v for v in (base, base, 1, 0, 2**31, 2**63, 99999999999999999999) if v is not None]


@pytest.fixture
def world(
    alice: Any,
    rita: Any,
    anna: Any,
    oscar: Any,
    sam: Any,
    project: Any,
    other_project: Any,
    settings: Any,
) -> dict[str, Any]:
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    item = make_item(project, answer="An answer to fuzz around.")
    foreign = make_item(other_project)
    project_services.publish_guideline(project=project, body="Be kind.", author=alice)
    own = {"project_id": project.pk, "item_id": item.pk, "user_id": anna.pk}
    return {"own": own, "foreign": foreign.pk, "users": [alice, sam, anna]}


def test_no_malformed_request_gets_a_500(world: dict[str, Any]) -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema.get("components", {}).get("schemas", {})
    operations = [
        (path, method, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    per_operation = max(20, math.ceil(TOTAL / len(operations)))
    rng = random.Random(SEED)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    clients = []
    for user in world["users"]:
        client = APIClient(raise_request_exception=False)
        client.force_authenticate(user)
        clients.append(client)
    sent = 0
    for path, method, op in operations:
        params = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
        content = op.get("requestBody", {}).get("content", {})
        first: dict[str, Any] = next(iter(content.values()), {}) if content else {}
        body_schema = first.get("schema", {})
        names = property_names(body_schema, components)
        for _ in range(per_operation):
            url = path
            for param in params:
                url = url.replace(
                    "{" + param + "}",
                    str(rng.choice([*ids_for(param, world["own"]), world["foreign"]])),
                )
            if rng.random() < 0.3:
                key = rng.choice(list(ODD_QUERY))
                url += f"?{key}={rng.choice(ODD_QUERY[key])}"
            client = rng.choice(clients)
            if (
                method == "get"
                or method == "delete"
                or (SKIP_BODY.search(path) and method != "get")
            ):
                if SKIP_BODY.search(path) and method in ("post", "put", "patch"):
                    continue
                response = getattr(client, method)(url)
                body = b""
            else:
                body, content_type = body_for(rng, names)
                # Django's Client.generic takes bytes too; the stubs say str only.
                data: Any = body
                response = client.generic(method.upper(), url, data, content_type=content_type)
            sent += 1
            statuses[response.status_code // 100 * 100] += 1
            if response.status_code >= 500:
                failures.append(f"{method.upper()} {url} {body[:120]!r} -> {response.status_code}")
    print(
        f"\nfuzz: {sent} requests over {len(operations)} operations, by status class {dict(statuses)}"
    )
    assert sent >= 2000
    assert failures == [], f"{len(failures)} responses ≥ 500:\n" + "\n".join(failures[:40])
