// The search page's form, enhanced: a facet ticked or a new order applies at once, and the
// URL the form goes to leaves out empty fields and defaults, as the server writes it (without
// JavaScript the server redirects to that URL).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function searchUrl(form) {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      const text = String(value).trim();
      if (text !== "" && !(name === "sort" && text === "relevance")) params.append(name, text);
    }
    const query = params.toString();
    return form.action + (query ? "?" + query : "");
  }

  for (const form of document.querySelectorAll("form[data-search]")) {
    // Back or forward to a page kept in memory: show the search its URL says, not the
    // boxes ticked on it before leaving
    window.addEventListener("pageshow", function () { form.reset(); });
    form.addEventListener("change", function (event) {
      if (event.target.matches("input[type=checkbox], select")) {
        window.location.assign(searchUrl(form));
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      window.location.assign(searchUrl(form));
    });
  }
})();
