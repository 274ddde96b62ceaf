"""Fixtures for the import tests: a `correct` project and a helper that writes a file."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from projects import services
from projects.models import Project


@pytest.fixture
def correct_project(alice: Any) -> Project:
    """A `correct` project (imported answers become model drafts); alice is its admin."""
    return services.create_project(
        creator=alice, name="Fix the drafts", slug="drafts", task_type="correct"
    )


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """``write_file(name, content)`` with bytes, text, or an iterable of JSON rows."""

    def write(name: str, content: bytes | str | Iterable[Any]) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_bytes(content.encode("utf-8"))
        else:
            lines = [json.dumps(row, ensure_ascii=False) for row in content]
            path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
        return path

    return write
