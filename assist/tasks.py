"""Celery tasks of the model in the loop: thin, ids in, one service call (see
core/tasks.py for the retry policy every idempotent task shares)."""

from __future__ import annotations
