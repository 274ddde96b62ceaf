"""Import jobs: one uploaded file, its options, progress and per-row report."""

from __future__ import annotations

from django.db import models

from core.models import BackgroundJob
from projects.models import Project


class ImportJob(BackgroundJob):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imports")
    file = models.FileField(upload_to="imports/%Y/%m/")
    filename = models.CharField(max_length=255)
    format = models.CharField(max_length=30, default="auto")
    detected_format = models.CharField(max_length=30, blank=True)
    options = models.JSONField(default=dict, blank=True)
    skip_invalid = models.BooleanField(default=False)
    skip_duplicates = models.BooleanField(default=False)
    total = models.PositiveIntegerField(default=0, help_text="Rows read.")
    valid = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    existing = models.PositiveIntegerField(default=0, help_text="Rows whose external id exists.")
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    phase = models.CharField(
        max_length=20, blank=True, help_text="mapping, validating or writing while not finished."
    )
    size = models.BigIntegerField(default=0, help_text="Bytes in the uploaded file.")
    position = models.BigIntegerField(default=0, help_text="Bytes of the file read so far.")
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )

    def __str__(self) -> str:
        return f"import {self.pk} of {self.filename}"

    @property
    def percent(self) -> int:
        """How far reading has got, for the progress bar (writing counts as the last 10%)."""
        if self.finished:
            return 100
        if self.phase == "writing":
            return 95
        if not self.size:
            return 0
        return min(90, int(90 * self.position / self.size))
