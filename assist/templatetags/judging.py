"""``{% judge_section project %}``: the judge's part of the project's Model page (its
runs and the form that starts one)."""

from __future__ import annotations

from typing import Any

from django import template

from assist.judging_views import section_context

register = template.Library()


@register.inclusion_tag("assist/_judge_section.html", takes_context=True)
def judge_section(context: template.Context, project: Any) -> dict[str, Any]:
    return {**section_context(project), "csrf_token": context.get("csrf_token")}
