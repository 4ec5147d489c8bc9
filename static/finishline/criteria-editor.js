// The criteria editor's item search: hides the rows that do not match as you type (the search
// form still works without this script, through the server). Hidden rows keep their inputs,
// so saving never loses what the search hides.
(function () {
  "use strict";
  if (window.finishlineCriteriaSearch) { return; }
  window.finishlineCriteriaSearch = true;
  function filter(input) {
    var table = document.getElementById("item-picker");
    if (!table) { return; }
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var rows = table.querySelectorAll("tbody tr[data-search]");
    var shown = 0;
    rows.forEach(function (row) {
      var text = row.getAttribute("data-search");
      var match = words.every(function (w) { return text.indexOf(w) !== -1; });
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    var count = document.getElementById(input.getAttribute("data-count"));
    if (count) {
      count.textContent = words.length
        ? shown + " of " + rows.length + " items match; the others keep their settings."
        : rows.length + " items.";
    }
  }
  // After a save the page comes back scrolled where the button was: show the confirmation.
  function showNotice() {
    var notice = document.querySelector("main .notice[role=status]");
    if (notice && document.getElementById("criteria-form")) { window.scrollTo(0, 0); }
  }
  document.addEventListener("htmx:afterSettle", showNotice);
  showNotice();
  document.addEventListener("input", function (event) {
    if (event.target && event.target.id === "item-search") { filter(event.target); }
  });
  document.addEventListener("submit", function (event) {
    var input = event.target && event.target.querySelector && event.target.querySelector("#item-search");
    if (input) { event.preventDefault(); event.stopPropagation(); filter(input); }
  }, true);
})();
