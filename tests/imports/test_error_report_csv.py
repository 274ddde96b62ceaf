"""The import error report opens safely in a spreadsheet: file-controlled text (CSV
headers come back in the field column, row text in the message) never starts a formula."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from core.models import JobStatus
from imports.models import ImportJob


@pytest.mark.django_db
def test_every_cell_that_could_start_a_formula_is_neutralised(project: Any, alice: Any) -> None:
    job = ImportJob.objects.create(
        project=project,
        filename="evil.csv",
        status=JobStatus.FAILED,
        errors=[
            {
                "line": 2,
                "field": '=HYPERLINK("http://evil.example","x")',
                "message": "+cmd|' /C calc'!A0",
            },
            {"line": 3, "field": "@SUM(1+1)", "message": "-2+3"},
            {"line": 4, "field": "\tprompt", "message": "\rhidden"},
            {"line": 5, "field": "prompt", "message": "Fine text stays as it is."},
        ],
    )
    client = Client()
    client.force_login(alice)
    report = client.get(f"/projects/support/import/{job.pk}/errors.csv")
    rows = list(csv.reader(io.StringIO(report.content.decode(), newline="")))
    assert rows[1:] == [
        ["2", '\'=HYPERLINK("http://evil.example","x")', "'+cmd|' /C calc'!A0"],
        ["3", "'@SUM(1+1)", "'-2+3"],
        ["4", "'\tprompt", "'\rhidden"],
        ["5", "prompt", "Fine text stays as it is."],
    ]
