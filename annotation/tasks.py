"""Celery tasks: thin, ids in, one service call."""

from __future__ import annotations
