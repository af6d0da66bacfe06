// AI assistance on the ticket page (webapp/templates/agent/_ai_draft.html).
// Asks the server for a draft (the worker writes it), then follows it with
// server-sent events, falling back to polling. The model's text is data: it only
// ever goes into the page through textContent, never as HTML.
"use strict";

(function () {
  var root = document.getElementById("ai-assist");
  if (!root) { return; }
  var base = root.getAttribute("data-base");
  var csrf = root.getAttribute("data-csrf");
  var el = function (id) { return document.getElementById(id); };
  var output = el("ai-output"), progress = el("ai-progress"), textEl = el("ai-text");
  var citations = el("ai-citations"), citationList = el("ai-citation-list");
  var insertBtn = el("ai-insert"), discardBtn = el("ai-discard"), unavailable = el("ai-unavailable");
  var buttons = Array.prototype.slice.call(root.querySelectorAll("[data-ai-kind]"));
  var DEADLINE_MS = 240000, POLL_MS = 700, MAX_STREAM_ERRORS = 3;
  var run = null;  // the draft being followed: {kind, source, timer, deadline, started, errors}

  function msg(name) { return root.getAttribute("data-msg-" + name) || ""; }

  function setProgress(text, isError) {
    progress.textContent = text;
    progress.classList.toggle("error", !!isError);
  }

  function busy(on) { buttons.forEach(function (b) { b.disabled = on; }); }

  function showUnavailable(message) {
    unavailable.textContent = message;
    unavailable.hidden = false;
  }

  function stop() {
    if (!run) { return; }
    if (run.source) { run.source.close(); }
    if (run.timer) { clearTimeout(run.timer); }
    run = null;
    busy(false);
  }

  function fail(message) {
    stop();
    setProgress(message || msg("error"), true);
  }

  function renderCitations(list) {
    citationList.textContent = "";
    list.forEach(function (c) {
      var li = document.createElement("li");
      var marker = document.createElement("span");
      marker.className = "marker";
      marker.textContent = "[" + c.marker + "]";
      var link = document.createElement("a");
      link.href = c.href;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = c.label;
      li.appendChild(marker);
      li.appendChild(link);
      if (!c.cited) {
        li.className = "uncited";
        li.appendChild(document.createTextNode(" (" + msg("uncited") + ")"));
      }
      citationList.appendChild(li);
    });
    citations.hidden = list.length === 0;
  }

  function render(d) {
    if (!run) { return; }
    textEl.textContent = d.text || "";
    if (d.status === "queued") {
      setProgress(d.ahead > 0 ? msg("ahead").replace("{n}", d.ahead) : msg("queued"));
    } else if (d.status === "running") {
      var seconds = Math.round((Date.now() - run.started) / 1000);
      setProgress(msg("running").replace("{s}", seconds));
    } else if (d.status === "done") {
      var kind = run.kind;
      stop();
      // A message with a finished draft says it may be incomplete (time limit).
      setProgress((kind === "reply" ? msg("done") : msg("summary-done"))
                  + (d.message ? " " + d.message : ""));
      renderCitations(d.citations || []);
      insertBtn.textContent = root.getAttribute(kind === "reply" ? "data-label-insert-reply"
                                                                 : "data-label-insert-note");
      insertBtn.setAttribute("data-kind", kind);
      insertBtn.hidden = !d.text;
      discardBtn.hidden = false;
    } else if (d.status === "failed") {
      fail(d.message);
      discardBtn.hidden = false;
    }
  }

  function expired() {
    if (run && Date.now() > run.deadline) { fail(msg("slow")); return true; }
    return false;
  }

  function poll(url) {
    if (!run || expired()) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (data) {
        render(data.draft);
        if (run) { run.timer = setTimeout(function () { poll(url); }, POLL_MS); }
      })
      .catch(function () { fail(msg("error")); });
  }

  function stream(urls) {
    var source = new EventSource(urls.stream);
    run.source = source;
    var onData = function (e) { if (!expired()) { render(JSON.parse(e.data)); } };
    source.addEventListener("draft", onData);
    source.addEventListener("end", onData);
    source.addEventListener("gone", function () { fail(msg("error")); });
    source.onerror = function () {
      // The server caps each stream and EventSource reconnects; a closed source or
      // repeated errors (a proxy that buffers, say) switch to plain polling.
      if (!run || expired()) { return; }
      run.errors += 1;
      if (source.readyState === EventSource.CLOSED || run.errors >= MAX_STREAM_ERRORS) {
        source.close();
        run.source = null;
        poll(urls.poll);
      }
    };
  }

  function request(kind) {
    stop();
    output.hidden = false;
    textEl.textContent = "";
    citations.hidden = true;
    insertBtn.hidden = true;
    discardBtn.hidden = true;
    run = { kind: kind, source: null, timer: null, errors: 0, started: Date.now(),
            deadline: Date.now() + DEADLINE_MS };
    busy(true);
    setProgress(msg("queued"));
    var body = new FormData();
    body.append("kind", kind);
    body.append("tone", el("ai-tone").value);
    fetch(base + "/drafts", { method: "POST", body: body, credentials: "same-origin",
                              headers: { "X-CSRFToken": csrf, "Accept": "application/json" } })
      .then(function (r) { return r.json().then(function (data) { return { status: r.status, data: data }; }); })
      .then(function (res) {
        if (res.status !== 202) {
          var message = res.data && res.data.error ? res.data.error.message : msg("error");
          if (res.status === 503) { showUnavailable(message); }
          fail(message);
          return;
        }
        render(res.data.draft);
        if (!run) { return; }
        if (window.EventSource) { stream(res.data.urls); } else { poll(res.data.urls.poll); }
      })
      .catch(function () { fail(msg("error")); });
  }

  function insert() {
    var kind = insertBtn.getAttribute("data-kind");
    var radio = el(kind === "reply" ? "kind-reply" : "kind-note");
    var body = el("reply-body");
    if (!body) { return; }
    // Source markers mean nothing to a customer: the agent sees the sources listed here.
    var text = (textEl.textContent || "").replace(/ ?\[[AT]\d{1,3}\]/g, "").trim();
    if (radio) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
    }
    body.value = body.value.trim() ? body.value.replace(/\s+$/, "") + "\n\n" + text : text;
    body.focus();
    body.scrollIntoView({ block: "center" });
    setProgress(msg("inserted"));
  }

  buttons.forEach(function (b) {
    b.addEventListener("click", function () { request(b.getAttribute("data-ai-kind")); });
  });
  insertBtn.addEventListener("click", insert);
  discardBtn.addEventListener("click", function () {
    stop();
    output.hidden = true;
    textEl.textContent = "";
  });
  fetch(base + "/status", { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (s) { if (s && !s.available) { showUnavailable(s.message); } })
    .catch(function () { /* the buttons still say so if the model is missing */ });
}());
