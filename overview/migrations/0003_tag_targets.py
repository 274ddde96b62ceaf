from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("overview", "0002_search_indexes"),
        ("projects", "0002_skip_flag_anchoring"),
    ]

    operations = [
        migrations.CreateModel(
            name="TagTarget",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("tag", models.CharField(max_length=100)),
                ("min_items", models.PositiveIntegerField(blank=True, null=True)),
                ("max_share", models.FloatField(blank=True, null=True)),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="projects.project",
                    ),
                ),
            ],
            options={
                "ordering": ["tag"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("project", "tag"), name="one_target_per_tag"
                    )
                ],
            },
        ),
    ]
