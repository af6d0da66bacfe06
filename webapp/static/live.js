// Live updates (docs/decisions/0019-live-updates.md). One stream per page on /live/stream
// for the topics in #live's data-topics; each event becomes a "gongdan:live" DOM event on
// document (detail: {topic, id, kind, ...}: ids and kinds only) that the page's own script
// acts on (live_ticket.js, live_queue.js, board.js).
//
// The server may refuse the stream (503: its worker holds as many streams as it may) and
// old browsers lack EventSource: the page then polls /live/poll, backing off on errors,
// and tries to stream again after a while. A tab hidden for HIDDEN_MS lets its stream go
// (a thread on the server) and picks up where it was, from its cursor, when shown again.
"use strict";

(function () {
  var root = document.getElementById("live");
  if (!root || !window.fetch) { return; }
  var topics = root.getAttribute("data-topics");
  var streamUrl = root.getAttribute("data-stream");
  var pollUrl = root.getAttribute("data-poll");
  var cursor = root.getAttribute("data-since") || "";
  var POLL_MS = 5000, MAX_POLL_MS = 60000, STREAM_AGAIN_MS = 120000, HIDDEN_MS = 120000;
  var source = null, pollTimer = null, hiddenTimer = null, pollDelay = POLL_MS;
  var pollingSince = 0, ended = false;
  var seen = {}, seenOrder = [];

  function emit(detail) {
    document.dispatchEvent(new CustomEvent("gongdan:live", { detail: detail }));
  }

  // A replay after a reconnect may repeat an event: pass each (id, topic) on once.
  function take(payload) {
    var key = payload.id + " " + payload.topic;
    if (seen[key]) { return; }
    seen[key] = true;
    seenOrder.push(key);
    if (seenOrder.length > 1000) { delete seen[seenOrder.shift()]; }
    if (payload.id > Number(cursor || 0)) { cursor = String(payload.id); }
    emit(payload);
  }

  function query() {
    return "?topics=" + encodeURIComponent(topics) + (cursor ? "&since=" + cursor : "");
  }

  // The server ended following (the ticket is no longer visible, the login ended).
  function end(kind, topic) {
    ended = true;
    closeStream();
    if (pollTimer !== null) { clearTimeout(pollTimer); pollTimer = null; }
    emit({ kind: kind, topic: topic || "*" });
  }

  function closeStream() {
    if (source !== null) { source.close(); source = null; }
  }

  function stream() {
    if (ended || source !== null) { return; }
    if (!window.EventSource) { startPolling(); return; }
    source = new EventSource(streamUrl + query());
    source.onmessage = function (e) { take(JSON.parse(e.data)); };
    source.addEventListener("reset", function () { emit({ kind: "reset", topic: "*" }); });
    source.addEventListener("gone", function (e) { end("gone", JSON.parse(e.data).topic); });
    source.onerror = function () {
      // CLOSED: refused (503, 401, 404: not an event stream); otherwise the browser
      // reconnects by itself, sending Last-Event-ID.
      if (source !== null && source.readyState === EventSource.CLOSED) {
        source = null;
        startPolling();
      }
    };
  }

  function startPolling() {
    if (ended || pollTimer !== null) { return; }
    pollingSince = Date.now();
    pollDelay = POLL_MS;
    pollTimer = setTimeout(poll, 0);
  }

  function poll() {
    pollTimer = null;
    if (ended) { return; }
    if (window.EventSource && Date.now() - pollingSince > STREAM_AGAIN_MS) { stream(); return; }
    fetch(pollUrl + query(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) { end("ended"); return null; }
        if (r.status === 404) { end("gone", topics); return null; }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (data) {
        if (!data) { return; }
        if (data.reset) { emit({ kind: "reset", topic: "*" }); }
        data.events.forEach(function (p) {
          if (p.kind === "gone") { end("gone", p.topic); } else { take(p); }
        });
        cursor = String(data.cursor);
        pollDelay = data.poll_ms || POLL_MS;
      })
      .catch(function () { pollDelay = Math.min(pollDelay * 2, MAX_POLL_MS); })
      .then(function () {
        if (!ended && !document.hidden) { pollTimer = setTimeout(poll, pollDelay); }
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      hiddenTimer = setTimeout(function () {
        closeStream();
        if (pollTimer !== null) { clearTimeout(pollTimer); pollTimer = null; }
      }, HIDDEN_MS);
      return;
    }
    if (hiddenTimer !== null) { clearTimeout(hiddenTimer); hiddenTimer = null; }
    if (source === null && pollTimer === null) { stream(); }
  });
  window.addEventListener("pagehide", closeStream);
  window.addEventListener("pageshow", function (e) { if (e.persisted) { stream(); } });
  document.addEventListener("DOMContentLoaded", stream);
})();
