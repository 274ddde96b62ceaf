from __future__ import annotations

from tests.assist.fake_llm import fake_llm  # noqa: F401  (fixture)
