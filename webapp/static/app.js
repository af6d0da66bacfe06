// Gongdan UI behaviour (no inline scripts: the CSP forbids them).
// Keyboard shortcuts for the agent workspace, a help overlay on "?", clickable
// list rows, the reply/note switch and confirmations for destructive forms.
"use strict";

(function () {
  var pendingG = false;
  var gTimer = null;

  function typing(el) {
    if (!el) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function rows() {
    var list = document.querySelector("[data-keyboard-list]");
    return list ? Array.prototype.slice.call(list.querySelectorAll("[data-href]")) : [];
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var current = all.findIndex(function (r) { return r.classList.contains("selected"); });
    var next = Math.max(0, Math.min(all.length - 1, current + step));
    if (current === -1) { next = step > 0 ? 0 : all.length - 1; }
    all.forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
    all[next].classList.add("selected");
    all[next].setAttribute("aria-selected", "true");
    all[next].scrollIntoView({ block: "nearest" });
  }

  function openSelected() {
    var row = document.querySelector("[data-keyboard-list] .selected[data-href]");
    if (row) { window.location.href = row.getAttribute("data-href"); return true; }
    return false;
  }

  function follow(id) {
    var link = document.getElementById(id);
    if (link) { window.location.href = link.getAttribute("href"); }
  }

  function compose(kind) {
    var radio = document.getElementById(kind === "note" ? "kind-note" : "kind-reply");
    var body = document.getElementById("reply-body");
    if (!radio || !body) { return; }
    radio.checked = true;
    syncReplyMode();
    body.focus();
    body.scrollIntoView({ block: "center" });
  }

  function syncReplyMode() {
    var form = document.getElementById("reply");
    var note = document.getElementById("kind-note");
    if (form && note) { form.classList.toggle("note-mode", note.checked); }
  }

  function toggleHelp(show) {
    var help = document.getElementById("kbd-help");
    if (!help) { return; }
    help.hidden = typeof show === "boolean" ? !show : !help.hidden;
  }

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (e.key === "Escape") {
      toggleHelp(false);
      if (typing(document.activeElement)) { document.activeElement.blur(); }
      return;
    }
    if (typing(e.target)) { return; }
    if (pendingG) {
      pendingG = false;
      clearTimeout(gTimer);
      if (e.key === "m") { follow("nav-mine"); e.preventDefault(); }
      if (e.key === "u") { follow("nav-unassigned"); e.preventDefault(); }
      return;
    }
    var handled = true;
    switch (e.key) {
      case "/": var q = document.getElementById("search-q"); if (q) { q.focus(); q.select(); } break;
      case "?": toggleHelp(); break;
      case "g": pendingG = true; gTimer = setTimeout(function () { pendingG = false; }, 1500); break;
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o": handled = openSelected(); break;
      case "Enter": handled = e.target === document.body && openSelected(); break;
      case "r": compose("reply"); break;
      case "n": compose("note"); break;
      default: handled = false;
    }
    if (handled) { e.preventDefault(); }
  }

  function onClick(e) {
    if (e.target.closest("[data-close-help]") || e.target.id === "kbd-help") { toggleHelp(false); return; }
    var row = e.target.closest("[data-keyboard-list] [data-href]");
    if (row && !e.target.closest("a, button, input, select, textarea, label")) {
      window.location.href = row.getAttribute("data-href");
    }
  }

  function onSubmit(e) {
    var message = e.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { e.preventDefault(); }
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("click", onClick);
  document.addEventListener("submit", onSubmit);
  document.addEventListener("change", function (e) {
    if (e.target.name === "kind" && e.target.closest("#reply")) { syncReplyMode(); }
  });
}());
