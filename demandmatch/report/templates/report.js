(function () {
  "use strict";
  function key(cell, numeric) {
    var v = cell.getAttribute("data-v");
    if (numeric) { return v === null || v === "" ? null : parseFloat(v); }
    var t = (cell.textContent || "").trim().toLowerCase();
    return t === "\u2014" ? null : t;
  }
  function sortBy(table, col, th) {
    var numeric = th.classList.contains("num");
    var now = th.getAttribute("aria-sort");
    var dir = now === "descending" ? 1 : now === "ascending" ? -1 : (numeric ? -1 : 1);
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col], numeric), y = key(b.cells[col], numeric);
      if (x === y) { return 0; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      return (x < y ? -1 : 1) * dir;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(table, i, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, i, th); }
      });
    });
  });
  document.querySelectorAll(".filters").forEach(function (box) {
    var table = document.getElementById(box.getAttribute("data-table"));
    var text = box.querySelector("input"), pick = box.querySelector("select");
    var count = box.querySelector(".count");
    function apply() {
      var q = text.value.trim().toLowerCase(), which = pick.value, shown = 0;
      var rows = table.tBodies[0].rows;
      for (var i = 0; i < rows.length; i++) {
        var r = rows[i], d = r.dataset;
        var ok = (!q || r.textContent.toLowerCase().indexOf(q) >= 0) &&
          (which === "all" || (which === "order" && d.order === "1") ||
           (which === "none" && d.order === "0") || (which === "attention" && d.attention === "1"));
        r.hidden = !ok;
        if (ok) { shown++; }
      }
      count.textContent = shown + " of " + rows.length + " SKUs shown";
    }
    text.addEventListener("input", apply);
    pick.addEventListener("change", apply);
    apply();
  });
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? document.getElementById(id) : null;
    if (el && el.tagName === "DETAILS") { el.open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
