// What htmx does with an error response, decided once for every page.
//
// A 4xx answer to an htmx request carries the form or section again with its errors in
// place: swap it in like a success (htmx drops 4xx by default, and django-htmx's debug
// helper would replace the whole page with the bare fragment). A 4xx in JSON, or a
// failure with no answer at all, shows its message at the top of the page. Server errors
// (5xx) keep the default: Django's debug page under DEBUG, the message otherwise.
(function () {
  "use strict";

  function isHtml(xhr) {
    return (xhr.getResponseHeader("Content-Type") || "").startsWith("text/html");
  }

  function isClientError(xhr) {
    return xhr.status >= 400 && xhr.status < 500;
  }

  function flash(text) {
    const area = document.getElementById("messages");
    if (!area || !text) return;
    const p = document.createElement("p");
    p.className = "flash error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    area.replaceChildren(p);
  }

  function detailOf(xhr) {
    try {
      const body = JSON.parse(xhr.responseText);
      if (body && typeof body.detail === "string") return body.detail;
    } catch (_) {
      // not JSON: fall through to the status line
    }
    return "The request failed (" + xhr.status + " " + (xhr.statusText || "error") + ").";
  }

  // Capture phase on window: runs before django-htmx's debug listener on document.
  window.addEventListener(
    "htmx:beforeOnLoad",
    function (event) {
      const xhr = event.detail.xhr;
      if (isClientError(xhr) && isHtml(xhr)) event.stopPropagation();
    },
    true
  );

  document.addEventListener("htmx:beforeSwap", function (event) {
    const xhr = event.detail.xhr;
    if (!isClientError(xhr)) return;
    if (isHtml(xhr)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else {
      flash(detailOf(xhr));
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    if (xhr.status >= 500) flash(detailOf(xhr));
  });

  document.addEventListener("htmx:sendError", function () {
    flash("The server could not be reached. Nothing was saved; try again.");
  });
})();
