"""Flash messages reach the page that caused them, htmx requests included."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


class HtmxMessagesMiddleware:
    """An htmx request swaps only part of the page, so the messages area at the top is
    never re-rendered and its messages would wait for the next full page (often another
    project's). This appends them to the htmx response as an out-of-band swap of
    ``#messages``, which consumes them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.headers.get("HX-Request") != "true"
            or request.headers.get("HX-Boosted") == "true"
            or not response.get("Content-Type", "").startswith("text/html")
            or 300 <= response.status_code < 400
            or response.streaming
        ):
            return response
        storage = get_messages(request)
        if not len(storage):
            return response
        html = render_to_string(
            "_messages.html", {"messages": storage, "oob": True}, request=request
        )
        response.content = response.content + html.encode()
        return response
