// Progressive enhancement only: every form works without this script.
// "Add a row" copies the last row of a list input (team, goals, networks) with empty values.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-add-row]")) {
    button.hidden = false;
    button.addEventListener("click", () => {
      const rows = document.querySelector(`[data-rows="${button.dataset.addRow}"]`);
      const last = rows.lastElementChild;
      const next = Number(last.dataset.row) + 1;
      const copy = last.cloneNode(true);
      copy.dataset.row = String(next);
      for (const el of copy.querySelectorAll("[id], [name], label[for]")) {
        for (const attr of ["id", "name", "for"]) {
          const value = el.getAttribute(attr);
          if (value) el.setAttribute(attr, value.replace(/\.(\d+)\./, `.${next}.`));
        }
        if ("value" in el && el.tagName !== "OPTION") el.value = "";
      }
      // The row's numbers ("Række 3" beside it, "(række 3)" read out with each label,
      // "Mål 3"): the first number in each text, without flattening the labels' parts.
      const number = (text) => text.replace(/\d+/, String(next + 1));
      for (const part of copy.querySelectorAll(".row-no, .row-label")) {
        part.textContent = number(part.textContent);
      }
      for (const label of copy.querySelectorAll("label")) {
        const first = label.firstChild;
        if (first && first.nodeType === Node.TEXT_NODE && /\d+\s*$/.test(first.nodeValue)) {
          first.nodeValue = first.nodeValue.replace(/\d+(\s*)$/, `${next + 1}$1`);
        }
      }
      rows.appendChild(copy);
      copy.querySelector("textarea, input, select").focus();
    });
  }
  // A refused form's summary gets the focus (and is scrolled to): the step forms' at the
  // top, the case page's "add a task" further down.
  const summary = document.getElementById("error-summary") || document.getElementById("task-errors");
  if (summary) summary.focus();
});
