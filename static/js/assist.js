// Endpoint form: fill the family from the model's name (the server's table, sent as
// JSON in the page) while the admin has not typed a family of their own.
(function () {
  "use strict";
  function ready() {
    var data = document.getElementById("model-families");
    var model = document.querySelector("[data-family-source]");
    var family = document.querySelector("[data-family-target]");
    if (!data || !model || !family) return;
    var table = JSON.parse(data.textContent).map(function (row) {
      return [new RegExp(row[0]), row[1]];
    });
    var auto = family.value === "";
    function guess(name) {
      name = name.trim().toLowerCase();
      for (var i = 0; i < table.length; i++) if (table[i][0].test(name)) return table[i][1];
      return "";
    }
    family.addEventListener("input", function () { auto = family.value === ""; });
    model.addEventListener("input", function () {
      if (auto) family.value = guess(model.value);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
