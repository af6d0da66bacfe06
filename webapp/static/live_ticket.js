// The ticket page, live (docs/decisions/0019-live-updates.md). On a change of the ticket
// (a "gongdan:live" event from live.js) it fetches the page again and swaps the parts that
// show the ticket: head, conversation, timeline and the side panels (and any element with
// data-live-region and an id). It never touches the reply box, nor a form the agent has
// started to edit: then it says that the ticket changed instead (saving would fail with
// "changed by someone else" anyway). Who else has the ticket open, or is writing a reply,
// shows above the conversation; the page beats /live/presence while someone works at it.
// Like board.js, it does not fetch for a page nobody uses (idle for IDLE_MS): the
// session's idle timeout must still end an unattended page; the next input catches up.
"use strict";

(function () {
  var root = document.getElementById("live");
  if (!root || !root.hasAttribute("data-ticket") || !window.fetch) { return; }
  var ticketId = root.getAttribute("data-ticket");
  var me = Number(root.getAttribute("data-me"));
  var presenceUrl = root.getAttribute("data-presence");
  var csrf = root.getAttribute("data-csrf");
  var REGIONS = [".ticket-head", "section.conversation", "section.timeline-box", "#properties",
                 "#relations", "#routing", "#ai-triage", "#callbacks", "#mail-status"];
  var IDLE_MS = 600000, BEAT_MS = 25000, TYPING_BEAT_MS = 5000, TYPING_MS = 12000;
  var reply = document.getElementById("reply-body");
  var lastInput = Date.now(), lastTyped = 0, lastBeat = 0, beatState = "";
  var timer = null, inFlight = false, again = false, waiting = false, gone = false;
  var viewers = [], listTimer = null;

  function msg(name) { return root.getAttribute("data-msg-" + name) || ""; }
  function idle() { return Date.now() - lastInput > IDLE_MS; }

  function notice(id, text, before) {
    var n = document.getElementById(id);
    if (!n) {
      n = document.createElement("div");
      n.id = id;
      n.className = "flash warning live-notice";
      n.setAttribute("role", "status");
      before.parentNode.insertBefore(n, before);
    }
    n.textContent = text;
    n.hidden = false;
  }

  // -- the ticket's parts --------------------------------------------------------------
  function regions(doc) {
    var extra = Array.prototype.map.call(doc.querySelectorAll("[data-live-region][id]"),
                                         function (n) { return "#" + n.id; });
    return REGIONS.concat(extra);
  }

  function versionOf(node) {
    var v = node && node.querySelector("input[name=expected_version]");
    return v ? v.value : "";
  }

  // Being edited, focused, or with a form unfolded (<details open>): left as it is.
  function busy(node) {
    var active = document.activeElement;
    return node.hasAttribute("data-live-dirty") || node.querySelector("[data-live-dirty]") !== null
      || node.querySelector("details[open]:not([data-live-served-open])") !== null
      || (active && active !== document.body && node.contains(active));
  }

  function served(scope) {
    Array.prototype.forEach.call(scope.querySelectorAll("details[open]"),
                                 function (d) { d.setAttribute("data-live-served-open", ""); });
  }
  served(document);

  function swap(doc) {
    regions(doc).forEach(function (selector) {
      var current = document.querySelector(selector), fresh = doc.querySelector(selector);
      if (!current || !fresh) { return; }
      if (busy(current)) {
        if (versionOf(current) && versionOf(current) !== versionOf(fresh)) {
          notice("live-stale-" + (current.id || "part"), msg("changed-form"), current);
        }
        return;
      }
      var known = current.querySelectorAll("article.message").length;
      var node = document.importNode(fresh, true);
      served(node);
      current.parentNode.replaceChild(node, current);
      Array.prototype.slice.call(node.querySelectorAll("article.message"), known)
        .forEach(function (m) { m.classList.add("live-new"); });
    });
    var banner = document.querySelector(".flash.merged"), merged = doc.querySelector(".flash.merged");
    if (merged && !banner) {
      var head = document.querySelector(".ticket-head");
      head.parentNode.insertBefore(document.importNode(merged, true), head.nextSibling);
    }
  }

  function refresh() {
    if (gone) { return; }
    if (idle() || document.hidden) { waiting = true; return; }
    if (inFlight) { again = true; return; }
    inFlight = true;
    fetch(window.location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.status === 404) { lost(); return null; }
        if (r.redirected || !r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      })
      .then(function (html) {
        if (html) { swap(new DOMParser().parseFromString(html, "text/html")); }
      })
      .catch(function () { waiting = true; })
      .then(function () {
        inFlight = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);  // one fetch for the events of one change
  }

  function lost() {
    gone = true;
    notice("live-gone", msg("gone"), document.querySelector(".ticket-layout"));
  }

  function changed(e) {
    var writing = reply && reply.value.trim() !== "";
    if (writing && e.actor_id !== me && e.kind !== "presence") {
      notice("live-reply-changed", msg("changed-reply"), document.getElementById("reply"));
    }
    schedule();
  }

  // -- presence ------------------------------------------------------------------------
  function box() {
    var n = document.getElementById("live-presence");
    if (!n) {
      n = document.createElement("p");
      n.id = "live-presence";
      n.className = "live-presence";
      n.setAttribute("aria-live", "polite");
      var head = document.querySelector(".ticket-head");
      head.parentNode.insertBefore(n, head.nextSibling);
    }
    return n;
  }

  function render(list) {
    viewers = list.filter(function (v) { return !v.me; });
    var n = box();
    n.textContent = viewers.map(function (v) {
      return msg(v.state === "replying" ? "replying" : "viewing").replace("{name}", v.name);
    }).join(" · ");
    n.hidden = viewers.length === 0;
    n.classList.toggle("replying", viewers.some(function (v) { return v.state === "replying"; }));
    // Ask again when the first entry lapses (a replying one may still be viewing).
    clearTimeout(listTimer);
    if (viewers.length) {
      var soonest = Math.min.apply(null, viewers.map(function (v) { return v.expires_in; }));
      listTimer = setTimeout(list_, Math.max(soonest, 3) * 1000 + 500);
    }
  }

  function answer(r) { return r.ok ? r.json() : null; }
  function show(data) { if (data && data.viewers) { render(data.viewers); } }

  function list_() {
    if (gone || document.hidden) { return; }
    fetch(presenceUrl + "?ticket_id=" + ticketId,
          { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(answer).then(show).catch(function () { /* the next beat shows it */ });
  }

  function state() {
    return reply && reply.value.trim() !== "" && Date.now() - lastTyped < TYPING_MS
      ? "replying" : "viewing";
  }

  function beat(force) {
    if (gone || document.hidden || idle()) { return; }
    var now = state();
    if (!force && now === beatState && Date.now() - lastBeat < BEAT_MS - 1000) { return; }
    beatState = now;
    lastBeat = Date.now();
    fetch(presenceUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ ticket_id: Number(ticketId), state: now })
    }).then(answer).then(show).catch(function () { /* offline a moment: the next beat */ });
  }

  function leave() {
    if (!navigator.sendBeacon) { return; }
    var form = new FormData();
    form.append("ticket_id", ticketId);
    form.append("state", "left");
    form.append("csrf_token", csrf);
    navigator.sendBeacon(presenceUrl, form);
    beatState = "";
  }

  // -- wiring --------------------------------------------------------------------------
  function active() {
    lastInput = Date.now();
    if (waiting && !document.hidden) { waiting = false; schedule(); }
  }
  ["mousemove", "mousedown", "keydown", "wheel", "touchstart", "scroll"].forEach(function (name) {
    document.addEventListener(name, active, { passive: true, capture: true });
  });
  ["input", "change"].forEach(function (name) {
    document.addEventListener(name, function (e) {
      var form = e.target.closest ? e.target.closest("form") : null;
      if (form && form.id !== "reply") { form.setAttribute("data-live-dirty", "1"); }
    }, true);
  });
  if (reply) {
    reply.addEventListener("input", function () {
      lastTyped = Date.now();
      if (beatState !== "replying" || Date.now() - lastBeat > TYPING_BEAT_MS) { beat(true); }
    });
  }
  document.addEventListener("gongdan:live", function (e) {
    var d = e.detail || {};
    if (d.kind === "gone" && (d.topic === "ticket:" + ticketId || d.topic === "*")) { lost(); return; }
    if (d.kind === "ended") {
      notice("live-ended", msg("ended"), document.querySelector(".ticket-layout"));
      return;
    }
    if (d.kind === "reset") { schedule(); list_(); return; }
    if (d.topic !== "ticket:" + ticketId) { return; }
    if (d.kind === "presence") { if (d.actor_id !== me) { list_(); } return; }
    changed(d);
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { beat(true); if (waiting) { waiting = false; schedule(); } }
  });
  window.addEventListener("pagehide", leave);
  setInterval(function () { beat(false); }, 5000);
  // A running SLA clock's "time left" moves with business time, not with events.
  setInterval(function () {
    if (document.querySelector("#sla[data-sla-running]")) { schedule(); }
  }, 60000);
  beat(true);
})();
