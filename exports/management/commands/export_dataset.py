"""``manage.py export_dataset <project-slug> --format F --out PATH``: the same export,
and the same bytes, as the page and the API give for the same options."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from exports import services
from exports.formats import FORMATS
from projects.models import Project


class Command(BaseCommand):
    help = "Export a project's approved items as JSONL (or a zip with a split)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", help="The project's slug.")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--out", required=True, help="Where to write the file.")
        parser.add_argument(
            "--validation",
            type=float,
            default=None,
            help="Share for the validation split (e.g. 0.1); the output is then a zip.",
        )
        parser.add_argument("--seed", type=int, default=42, help="Split seed (default 42).")
        parser.add_argument("--dedup", action="store_true", help="Remove exact duplicate rows.")
        parser.add_argument("--include-metadata", action="store_true")
        parser.add_argument("--system-prompt", default="")
        parser.add_argument("--tag", action="append", default=[], help="Only items with a tag.")
        parser.add_argument("--stage", type=int, default=None, help="Reached review stage.")
        parser.add_argument("--approved-from", default=None, help="YYYY-MM-DD")
        parser.add_argument("--approved-to", default=None, help="YYYY-MM-DD")
        parser.add_argument("--annotator", default=None, help="Username of the writer.")
        parser.add_argument("--template", default=None, help="prompt-completion: {prompt} …")
        parser.add_argument("--completion-prefix", default=None)
        parser.add_argument("--separator", default=None)
        parser.add_argument("--stop", default=None)

    def handle(self, *args: Any, **opts: Any) -> None:
        project = Project.objects.filter(slug=opts["project"]).first()
        if project is None:
            raise CommandError(f"No project with the slug “{opts['project']}”.")
        options: dict[str, Any] = {
            "format": opts["format"],
            "split": {"validation": opts["validation"], "seed": opts["seed"]}
            if opts["validation"]
            else None,
            "dedup": opts["dedup"],
            "include_metadata": opts["include_metadata"],
            "system_prompt": opts["system_prompt"],
            "filters": {
                "tags": opts["tag"],
                "stage": opts["stage"],
                "approved_from": opts["approved_from"],
                "approved_to": opts["approved_to"],
                "annotator": opts["annotator"],
            },
        }
        for key in ("template", "completion_prefix", "separator", "stop"):
            if opts[key] is not None:
                options[key] = opts[key]
        try:
            job = services.export_to_path(project=project, path=opts["out"], options=options)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(
            f"Export #{job.pk}: {job.rows} rows written to {opts['out']} (sha256 {job.sha256})."
        )
