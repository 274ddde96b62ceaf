from __future__ import annotations

import datetime as dt

from django.apps import AppConfig

# A model call may take its timeout several times over (retries with backoff) before a
# run records progress, so a run is taken for dead only after this long in silence.
RUN_SILENT_AFTER = dt.timedelta(minutes=6)


class AssistConfig(AppConfig):
    name = "assist"
    verbose_name = "Model in the loop"

    def ready(self) -> None:
        # Imported here: models and services load only once every app is ready.
        from annotation.anchoring import COMPARISON_EXTRAS
        from assist.judge_check import judge_means, register
        from assist.judging import RUN_TASK
        from core.jobs import JobKind, in_errors
        from core.jobs import register as register_job
        from projects.models import Job

        # The judge is one of the automated checks, configured on the Checks page.
        register()
        # The anchoring comparison (corrected drafts vs answers written from scratch) shows
        # the judge's mean score per group.
        if judge_means not in COMPARISON_EXTRAS:
            COMPARISON_EXTRAS.append(judge_means)
        for kind, task in (("generation", "assist.run_generation"), ("judgement", RUN_TASK)):
            register_job(
                JobKind(
                    Job,
                    task,
                    filters=(("kind", kind),),
                    note=in_errors,
                    stale_after=RUN_SILENT_AFTER,
                )
            )
