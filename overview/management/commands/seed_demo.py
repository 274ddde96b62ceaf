"""Create the demo projects and accounts (DEBUG only). Safe to run again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotation.models import Item
from checks.config import update_checks
from projects import services
from projects.models import Membership, Project, Role

DEMO_DIR = Path(__file__).resolve().parent.parent.parent / "demo"
ACCOUNTS = [
    # username, password, role in the demo projects, instance staff
    ("admin", "admin", Role.ADMIN, True),
    ("annotator", "annotator", Role.ANNOTATOR, False),
    ("reviewer", "reviewer", Role.REVIEWER, False),
]


class Command(BaseCommand):
    help = "Create the demo projects and demo accounts (only when DEBUG is on). Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG=1: it creates well-known logins.")
        with transaction.atomic():
            users = {name: self._user(name, pw, staff) for name, pw, _, staff in ACCOUNTS}
            for path in sorted(DEMO_DIR.glob("*.json")):
                self._project(json.loads(path.read_text()), users)
        self.stdout.write("Demo logins: " + ", ".join(f"{n} / {p}" for n, p, _, _ in ACCOUNTS))

    def _user(self, username: str, password: str, staff: bool) -> Any:
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model.objects.create_user(
                username=username, password=password, is_staff=staff, is_superuser=staff
            )
        return user

    def _project(self, spec: dict[str, Any], users: dict[str, Any]) -> None:
        fields = spec["project"]
        project = Project.objects.filter(slug=fields["slug"]).first()
        if project is None:
            project = services.create_project(creator=users["admin"], **fields)
            services.publish_guideline(
                project=project, body=spec["guideline"], author=users["admin"]
            )
            # The checks that enforce what the guideline asks (prefix, never a password).
            if spec.get("checks"):
                update_checks(project=project, changes=spec["checks"])
        for name, _, role, _ in ACCOUNTS:
            Membership.objects.get_or_create(
                project=project, user=users[name], defaults={"role": role}
            )
        for n, prompt in enumerate(spec.get("prompts", []), start=1):
            self._item(project, f"demo-{n}", prompt, "")
        for n, (prompt, draft) in enumerate(spec.get("pairs", []), start=1):
            self._item(project, f"demo-{n}", prompt, draft)
        self.stdout.write(f"Demo project: {project.name} ({project.items.count()} items)")

    def _item(self, project: Project, external_id: str, prompt: str, draft: str) -> None:
        Item.objects.get_or_create(
            project=project,
            external_id=external_id,
            defaults={"source": [{"role": "user", "content": prompt}], "model_draft": draft},
        )
