from __future__ import annotations

from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Exports"

    def ready(self) -> None:
        # Imported here: models load only once every app is ready.
        from core.jobs import JobKind, in_message, register
        from exports.models import ExportJob
        from exports.services import STALE_AFTER

        register(
            JobKind(
                ExportJob,
                "exports.build",
                note=in_message,
                stale_after=STALE_AFTER,
            )
        )
