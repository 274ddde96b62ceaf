from __future__ import annotations

from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "checks"
    verbose_name = "Automated checks"

    def ready(self) -> None:
        # Imported here: models and services load only once every app is ready.
        from annotation.selectors import ITEM_SECTIONS, ItemSection
        from checks.services import current_results, result_row
        from core.jobs import JobKind, in_errors, register
        from projects.models import Job

        register(
            JobKind(
                Job,
                "checks.run_recheck",
                filters=(("kind", "recheck"),),
                note=in_errors,
            )
        )

        ITEM_SECTIONS["checks"] = ItemSection(load=current_results, serialize=result_row)
