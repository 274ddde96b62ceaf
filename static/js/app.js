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

// Times in the reader's time zone: every <time datetime="…" data-local="format"> the
// server wrote (in its own time zone) is rewritten in the browser's, with the same
// format letters as Django's |date (Y m d j M H i s), so "M j, H:i" reads "Dec 2, 14:05".
(function () {
  "use strict";
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n) => String(n).padStart(2, "0");
  const LETTERS = {
    Y: (d) => String(d.getFullYear()),
    m: (d) => pad(d.getMonth() + 1),
    d: (d) => pad(d.getDate()),
    j: (d) => String(d.getDate()),
    M: (d) => MONTHS[d.getMonth()],
    H: (d) => pad(d.getHours()),
    i: (d) => pad(d.getMinutes()),
    s: (d) => pad(d.getSeconds()),
  };
  function formatLocal(date, format) {
    return format.replace(/[YmdjMHis]/g, (c) => LETTERS[c](date));
  }
  let zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser */ }
  function localize(root) {
    (root || document).querySelectorAll("time[datetime][data-local]").forEach((el) => {
      const d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      el.textContent = formatLocal(d, el.dataset.local);
      if (zone) el.title = zone;
    });
  }
  window.scriptoriumTime = { format: formatLocal, localize: localize };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => localize());
  else localize();
  document.addEventListener("htmx:afterSwap", (e) => localize(e.target));
})();

// Sizes the server computed (progress bars, chart bars) come as data-width (a percentage)
// and data-flex attributes, set here: the Content-Security-Policy allows no inline styles.
(function () {
  "use strict";
  function size(root) {
    const scope = root && root.querySelectorAll ? root : document;
    const nodes = [scope, ...scope.querySelectorAll("[data-width], [data-flex]")];
    nodes.forEach((el) => {
      if (!el.dataset) return;
      if (el.dataset.width !== undefined) el.style.width = parseFloat(el.dataset.width || "0") + "%";
      if (el.dataset.flex !== undefined) el.style.flex = String(parseFloat(el.dataset.flex || "0"));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => size());
  else size();
  document.addEventListener("htmx:load", (e) => size(e.target));
})();
