from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Review"

    def ready(self) -> None:
        # Imported here: models and services load only once every app is ready.
        from annotation.selectors import ITEM_SECTIONS, ItemSection
        from projects.models import Project
        from reviews.policy import create_default_policy
        from reviews.selectors import review_row, reviews_of

        def set_up_review(
            sender: Any, instance: Project, created: bool, raw: bool, **kw: Any
        ) -> None:
            """A new project starts with one review stage, the default rubric and reasons,
            written in the transaction that creates the project."""
            if created and not raw:
                create_default_policy(instance)

        post_save.connect(
            set_up_review, sender=Project, weak=False, dispatch_uid="reviews-defaults"
        )
        ITEM_SECTIONS["reviews"] = ItemSection(load=reviews_of, serialize=review_row)
