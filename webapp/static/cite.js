// The Cite box of a publication's page: shows the reference in the chosen style, asked of the
// server (text/x-bibliography) when the box is opened or the style changes. Without
// JavaScript the form opens the reference as text.
(function () {
  "use strict";
  var box = document.getElementById("cite-box");
  if (!box) { return; }
  var form = box.querySelector("form.cite-style");
  var select = box.querySelector("select[name=style]");
  var shown = box.querySelector("p.reference");

  function show() {
    var url = shown.dataset.href + "?style=" + encodeURIComponent(select.value);
    shown.textContent = "…";
    fetch(url, { headers: { Accept: "text/x-bibliography" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status + " " + response.statusText); }
        return response.text();
      })
      .then(function (text) { shown.textContent = text.trim(); })
      .catch(function (error) { shown.textContent = "The reference could not be made: " + error.message; });
  }

  box.addEventListener("toggle", function () { if (box.open && !shown.textContent) { show(); } });
  select.addEventListener("change", show);
  form.addEventListener("submit", function (event) { event.preventDefault(); show(); });
})();
