/* Sortable tables: click (or Enter on) a column heading. Cells may carry data-sort (a number,
   or empty for a missing value, which always sorts last). A table.grouped sorts its tbodies
   whole, by their first row: a row and the row below it that describes it stay together.
   No libraries, no network. */
(function () {
  "use strict";
  function keyOf(cell) {
    var raw = cell.getAttribute("data-sort");
    if (raw === null) { return cell.textContent.trim().toLowerCase(); }
    if (raw === "") { return null; }
    var n = Number(raw);
    return isNaN(n) ? raw.toLowerCase() : n;
  }
  function compare(a, b) {
    if (a === b) { return 0; }
    if (typeof a !== typeof b) { a = String(a); b = String(b); }
    return a < b ? -1 : (a > b ? 1 : 0);
  }
  function makeSortable(table) {
    var head = table.tHead && table.tHead.rows[0];
    var body = table.tBodies[0];
    if (!head || !body) { return; }
    var grouped = table.classList.contains("grouped");
    var heads = Array.prototype.slice.call(head.cells);
    heads.forEach(function (th, col) {
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      function sort() {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var units = grouped ? table.tBodies : body.rows;
        var rows = Array.prototype.slice.call(units).map(function (unit, i) {
          return { row: unit, key: keyOf((grouped ? unit.rows[0] : unit).cells[col]), i: i };
        });
        rows.sort(function (x, y) {
          if (x.key === null || y.key === null) {
            if (x.key === y.key) { return x.i - y.i; }
            return x.key === null ? 1 : -1;
          }
          var c = compare(x.key, y.key);
          return (ascending ? c : -c) || (x.i - y.i);
        });
        rows.forEach(function (r) { r.row.parentNode.appendChild(r.row); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
}());

/* A scrolling chart (.chart-scroll) marks its figure .overflowing while it is wider than the
   window allows, which shows the "scroll sideways" hint. */
(function () {
  "use strict";
  var boxes = document.querySelectorAll(".chart-scroll");
  function mark() {
    Array.prototype.forEach.call(boxes, function (box) {
      box.parentNode.classList.toggle("overflowing", box.scrollWidth > box.clientWidth + 1);
    });
  }
  if (boxes.length) { mark(); window.addEventListener("resize", mark); }
}());
