// Alcance: narrow a long list of boxes to tick as the user types (accents and case ignored).
// Without this script the list is simply shown whole; the filter box stays hidden.
(function () {
  "use strict";
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  document.querySelectorAll("input.choice-filter[data-filter-for]").forEach(function (box) {
    var list = document.getElementById(box.getAttribute("data-filter-for"));
    if (!list) return;
    box.hidden = false;
    box.addEventListener("input", function () {
      var wanted = fold(box.value.trim());
      list.querySelectorAll("li").forEach(function (item) {
        var ticked = item.querySelector("input:checked");
        // A ticked box stays visible: hiding a choice already made would hide what will be saved.
        item.hidden = Boolean(wanted) && !ticked && fold(item.textContent).indexOf(wanted) === -1;
      });
    });
    // Enter in the filter must not submit the meeting.
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") event.preventDefault();
    });
  });
})();
