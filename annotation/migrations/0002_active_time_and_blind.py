from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="assignment",
            name="active_seconds",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Seconds the annotator spent actively editing (the page focused and "
                "typed in within the last half minute).",
            ),
        ),
        migrations.AddField(
            model_name="assignment",
            name="active_counted_at",
            field=models.DateTimeField(
                blank=True, null=True, help_text="When active editing time was last added."
            ),
        ),
        migrations.AddField(
            model_name="assignment",
            name="blind",
            field=models.BooleanField(
                default=False,
                help_text="The anchoring guard hid the model's draft until the annotator's "
                "first save.",
            ),
        ),
    ]
