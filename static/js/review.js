// Review screen: keyboard shortcuts and the overlap picker. The form works without it.
(function () {
  "use strict";
  const form = document.getElementById("decision");
  if (!form) return;
  const feedback = document.getElementById("feedback");
  const answer = document.getElementById("answer-edit");
  const editPanel = document.getElementById("edit-panel");
  const criteria = Array.from(form.querySelectorAll(".criterion"));
  let current = 0;

  function mark() {
    criteria.forEach((c, i) => c.classList.toggle("current", i === current));
  }

  function send(decision) {
    const button = form.querySelector(`button[value="${decision}"]`);
    if (button) form.requestSubmit(button);
  }

  function typing(el) {
    return el && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type === "text") || el.isContentEditable);
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey && event.key === "Enter") {
      if (document.activeElement === feedback) { event.preventDefault(); send("reject"); }
      else if (document.activeElement === answer) { event.preventDefault(); send("edit"); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(document.activeElement)) return;
    const key = event.key.toLowerCase();
    if (key === "a") { event.preventDefault(); send("approve"); }
    else if (key === "r") {
      event.preventDefault();
      if (!feedback.value.trim()) { feedback.focus(); return; }
      send("reject");
    } else if (key === "e") {
      event.preventDefault();
      editPanel.open = true;
      answer.focus();
    } else if (key === "f") { event.preventDefault(); if (feedback.value.trim()) send("flag"); else feedback.focus(); }
    else if (/^[1-5]$/.test(key) && criteria.length) {
      const input = criteria[current].querySelector(`input[value="${key}"]`);
      if (input) input.checked = true;
      current = Math.min(current + 1, criteria.length - 1);
      mark();
    }
  });

  // Overlap: picking an answer puts its text in the editor (unless already edited).
  let edited = false;
  if (answer) answer.addEventListener("input", () => { edited = true; });
  document.querySelectorAll('input[name="picked_revision"]').forEach((radio) => {
    radio.addEventListener("change", () => {
      if (!edited && answer) answer.value = radio.dataset.answer || "";
    });
  });
  mark();
})();
