from __future__ import annotations

from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports"

    def ready(self) -> None:
        # Imported here: models load only once every app is ready.
        from core.jobs import JobKind, in_message, register
        from imports.models import ImportJob

        register(JobKind(ImportJob, "imports.run", note=in_message))
