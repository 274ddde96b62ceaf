"""Import a file into a project from the command line: same rules and report as the
Import page and the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.models import JobStatus
from imports import formats, services
from projects.models import Project

SHOWN_ERRORS = 50


def _columns(value: str) -> dict[str, str]:
    """``prompt=question,response=answer`` → ``{"prompt": "question", ...}``."""
    mapping = {}
    for part in value.split(","):
        role, sep, column = part.partition("=")
        if not sep:
            raise CommandError(f"--columns wants role=column pairs, got {part!r}.")
        mapping[role.strip()] = column.strip()
    return mapping


class Command(BaseCommand):
    help = "Import items into a project from a JSONL, JSON, CSV or TSV file (optionally gzipped)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", help="the project's slug")
        parser.add_argument("file", help="path of the file to import")
        parser.add_argument("--format", default="auto", choices=services.FORMAT_CHOICES)
        parser.add_argument(
            "--skip-invalid", action="store_true", help="import the valid rows and report the rest"
        )
        parser.add_argument(
            "--skip-duplicates", action="store_true", help="leave out exact duplicate prompts"
        )
        parser.add_argument(
            "--oasst-mode",
            choices=[formats.OASST_PATHS, formats.OASST_PROMPTS],
            default=formats.OASST_PATHS,
        )
        parser.add_argument(
            "--columns", help="CSV mapping, e.g. prompt=question,response=answer,external_id=id"
        )
        parser.add_argument(
            "--source", default="", help="where the data comes from (kept on each item)"
        )
        parser.add_argument("--licence", default="", help="the data's licence (kept on each item)")
        parser.add_argument("--user", default="", help="username recorded as the importer")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        project = Project.objects.filter(slug=opts["project"]).first()
        if project is None:
            raise CommandError(f"There is no project with the slug {opts['project']!r}.")
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"There is no file at {path}.")
        user = None
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"There is no user called {opts['user']!r}.")
        options: dict[str, Any] = {k: opts[k] for k in ("source", "licence") if opts[k]}
        if opts["oasst_mode"] != formats.OASST_PATHS:
            options["oasst_mode"] = opts["oasst_mode"]
        if opts["columns"]:
            options["columns"] = _columns(opts["columns"])
        try:
            job = services.import_file(
                project=project,
                path=path,
                user=user,
                format=opts["format"],
                skip_invalid=opts["skip_invalid"],
                skip_duplicates=opts["skip_duplicates"],
                options=options,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if opts["json"]:
            self.stdout.write(json.dumps(self.report(job), ensure_ascii=False, indent=2))
        else:
            self.print_report(job)
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(job.message or f"The import {job.status}.")

    @staticmethod
    def report(job: Any) -> dict[str, Any]:
        return {
            "id": job.pk,
            "status": job.status,
            "format": job.detected_format or job.format,
            **{
                k: getattr(job, k)
                for k in ("total", "valid", "invalid", "duplicates", "existing", "created")
            },
            "message": job.message,
            "errors": job.errors,
        }

    def print_report(self, job: Any) -> None:
        out = self.stdout
        out.write(
            f"Import {job.pk} of {job.filename} ({job.detected_format or job.format}): {job.status}"
        )
        out.write(
            f"  rows read {job.total}, valid {job.valid}, invalid {job.invalid}, "
            f"duplicates {job.duplicates}, already there {job.existing}, created {job.created}"
        )
        for error in job.errors[:SHOWN_ERRORS]:
            where = f"line {error['line']}" if error.get("line") else "file"
            field = f" [{error['field']}]" if error.get("field") else ""
            out.write(f"  {where}{field}: {error['message']}")
        if len(job.errors) > SHOWN_ERRORS:
            out.write(
                f"  … and {len(job.errors) - SHOWN_ERRORS} more (see /api/v1/imports/{job.pk}/)"
            )
        if job.status == JobStatus.SUCCEEDED:
            out.write(self.style.SUCCESS(job.message))
