// The expense page: a queue of documents, each sent to ./invocations (same origin, JSON), shown
// with its answers highlighted where they are on the page. No third-party code, no other origin.
// Served by the local server, the deployed function URL and `expense-cli serve --deployment`;
// ./config.json says whether a bearer token is needed and whether image URLs are fetched.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const form = $("form"), fileInput = $("file"), drop = $("drop"), submit = $("submit");
  const stopButton = $("stop");
  const status = $("status"), errorBox = $("error"), queueList = $("queue");
  const urlInput = $("url"), tokenInput = $("token"), minScoreInput = $("min-score");
  const COLOURS = ["#d7263d", "#1b998b", "#2e86ab", "#f49d37", "#7b2cbf", "#3f7d20",
                   "#8d6e63", "#5c6f82"];
  const TOKEN_KEY = "expense-token";
  let config = { auth: "none", fetches_urls: false };
  let chosen = [];
  const items = [];
  let running = false;
  let run = null;  // the AbortController of the documents being read
  // Reason phrases for the statuses a browser may get without one (HTTP/2 has none).
  const REASONS = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    408: "Request Timeout", 413: "Content Too Large", 415: "Unsupported Media Type",
    422: "Unprocessable Content", 429: "Too Many Requests", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout" };

  // --- small helpers ------------------------------------------------------------------------
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  // Text someone else wrote (a file name, an answer) set inside the page's own words: its
  // direction (Arabic, Hebrew, a U+202E override) stays inside it (U+2068 ... U+2069 isolate).
  function isolate(text) { return "\u2068" + text + "\u2069"; }
  function minScore() {
    const value = Number(minScoreInput.value);
    return Number.isFinite(value) ? value : 0.5;
  }
  function fail(message) { errorBox.textContent = message; errorBox.hidden = false; }
  function readAsDataURL(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(new Error("cannot read " + file.name));
      reader.readAsDataURL(file);
    });
  }
  async function head(file) {
    const bytes = new Uint8Array(await file.slice(0, 8).arrayBuffer());
    return String.fromCharCode(...bytes);
  }
  // Browsers show PNG, JPEG, WebP and GIF themselves; PDF and TIFF pages come back rendered.
  async function browserShows(file) {
    const start = await head(file);
    return !(start.startsWith("%PDF") || start.startsWith("II*\u0000") ||
             start.startsWith("MM\u0000*") || file.type === "application/pdf" ||
             file.type === "image/tiff");
  }

  // --- configuration and token ---------------------------------------------------------------
  // The token is kept for this tab only; where the browser refuses storage (all cookies
  // blocked: sessionStorage throws), the page works without remembering it.
  const kept = {
    get() { try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch (_) { return ""; } },
    set(value) { try { sessionStorage.setItem(TOKEN_KEY, value); } catch (_) { /* not kept */ } },
  };
  // Why the token cannot be sent, or null. A header holds printable ASCII only (the deploy's
  // tokens are URL-safe base64); a character picked up with a copy (a zero-width space, a
  // typographic quote) used to fail the request as if the service could not be reached.
  function tokenProblem(token) {
    if (!token) return "Enter the access token first (it is in .expense/config.json after a " +
                       "token deploy).";
    const odd = token.match(/[^\x21-\x7e]/u);
    if (!odd) return null;
    const point = "U+" + odd[0].codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
    return "The access token holds a character no token has (" + point + ", at position " +
           (odd.index + 1) + "): copy it again from .expense/config.json.";
  }

  async function loadConfig() {
    try {
      const response = await fetch("config.json", { cache: "no-store" });
      const data = response.ok ? await response.json() : null;
      if (data && typeof data === "object") config = { ...config, ...data };
    } catch (_) { /* an older server: defaults */ }
    $("token-box").hidden = config.auth !== "token";
    $("iam-note").hidden = config.auth !== "iam";
    $("url-box").hidden = !config.fetches_urls;
    tokenInput.value = kept.get();
    refresh();
  }
  tokenInput.addEventListener("change", () => kept.set(tokenInput.value.trim()));

  // --- choosing documents -------------------------------------------------------------------
  function refresh() {
    const url = config.fetches_urls ? urlInput.value.trim() : "";
    submit.disabled = running || (chosen.length === 0 && !url);
    $("drop-text").textContent = chosen.length === 0 ? "Drop receipts here, or click to choose files"
      : chosen.length === 1 ? isolate(chosen[0].name) + " (" +
                              chosen[0].size.toLocaleString() + " bytes)"
      : chosen.length + " files chosen";
  }
  function choose(files) { chosen = Array.from(files || []); errorBox.hidden = true; refresh(); }
  fileInput.addEventListener("change", () => choose(fileInput.files));
  urlInput.addEventListener("input", refresh);
  // Files are taken wherever they are dropped: a file dropped where a page does not take it is
  // opened by the browser in place of the page, and the results would be gone.
  const carriesFiles = (e) => Boolean(e.dataTransfer) &&
                              [...e.dataTransfer.types].includes("Files");
  for (const name of ["dragenter", "dragover"]) {
    document.addEventListener(name, (e) => {
      if (!carriesFiles(e)) return;  // text dragged into the questions box stays the browser's
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  document.addEventListener("dragleave", (e) => {
    if (!e.relatedTarget) drop.classList.remove("over");  // left the window
  });
  document.addEventListener("drop", (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    drop.classList.remove("over");
    choose(e.dataTransfer.files);
  });
  minScoreInput.addEventListener("input", () => items.forEach((item) => item.result && render(item)));

  // --- one document ---------------------------------------------------------------------------
  function rowsOf(result) {
    const rows = [];
    for (const [name, f] of Object.entries(result.fields || {})) {
      rows.push({ kind: "field", label: name, ...f });
    }
    for (const a of result.answers || []) rows.push({ kind: "question", label: a.question, ...a });
    rows.forEach((row, i) => { row.colour = COLOURS[i % COLOURS.length]; row.index = i; });
    return rows;
  }

  function pagesWithAnswers(item) {
    const pages = new Set();
    for (const row of item.rows) if (row.page && row.answer) pages.add(row.page);
    for (const img of item.result.page_images || []) pages.add(img.page);
    return [...pages].sort((a, b) => a - b);
  }

  function imageFor(item, page) {
    const rendered = (item.result.page_images || []).find((p) => p.page === page);
    if (rendered) return rendered.image;
    return page === 1 && item.objectUrl ? item.objectUrl : null;
  }

  function highlight(item, index, on) {
    for (const node of item.node.querySelectorAll("[data-row='" + index + "']")) {
      node.classList.toggle("hl", on);
    }
  }

  // The row or page button that has the focus in a card, as a selector that finds it again.
  function focusedIn(card) {
    const active = document.activeElement;
    if (!active || !card.contains(active)) return null;
    if (active.dataset.row !== undefined) return "tr[data-row='" + active.dataset.row + "']";
    if (active.dataset.page !== undefined) return "button[data-page='" + active.dataset.page + "']";
    return null;
  }

  // Draws the card anew; the focus stays on the same row or page button (a keyboard user who
  // Tabs onto a row whose answer is on another page, or presses a page button, keeps their place).
  function render(item) {
    const card = item.node, low = minScore();
    const body = card.querySelector(".body");
    const keep = focusedIn(card);
    body.replaceChildren();
    const pages = pagesWithAnswers(item);
    if (!pages.includes(item.page)) item.page = pages[0] || 1;
    const viewer = el("div", "viewer");
    if (pages.length > 1) {
      const nav = el("div", "pages");
      nav.append(el("span", "hint", "Page"));
      for (const page of pages) {
        const button = el("button", page === item.page ? "current" : "", page);
        button.type = "button";
        button.dataset.page = page;
        button.setAttribute("aria-label", "page " + page);
        button.setAttribute("aria-pressed", String(page === item.page));
        button.addEventListener("click", () => { item.page = page; render(item); });
        nav.append(button);
      }
      viewer.append(nav);
    }
    const source = imageFor(item, item.page);
    if (source) {
      const figure = el("figure", "doc");
      const img = el("img");
      img.src = source;
      img.alt = item.name + ", page " + item.page;
      figure.append(img);
      for (const row of item.rows) {
        if (row.page !== item.page || !row.boxes) continue;
        for (const box of row.boxes) {
          const mark = el("span", "box" + (row.score < low ? " low" : ""));
          mark.dataset.row = row.index;
          mark.title = isolate(row.label) + ": " + isolate(row.answer);
          mark.style.left = box[0] / 10 + "%";
          mark.style.top = box[1] / 10 + "%";
          mark.style.width = Math.max(0.3, (box[2] - box[0]) / 10) + "%";
          mark.style.height = Math.max(0.3, (box[3] - box[1]) / 10) + "%";
          mark.style.borderColor = row.colour;
          mark.addEventListener("mouseenter", () => highlight(item, row.index, true));
          mark.addEventListener("mouseleave", () => highlight(item, row.index, false));
          figure.append(mark);
        }
      }
      viewer.append(figure);
    } else {
      viewer.append(el("p", "hint", "No preview of this page."));
    }
    const table = el("table", "answers");
    table.setAttribute("aria-label", "Answers for " + item.name);  // a screen reader's table list
    const thead = table.createTHead().insertRow();
    for (const title of ["Field", "Answer", "Value", "Score", "Page"]) thead.append(el("th", "", title));
    const tbody = table.createTBody();
    for (const row of item.rows) {
      const tr = tbody.insertRow();
      tr.dataset.row = row.index;
      tr.tabIndex = 0;
      if (row.score < low && row.answer) tr.classList.add("low");
      const name = el("td", "name");
      const swatch = el("span", "swatch");
      swatch.style.backgroundColor = row.colour;
      name.append(swatch, document.createTextNode(row.label));
      tr.append(name, el("td", "", row.answer || "—"));
      tr.append(el("td", "", row.value === undefined ? "" :
        row.value + (row.currency ? " " + row.currency : "")));
      const score = el("td", "num", Number(row.score).toFixed(2));
      if (row.score < low && row.answer) score.append(el("span", "flag", "low"));
      tr.append(score, el("td", "num", row.page || ""));
      const on = () => {
        highlight(item, row.index, true);
        if (row.page && row.page !== item.page && pages.includes(row.page)) {
          item.page = row.page;
          render(item);
          highlight(item, row.index, true);
        }
      };
      tr.addEventListener("mouseenter", on);
      tr.addEventListener("focus", on);
      tr.addEventListener("mouseleave", () => highlight(item, row.index, false));
      tr.addEventListener("blur", () => highlight(item, row.index, false));
    }
    body.append(viewer, table);
    const again = keep && card.querySelector(keep);
    if (again) again.focus();
  }

  function setState(item, state, text) {
    item.state = state;
    item.node.dataset.state = state;
    item.node.querySelector(".state").textContent = text;
  }

  function addItem(entry) {
    const node = el("li", "item");
    node.tabIndex = -1;  // the first result of a run takes the focus when the run ends
    const header = el("div", "item-head");
    header.append(el("span", "name", entry.name), el("span", "state", "queued"));
    node.append(header, el("div", "problem"), el("div", "body"));
    node.querySelector(".problem").setAttribute("role", "alert");
    queueList.append(node);
    const item = { ...entry, node, state: "queued", result: null, rows: [], page: 1 };
    items.push(item);
    return item;
  }

  // What went wrong, in words, whoever answered: the contract's {"error": {"code", "message"}}
  // (expense_cli/contract.py), AWS's own {"Message": ...} in front of the function, a proxy's
  // HTML page, or nothing at all.
  function problemOf(response, data, text) {
    const status = response.status + " " + (response.statusText || REASONS[response.status] || "");
    const err = data && typeof data === "object" ? data.error : null;
    let said = "", code = "";
    if (err && typeof err === "object") {
      said = typeof err.message === "string" ? err.message : "";
      code = typeof err.code === "string" ? err.code : "";
    } else if (typeof err === "string") {
      said = err;
    } else if (data && typeof data === "object") {
      said = typeof data.Message === "string" ? data.Message
        : typeof data.message === "string" ? data.message : "";
    } else if (text) {
      // a page's text; DOMParser runs no script and loads nothing
      said = new DOMParser().parseFromString(text, "text/html").body.textContent;
    }
    said = said.replace(/\s+/g, " ").trim();
    if (said.length > 300) said = said.slice(0, 300) + "…";
    if (code) return (said || "the service answered " + status.trim()) +
                     " (" + response.status + " " + code + ")";
    return said ? said + " (" + status.trim() + ")" : "the service answered " + status.trim();
  }

  // A result is an object with "fields" (an object) and/or "answers" (a list): see the README's
  // "Serve locally" response.
  function isResult(data) {
    if (!data || typeof data !== "object" || Array.isArray(data)) return false;
    const fields = data.fields, answers = data.answers;
    if (fields === undefined && answers === undefined) return false;
    return (fields === undefined || (fields !== null && typeof fields === "object" &&
                                      !Array.isArray(fields))) &&
           (answers === undefined || Array.isArray(answers));
  }

  // "N bytes, more than the M bytes" when size is over a limit config.json gave, else null
  function overLimit(size, limit) {
    if (typeof limit !== "number" || size <= limit) return null;
    return size.toLocaleString("en") + " bytes, more than the " + limit.toLocaleString("en") +
           " bytes";
  }

  async function payloadOf(item, questions) {
    const payload = {};
    if (item.file) {
      payload.document = await readAsDataURL(item.file);
      if (await browserShows(item.file)) item.objectUrl = URL.createObjectURL(item.file);
      else payload.page_images = true;
    } else {
      payload.image = item.url;
      payload.page_images = true;
    }
    if (questions.length) payload.questions = questions;
    return JSON.stringify(payload);
  }

  async function send(body, signal) {
    const headers = { "Content-Type": "application/json" };
    const token = (tokenInput.value || "").trim();
    if (config.auth === "token" && token) headers.Authorization = "Bearer " + token;
    let response, text;
    try {
      response = await fetch("invocations", {
        method: "POST", headers, body, signal,
      });
      text = await response.text();
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new Error("could not reach the service (the connection failed, or the server " +
                      "stopped): " + err.message);
    }
    let data = null;
    try { data = JSON.parse(text); } catch (_) { data = null; }
    return { response, data, text };
  }

  function failed(item, message) {
    setState(item, "failed", "failed");
    item.error = message;
    item.node.querySelector(".problem").textContent = message;
  }

  function stopped(item, message) {
    setState(item, "stopped", "stopped");
    item.error = message;
  }

  // Seconds to wait before sending again, or null. As the CLI does (expense_cli/targets.py):
  // a 429 or 503 (the model loading, throttling, an endpoint starting) is sent again after its
  // Retry-After in seconds, at most MAX_WAIT_S, or 1, 2, 4 s without one; four sends in all.
  const MAX_SENDS = 4, MAX_WAIT_S = 30;
  function retryAfter(response, sent) {
    if ((response.status !== 429 && response.status !== 503) || sent >= MAX_SENDS) return null;
    const text = (response.headers.get("retry-after") || "").trim();
    return /^\d+$/.test(text) ? Math.min(Number(text), MAX_WAIT_S) : 2 ** (sent - 1);
  }
  function pause(seconds, signal) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, seconds * 1000);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(new DOMException("stopped", "AbortError"));
      }, { once: true });
    });
  }

  async function process(item, questions, signal) {
    setState(item, "running", "reading…");
    const started = performance.now();
    let waiting = false;  // the seconds read on while the request is out (a cold endpoint, OCR)
    const ticking = setInterval(() => {
      const seconds = Math.round((performance.now() - started) / 1000);
      if (!waiting && item.state === "running") {
        setState(item, "running", "reading… " + seconds + " s");
      }
    }, 1000);
    try {
      const tooLarge = item.file && overLimit(item.file.size, config.max_document_bytes);
      if (tooLarge) {
        failed(item, "not sent: this file is " + tooLarge + " the service reads");
        return;
      }
      const body = await payloadOf(item, questions);
      const bodyTooLarge = overLimit(new Blob([body]).size, config.max_body_bytes);
      if (bodyTooLarge) {  // the JSON request: base64 makes it a third larger than the file
        failed(item, "not sent: as a request (base64 in JSON) this file is " + bodyTooLarge +
                     " the service takes; shrink it (a lower scan resolution or JPEG quality)");
        return;
      }
      let answer = await send(body, signal);
      for (let sent = 1; ; sent++) {
        const wait = retryAfter(answer.response, sent);
        if (wait === null) break;
        waiting = true;
        setState(item, "running", "waiting " + wait + " s to try again: " +
                 problemOf(answer.response, answer.data, answer.text));
        await pause(wait, signal);
        waiting = false;
        setState(item, "running", "reading…");
        answer = await send(body, signal);
      }
      const { response, data, text } = answer;
      if (response.ok && !isResult(data)) {
        failed(item, "the service answered " + response.status + " but not with a result: " +
                     JSON.stringify(text.slice(0, 100)));
        return;
      }
      if (!response.ok) {
        let message = problemOf(response, data, text);
        const code = data && data.error && data.error.code;
        if (response.status === 413 && item.file && (!code || code === "body_too_large")) {
          // the limit is on the request; base64 makes it a third larger than the file
          message += "; this file is " + item.file.size.toLocaleString("en") + " bytes, " +
                     body.length.toLocaleString("en") + " as the request (base64 in JSON)";
        }
        if ((response.status === 401 || response.status === 403) && config.auth === "token") {
          message = (response.status === 401 ? "An access token is needed: "
                                             : "The access token was refused: ") + message;
          tokenInput.focus();
        } else if (response.status === 401 || response.status === 403) {
          // no token here: the function URL refused `serve --deployment`'s signed request
          message = "The request was refused: " + message + ". With expense-cli serve " +
                    "--deployment, check that its AWS credentials (--profile, --region) may " +
                    "call lambda:InvokeFunctionUrl on the function.";
        }
        failed(item, message);
        return;
      }
      item.result = data;
      item.rows = rowsOf(data);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      setState(item, "done", data.pages + (data.pages === 1 ? " page" : " pages") + ", " +
               seconds + " s");
      render(item);
    } catch (err) {
      if (err.name === "AbortError") stopped(item, "stopped while it was being read");
      else failed(item, err.message);
    } finally {
      clearInterval(ticking);
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    errorBox.hidden = true;
    const problem = config.auth === "token" ? tokenProblem(tokenInput.value.trim()) : null;
    if (problem) {
      fail(problem);
      tokenInput.focus();
      return;
    }
    kept.set(tokenInput.value.trim());
    const questions = $("questions").value.split("\n").map((q) => q.trim()).filter(Boolean);
    const entries = chosen.map((file) => ({ name: file.name, file }));
    const url = config.fetches_urls ? urlInput.value.trim() : "";
    if (url) entries.push({ name: url, url });
    const queued = entries.map(addItem);
    chosen = [];
    fileInput.value = "";
    urlInput.value = "";
    running = true;
    run = new AbortController();
    const signal = run.signal;
    refresh();
    stopButton.hidden = false;
    stopButton.focus();  // the Read button is disabled now; Enter or Space again stops the run
    for (const [i, item] of queued.entries()) {
      if (signal.aborted) {
        stopped(item, "stopped before it was sent");
        continue;
      }
      status.textContent = "Reading " + (i + 1) + " of " + queued.length + "…";
      await process(item, questions, signal);
    }
    const read = queued.filter((i) => i.state === "done").length;
    status.textContent = (signal.aborted ? "Stopped: " : "Done: ") + read + " of " +
                         queued.length + " read.";
    const active = document.activeElement;
    const lost = active === stopButton || active === document.body || active === null;
    running = false;
    run = null;
    stopButton.hidden = true;
    $("export").hidden = !items.some((i) => i.result);
    refresh();
    if (lost && queued.length) queued[0].node.focus();  // the results, not the page's top
  });
  stopButton.addEventListener("click", () => { if (run) run.abort(); });

  // --- export ----------------------------------------------------------------------------------
  function exported() {
    return items.filter((i) => i.result || i.error).map((i) => {
      const result = i.result ? { ...i.result } : null;
      if (result) delete result.page_images;
      return i.result ? { file: i.name, ...result } : { file: i.name, error: i.error };
    });
  }
  function csvCell(value) {
    let text = value === undefined || value === null ? "" : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;  // never a formula in a spreadsheet
    return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }
  function csv() {
    const lines = [["file", "kind", "name", "answer", "value", "currency", "score", "page", "low",
                    "error"].join(",")];
    const low = minScore();
    for (const item of items) {
      if (item.error) lines.push([item.name, "", "", "", "", "", "", "", "", item.error]
        .map(csvCell).join(","));
      for (const row of item.rows) {
        lines.push([item.name, row.kind, row.label, row.answer, row.value, row.currency,
                    row.score, row.page, row.answer && row.score < low ? "yes" : "", ""]
          .map(csvCell).join(","));
      }
    }
    return lines.join("\r\n") + "\r\n";
  }
  function save(name, type, text) {
    const link = el("a");
    link.href = URL.createObjectURL(new Blob([text], { type }));
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }
  $("copy-json").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(JSON.stringify(exported(), null, 2));
      status.textContent = "Copied the results as JSON.";
    } catch (_) {
      fail("The browser did not allow copying; use Download JSON instead.");
    }
  });
  $("save-json").addEventListener("click", () =>
    save("expense-results.json", "application/json", JSON.stringify(exported(), null, 2)));
  $("save-csv").addEventListener("click", () => save("expense-results.csv", "text/csv", csv()));

  loadConfig();
})();
