"""Export jobs: one build of a project's approved data and the files it produced."""

from __future__ import annotations

from django.db import models

from core.models import BackgroundJob
from projects.models import Project


class ExportJob(BackgroundJob):
    """One export of a project's data: its options, the snapshot of revisions it exports,
    its progress, and the file it produced (only set once the file is complete)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=30)
    options = models.JSONField(default=dict, blank=True)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    files = models.JSONField(default=list, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    manifest_file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    snapshot = models.BinaryField(
        blank=True,
        default=b"",
        help_text="The revision ids exported, in export order (packed 64-bit integers), "
        "fixed before the first row is written so a retry exports the same rows.",
    )
    snapshot_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"export {self.pk} ({self.format})"
