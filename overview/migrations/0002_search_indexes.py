"""Full-text and tag indexes for the explorer, on PostgreSQL only (SQLite searches with
LIKE and has no such indexes).

Expression GIN indexes rather than a stored search column: an import writes each item
once and a column would double what it writes (the text again, as a tsvector) and need a
trigger or a second UPDATE; a GIN index with ``fastupdate`` batches its entries in a
pending list, so a large import stays a stream of plain INSERTs. The expressions must
stay identical to the ones in ``overview.explorer`` for the planner to use them.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

CREATE = [
    "CREATE INDEX IF NOT EXISTS item_source_fts_idx ON annotation_item USING gin "
    "(jsonb_to_tsvector('simple'::regconfig, source, '[\"string\"]'::jsonb)) "
    "WITH (fastupdate = on)",
    "CREATE INDEX IF NOT EXISTS revision_messages_fts_idx ON annotation_revision USING gin "
    "(jsonb_to_tsvector('simple'::regconfig, messages, '[\"string\"]'::jsonb)) "
    "WITH (fastupdate = on)",
    "CREATE INDEX IF NOT EXISTS item_tags_gin_idx ON annotation_item USING gin "
    "(tags jsonb_path_ops)",
]
DROP = [
    "DROP INDEX IF EXISTS item_source_fts_idx",
    "DROP INDEX IF EXISTS revision_messages_fts_idx",
    "DROP INDEX IF EXISTS item_tags_gin_idx",
]


def _run(statements: list[str]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("overview", "0001_initial")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP), elidable=False)]
