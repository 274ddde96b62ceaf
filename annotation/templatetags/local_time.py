"""``{{ when|local:"M j, H:i" }}``: a time the reader sees in their own time zone.

The page carries the moment (``datetime``) and the format; static/js/app.js rewrites the
text in the browser's time zone with the same format, so a page reads the same whether
the server or the browser wrote it. Without JavaScript the server's time zone shows.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

register = template.Library()

# The format letters the browser side understands (Django's ``date`` filter letters).
SUPPORTED = set("YmdjMHis")


@register.filter
def local(value: datetime | None, fmt: str = "M j, H:i") -> SafeString | str:
    if not isinstance(value, datetime):
        return ""
    if not set(c for c in fmt if c.isalpha()) <= SUPPORTED:
        raise template.TemplateSyntaxError(f"local: use only the letters {''.join(SUPPORTED)}")
    shown = localtime(value) if value.tzinfo is not None else value
    return format_html(
        '<time datetime="{}" data-local="{}">{}</time>',
        shown.isoformat(),
        fmt,
        date_format(shown, fmt),
    )
