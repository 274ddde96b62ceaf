"""``{% judge_section project %}``: the judge's part of the project's Model page."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("assist/_judge_section.html")
def judge_section(project: Any) -> dict[str, Any]:
    return {"project": project}
