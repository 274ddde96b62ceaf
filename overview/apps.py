from __future__ import annotations

from django.apps import AppConfig


class OverviewConfig(AppConfig):
    name = "overview"
    verbose_name = "Overview"

    def ready(self) -> None:
        # Imported here: models load only once every app is ready.
        from core.jobs import JobKind, in_errors, register
        from projects.models import Job

        register(
            JobKind(
                Job,
                "overview.run_bulk",
                filters=(("kind", "bulk"),),
                note=in_errors,
            )
        )
