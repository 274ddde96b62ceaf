"""Celery tasks of the judge: thin, ids in, one service call."""

from __future__ import annotations
