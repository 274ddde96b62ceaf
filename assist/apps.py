from __future__ import annotations

from django.apps import AppConfig


class AssistConfig(AppConfig):
    name = "assist"
    verbose_name = "Model in the loop"

    def ready(self) -> None:
        # The judge is one of the automated checks, configured on the Checks page.
        from assist.judge_check import register

        register()
