// The item explorer's keyboard: j/k move between rows, Enter (or o) opens the current row,
// x toggles its checkbox. Rows carry their link, so everything also works without this file.
(function () {
  "use strict";
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#explorer tbody tr[data-href]"));
  }
  var current = -1;
  function select(index) {
    var all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row) { row.classList.remove("current"); row.removeAttribute("aria-current"); });
    current = index;
    all[index].classList.add("current");
    all[index].setAttribute("aria-current", "true");
    all[index].scrollIntoView({ block: "nearest" });
  }
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var all = rows();
    if (!all.length) return;
    if (event.key === "j") { select(current + 1); event.preventDefault(); }
    else if (event.key === "k") { select(current - 1); event.preventDefault(); }
    else if ((event.key === "Enter" || event.key === "o") && current >= 0) {
      window.location.href = all[current].getAttribute("data-href");
      event.preventDefault();
    } else if (event.key === "x" && current >= 0) {
      var box = all[current].querySelector("input[type=checkbox]");
      if (box) { box.checked = !box.checked; event.preventDefault(); }
    }
  });
})();
