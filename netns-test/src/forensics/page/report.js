// The report page's behaviour: filters, clicks on the picture, jumps to packets. Everything is
// in the HTML already; without this script the page still reads (and prints) in full.
(function () {
  "use strict";
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };

  function flash(el) {
    if (!el) return;
    el.classList.remove("flash");
    void el.offsetWidth; // restart the animation
    el.classList.add("flash");
  }
  function openAndShow(el, scroll) {
    for (var p = el; p; p = p.parentElement) if (p.tagName === "DETAILS") p.open = true;
    if (scroll !== false) el.scrollIntoView({ block: "center" });
    flash(el);
  }

  // The timeline's filters: by node and by kind.
  var rows = $$("#timeline .row:not(.head)");
  function applyFilters() {
    var nodes = {}, kinds = {};
    $$("#filters input[data-node]").forEach(function (c) { nodes[c.dataset.node] = c.checked; });
    $$("#filters input[data-kind]").forEach(function (c) { kinds[c.dataset.kind] = c.checked; });
    var shown = 0;
    rows.forEach(function (r) {
      var k = r.dataset.kind, ns = r.dataset.nodes ? r.dataset.nodes.split(" ") : [];
      var ok = kinds[k] !== false && (ns.length === 0 || ns.some(function (n) { return nodes[n] !== false; }));
      if (r.hidden === ok) r.hidden = !ok; // touch only what changes
      if (ok) shown++;
    });
    var c = $("#timeline-shown");
    if (c) c.textContent = shown + " of " + rows.length + " shown";
  }
  $$("#filters input").forEach(function (c) { c.addEventListener("change", applyFilters); });
  var all = $("#filter-all-nodes");
  if (all) all.addEventListener("click", function (e) {
    e.preventDefault();
    $$("#filters input").forEach(function (c) { c.checked = true; });
    applyFilters();
  });
  // "Only b's logs": from the logs summary.
  $$("[data-only-node]").forEach(function (b) {
    b.addEventListener("click", function (e) {
      e.preventDefault();
      var n = b.dataset.onlyNode;
      $$("#filters input[data-node]").forEach(function (c) { c.checked = n === "*" || c.dataset.node === n; });
      $$("#filters input[data-kind]").forEach(function (c) { c.checked = c.dataset.kind === "log"; });
      applyFilters();
      $("#timeline").scrollIntoView();
    });
  });

  // Clicking a node or a link of the picture shows its part of the state dump.
  function select(g) {
    $$("svg .sel").forEach(function (s) { s.classList.remove("sel"); });
    g.classList.add("sel");
  }
  $$("svg .node").forEach(function (g) {
    g.addEventListener("click", function () {
      select(g);
      var sec = document.getElementById(g.dataset.ns);
      if (sec) openAndShow(sec);
      else flash($("#dump"));
    });
  });
  $$("svg .link").forEach(function (g) {
    g.addEventListener("click", function () {
      select(g);
      var first = null;
      (g.dataset.ifaces || "").split(" ").forEach(function (id) {
        var row = id && document.getElementById(id);
        if (row) { openAndShow(row, false); first = first || row; }
      });
      var pk = g.dataset.packets && document.getElementById(g.dataset.packets);
      if (first) first.scrollIntoView({ block: "center" });
      else if (pk) openAndShow(pk);
    });
  });

  // A timeline row's time: the packets around that moment.
  var tables = $$("#packets table.pk");
  if (tables.length) {
    document.body.classList.add("has-packets");
    $("#timeline").addEventListener("click", function (e) {
      var td = e.target.closest ? e.target.closest(".row .t") : null;
      if (!td) return;
      var t = parseFloat(td.parentElement.dataset.t), best = null;
      tables.forEach(function (tb) {
        var prs = tb.tBodies[0] ? tb.tBodies[0].rows : [];
        for (var i = 0; i < prs.length; i++) {
          var pt = parseFloat(prs[i].dataset.t);
          if (!isNaN(pt) && pt >= t - 1e-6) { if (!best || pt < best.t) best = { t: pt, row: prs[i] }; break; }
        }
      });
      if (best) openAndShow(best.row);
    });
  }

  // Printing shows everything.
  window.addEventListener("beforeprint", function () { $$("details").forEach(function (d) { d.open = true; }); });

  applyFilters();
  document.documentElement.dataset.ready = "1";
  document.documentElement.dataset.scriptMs = String(Math.round(performance.now()));
})();
