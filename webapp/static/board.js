// The dispatch board (webapp/templates/agent/board.html): every few seconds, fetch
// board.json and re-render the agents, queues and decisions in the markup the server
// renders, without reloading. Every text arrives translated and goes into the page
// through textContent only (names and subjects are data, never HTML). Polling pauses
// while the tab is hidden and resumes, with a fetch at once, when it is shown again.
// Like dispatch.js, it also stops after data-idle ms without user input (the session's
// idle timeout must still end an unattended board) and shows #board-paused; the next
// mouse move, key, click or scroll resumes it.
"use strict";

(function () {
  var root = document.getElementById("board");
  if (!root || !window.fetch) { return; }
  var src = root.getAttribute("data-src");
  var interval = parseInt(root.getAttribute("data-interval"), 10) || 5000;
  var idleMs = parseInt(root.getAttribute("data-idle"), 10) || 600000;
  var paused = document.getElementById("board-paused");
  var timer = null, inFlight = false, idle = false;
  var lastActivity = Date.now();

  function msg(name) { return root.getAttribute("data-msg-" + name) || ""; }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var child = arguments[i];
      parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return parent;
  }

  function link(href, text) {
    var a = el("a", "", text);
    a.href = href;  // a same-site path built by the server (url_for)
    return a;
  }

  function replaceChildren(node, children) {
    node.textContent = "";
    children.forEach(function (c) { node.appendChild(c); });
  }

  function agentRow(a) {
    var tr = el("tr", "presence-" + a.effective_presence);
    tr.setAttribute("data-agent", a.id);
    var presence = add(el("td"), el("span", "badge presence", a.effective_label));
    if (a.presence !== a.effective_presence) {
      add(presence, " ", el("span", "muted small", "(" + a.presence_label + ")"));
    }
    add(tr, el("td", "name", a.name), el("td", "", a.department), presence,
        el("td", "load", a.load_text), el("td", "open", a.open_tickets),
        el("td", "flags", a.flags_text), el("td", "", a.last_assigned_text));
    return tr;
  }

  function emptyRow(text, columns) {
    var tr = el("tr", "empty");
    var td = el("td", "muted", text);
    td.colSpan = columns;
    return add(tr, td);
  }

  function waitingItem(w) {
    var li = el("li");
    li.setAttribute("data-ticket", w.id);
    // No url: another department's escalated ticket, which the reader cannot open.
    add(li, w.url ? link(w.url, w.number) : el("span", "number", w.number), " ", el("span", "prio prio-" + w.priority, w.priority_text),
        " ", el("span", "subject", w.subject), " ", el("span", "reason muted small", w.reason_text),
        " ", el("span", "muted small", w.since_text));
    if (w.escalated) { add(li, " ", el("span", "badge escalated", msg("escalated"))); }
    return li;
  }

  function queueBox(q) {
    var box = el("section", "panel board-queue");
    box.setAttribute("data-department", q.department_id);
    var stats = el("dl", "props queue-stats");
    q.stats.forEach(function (pair) { add(stats, el("dt", "", pair[0]), el("dd", "", pair[1])); });
    add(box, el("h3", "", q.department));
    if (q.note) { box.appendChild(el("p", "muted small queue-note", q.note)); }
    box.appendChild(stats);
    if (q.tickets.length) {
      var list = el("ol", "waiting");
      q.tickets.forEach(function (w) { list.appendChild(waitingItem(w)); });
      box.appendChild(list);
    } else {
      box.appendChild(el("p", "muted small", msg("empty")));
    }
    return box;
  }

  function decisionItem(d) {
    var li = el("li", "decision mode-" + d.mode);
    li.setAttribute("data-decision", d.id);
    add(li, el("time", "", d.created_text), " ", link(d.url, d.number), " ",
        el("span", "badge mode", d.mode_label), " ", el("span", "sentence", d.sentence), " ",
        el("span", "muted small latency", d.latency_text));
    if (d.runners_up.length) {
      var runners = add(el("span", "runners-up small"), el("span", "muted", msg("runners-up")));
      d.runners_up.forEach(function (c) {
        add(runners, " ", add(el("span", "candidate"), el("span", "name", c.name),
                              " " + c.score_text + " ", el("span", "muted", "(" + c.parts_text + ")")));
      });
      add(li, " ", runners);
    }
    return li;
  }

  function render(data) {
    var agents = data.agents.map(agentRow);
    replaceChildren(document.getElementById("board-agents"),
                    agents.length ? agents : [emptyRow(msg("no-agents"), 7)]);
    replaceChildren(document.getElementById("board-queues"), data.queues.map(queueBox));
    var decisions = data.decisions.map(decisionItem);
    replaceChildren(document.getElementById("board-decisions"),
                    decisions.length ? decisions : [el("li", "empty muted", msg("no-decisions"))]);
    var updated = document.getElementById("board-updated");
    updated.textContent = data.updated_text;
    updated.classList.remove("error");
    root.setAttribute("data-generated-at", data.generated_at || "");
  }

  function failed() {
    var updated = document.getElementById("board-updated");
    updated.textContent = msg("error");
    updated.classList.add("error");
  }

  function refresh() {
    if (inFlight || document.hidden) { return; }
    if (Date.now() - lastActivity > idleMs) { pause(); return; }
    inFlight = true;
    fetch(src, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (r.redirected || !r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(render, failed)
      .then(function () { inFlight = false; }, function () { inFlight = false; });
  }

  function start() {
    if (timer === null && !idle) { timer = setInterval(refresh, interval); }
  }

  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
  }

  // Nobody at the board for idleMs: stop asking the server until someone is back.
  function pause() {
    stop();
    idle = true;
    if (paused) { paused.hidden = false; }
  }

  function active() {
    lastActivity = Date.now();
    if (!idle || document.hidden) { return; }
    idle = false;
    if (paused) { paused.hidden = true; }
    refresh();
    start();
  }
  ["mousemove", "mousedown", "keydown", "wheel", "touchstart", "scroll"].forEach(function (name) {
    document.addEventListener(name, active, { passive: true, capture: true });
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { stop(); } else { refresh(); start(); }
  });
  // A routing change announced by live.js ("gongdan:live", topic "board"): refresh now
  // instead of at the next tick (once for the events of one change); polling stays as
  // the fallback and for what is not a ticket event (presence, shifts).
  var liveTimer = null;
  document.addEventListener("gongdan:live", function (e) {
    var d = e.detail || {};
    if (d.topic !== "board" && d.kind !== "reset") { return; }
    clearTimeout(liveTimer);
    liveTimer = setTimeout(function () { if (!idle) { refresh(); } }, 200);
  });
  if (!document.hidden) { start(); }
})();
