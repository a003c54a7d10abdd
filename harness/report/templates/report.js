// Filters and sorting for the pairs table. The page reads fine without it; data comes from the
// JSON block (never from markup), so no fixture text is ever parsed as HTML here.
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("harness-data").textContent);
  const tbody = document.querySelector("#pairs tbody");
  const rows = Array.from(tbody.querySelectorAll("tr[data-i]"));
  const sections = new Map(
    Array.from(document.querySelectorAll("section.pair[data-i]"), (s) => [s.dataset.i, s])
  );

  function applyFilters() {
    const statuses = new Set(
      Array.from(document.querySelectorAll("input[name=status]:checked"), (cb) => cb.value)
    );
    const router = document.getElementById("router-filter").value;
    const failingOnly = document.getElementById("failing-only").checked;
    let shown = 0;
    for (const tr of rows) {
      const p = data.pairs[Number(tr.dataset.i)];
      const visible = statuses.has(p.status) && (!router || p.router === router) && (!failingOnly || p.fails);
      tr.hidden = !visible;
      const section = sections.get(tr.dataset.i);
      if (section) section.hidden = !visible;
      if (visible) shown += 1;
    }
    document.getElementById("shown-count").textContent = `${shown} of ${rows.length} pairs shown`;
  }

  // Pairs without a value sort last whichever the direction: they have nothing to compare.
  function sortBy(key, th) {
    const ascending = th.getAttribute("aria-sort") !== "ascending";
    for (const other of document.querySelectorAll("#pairs th[aria-sort]")) {
      other.removeAttribute("aria-sort");
    }
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const value = (tr) => data.pairs[Number(tr.dataset.i)][key];
    const sorted = rows.slice().sort((a, b) => {
      const va = value(a), vb = value(b);
      if (va === null || va === undefined) return vb === null || vb === undefined ? 0 : 1;
      if (vb === null || vb === undefined) return -1;
      const order = typeof va === "string" ? va.localeCompare(vb) : va - vb;
      return ascending ? order : -order;
    });
    for (const tr of sorted) tbody.appendChild(tr);
  }

  // Everything below the pairs: their sections, every case, the SQL and traceback folds.
  function setOpen(open) {
    for (const d of document.querySelectorAll("#details details")) d.open = open;
  }

  // A link to a pair opens its section, so the reader lands on its cases, not a closed box.
  function openTarget() {
    const target = document.getElementById(location.hash.slice(1));
    const details = target && target.querySelector("details");
    if (details) details.open = true;
  }

  for (const input of document.querySelectorAll(".controls input, .controls select")) {
    input.addEventListener("change", applyFilters);
  }
  for (const button of document.querySelectorAll("#pairs th button[data-sort]")) {
    button.addEventListener("click", () => sortBy(button.dataset.sort, button.closest("th")));
  }
  document.getElementById("expand-all").addEventListener("click", () => setOpen(true));
  document.getElementById("collapse-all").addEventListener("click", () => setOpen(false));
  window.addEventListener("hashchange", openTarget);
  openTarget();
  applyFilters();
})();
