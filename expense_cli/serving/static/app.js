// The page posts the chosen file to ./invocations as base64 JSON and shows the fields.
// No third-party code, no network access other than this server.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const form = $("form"), file = $("file"), drop = $("drop"), submit = $("submit");
  const status = $("status"), errorBox = $("error"), results = $("results"), preview = $("preview");
  let chosen = null;

  function choose(f) {
    chosen = f || null;
    submit.disabled = !chosen;
    $("drop-text").textContent = chosen ? chosen.name + " (" + chosen.size.toLocaleString() + " bytes)"
                                        : "Drop a receipt here, or click to choose a file";
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.hidden = !(chosen && chosen.type.startsWith("image/"));
    if (!preview.hidden) preview.src = URL.createObjectURL(chosen);
    errorBox.hidden = true;
  }

  file.addEventListener("change", () => choose(file.files[0]));
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.remove("over"); });
  }
  drop.addEventListener("drop", (e) => choose(e.dataTransfer.files[0]));

  function readAsDataURL(f) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(new Error("cannot read the file"));
      reader.readAsDataURL(f);
    });
  }

  function cell(row, text, cls) {
    const td = row.insertCell();
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (cls) td.className = cls;
  }

  function fill(tbody, rows) {
    tbody.replaceChildren();
    for (const values of rows) {
      const tr = tbody.insertRow();
      values.forEach((v, i) => cell(tr, v, i >= values.length - 2 ? "num" : ""));
    }
  }

  function show(data) {
    const fields = Object.entries(data.fields || {});
    fill($("fields").tBodies[0], fields.map(([name, f]) => [
      name, f.answer, f.value === undefined ? "" : f.value + (f.currency ? " " + f.currency : ""),
      Number(f.score).toFixed(3), f.page,
    ]));
    $("fields").hidden = fields.length === 0;
    const answers = data.answers || [];
    fill($("answers").tBodies[0], answers.map((a) => [a.question, a.answer,
      Number(a.score).toFixed(3), a.page]));
    $("answers-box").hidden = answers.length === 0;
    $("pages").textContent = data.pages + (data.pages === 1 ? " page" : " pages");
    results.hidden = false;
  }

  function fail(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!chosen) return;
    submit.disabled = true;
    errorBox.hidden = true;
    results.hidden = true;
    status.textContent = "Reading…";
    const started = performance.now();
    try {
      const payload = { document: await readAsDataURL(chosen) };
      const questions = $("questions").value.split("\n").map((q) => q.trim()).filter(Boolean);
      if (questions.length) payload.questions = questions;
      const response = await fetch("invocations", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
      });
      let data = null;
      try { data = await response.json(); } catch (_) { data = null; }
      if (!response.ok) {
        const err = data && data.error;
        fail(err ? err.message + " (" + response.status + " " + err.code + ")"
                 : "the server answered " + response.status);
        status.textContent = "";
        return;
      }
      show(data);
      status.textContent = "Done in " + ((performance.now() - started) / 1000).toFixed(1) + " s";
    } catch (err) {
      fail("request failed: " + err.message);
      status.textContent = "";
    } finally {
      submit.disabled = !chosen;
    }
  });
})();
