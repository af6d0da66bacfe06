// Knowledge suggestions (webapp/templates/agent/_kb_suggestions.html and
// portal/kb_suggest_box.html). No inline script (CSP); text from the server is put
// into the page with textContent, except the agent panel's list, which the server
// renders (escaped by Jinja) as a fragment of this same origin.
"use strict";

(function () {
  // --- the ticket page: load the panel, insert links and snippets into the reply ---------
  function agentPanel(root) {
    var list = document.getElementById("kb-suggest-list");
    var notice = document.getElementById("kb-suggest-notice");
    var body = document.getElementById("reply-body");
    var usesField = document.getElementById("kb-uses");
    var form = document.getElementById("reply");
    var inserted = {};  // "id:kind" -> the text that must still be in the reply to count

    function msg(name) { return root.getAttribute("data-msg-" + name) || ""; }

    function say(text, warning) {
      notice.textContent = text;
      notice.classList.toggle("warning", !!warning);
      notice.hidden = !text;
    }

    function currentUses() {
      return usesField && usesField.value ? usesField.value.split(",").filter(Boolean) : [];
    }

    function addUse(key) {
      if (!usesField) { return; }
      var uses = currentUses();
      if (uses.indexOf(key) < 0) { uses.push(key); }
      usesField.value = uses.join(",");
    }

    function insertText(text) {
      var value = body.value;
      var start = typeof body.selectionStart === "number" ? body.selectionStart : value.length;
      var end = typeof body.selectionEnd === "number" ? body.selectionEnd : value.length;
      var before = value.slice(0, start);
      var piece = (before && !/\n$/.test(before) ? "\n" : "") + text + "\n";
      body.value = before + piece + value.slice(end);
      var caret = before.length + piece.length;
      body.focus();
      body.setSelectionRange(caret, caret);
      body.dispatchEvent(new Event("input", { bubbles: true }));
    }

    function isNote() {
      var note = document.getElementById("kind-note");
      return !!(note && note.checked);
    }

    function onInsert(button) {
      if (!body) { return; }
      var id = button.getAttribute("data-kb-id"), kind = button.getAttribute("data-kb-kind");
      var text = button.getAttribute("data-kb-text") || "";
      var internal = !!button.getAttribute("data-kb-internal");
      // Internal text in a public reply reaches the customer: only after the agent agreed.
      if (kind === "snippet" && internal && !isNote() && !window.confirm(msg("confirm-internal"))) {
        return;
      }
      insertText(text);
      var key = id + ":" + kind;
      // A link counts while its URL stays; a snippet while its beginning does.
      inserted[key] = kind === "link" ? text.slice(text.lastIndexOf(" ") + 1) : text.slice(0, 40);
      addUse(key);
      if (kind === "link" && internal) {
        say(msg("internal"), true);
      } else if (internal && !isNote()) {
        say(msg("inserted-internal"), true);
      } else {
        say(msg("inserted"), false);
      }
    }

    root.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest(".kb-insert") : null;
      if (button) { onInsert(button); }
    });

    if (form && usesField) {
      // What the agent deleted again before sending was not used.
      form.addEventListener("submit", function () {
        usesField.value = currentUses().filter(function (key) {
          return !(key in inserted) || body.value.indexOf(inserted[key]) >= 0;
        }).join(",");
      });
    }

    fetch(root.getAttribute("data-url"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
      .then(function (html) { list.innerHTML = html; })
      .catch(function () {
        list.textContent = "";
        var p = document.createElement("p");
        p.className = "muted";
        p.textContent = msg("error");
        list.appendChild(p);
      });
  }

  // --- the portal's new-ticket page: suggestions while the subject is typed ---------------
  var MIN_CHARS = 2, MAX_CHARS = 200, DEBOUNCE_MS = 350;

  function escapeRegExp(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  function markedText(parent, text, terms) {
    var words = (terms || []).filter(function (t) { return t && t.length > 0; }).map(escapeRegExp);
    if (!words.length) { parent.textContent = text; return; }
    var re = new RegExp("(" + words.join("|") + ")", "gi");
    text.split(re).forEach(function (part, i) {
      if (i % 2 === 1) {
        var mark = document.createElement("mark");
        mark.textContent = part;
        parent.appendChild(mark);
      } else if (part) {
        parent.appendChild(document.createTextNode(part));
      }
    });
  }

  function portalBox(root) {
    var input = document.querySelector("#new-ticket input[name=subject]");
    var list = document.getElementById("kb-portal-list");
    if (!input || !list) { return; }
    var timer = null, seq = 0;
    function msg(name) { return root.getAttribute("data-msg-" + name) || ""; }

    function item(r) {
      var li = document.createElement("li");
      li.className = "kb-hit";
      li.setAttribute("data-article-id", r.id);
      var a = document.createElement("a");
      a.href = r.url;
      a.target = "_blank";
      a.rel = "noopener";
      a.className = "kb-title";
      a.textContent = r.title;
      li.appendChild(a);
      if (r.excerpt) {
        var p = document.createElement("div");
        p.className = "kb-excerpt muted";
        markedText(p, r.excerpt, r.terms);
        li.appendChild(p);
      }
      var b = document.createElement("button");
      b.type = "button";  // inside the ticket form: it must not submit the ticket
      b.className = "kb-solved-button";
      b.textContent = msg("solved");
      b.addEventListener("click", function () { solved(r, b); });
      li.appendChild(b);
      return li;
    }

    // Records the deflection, then shows the thank-you page the server redirects to.
    function solved(r, button) {
      button.disabled = true;
      var form = new URLSearchParams();
      form.append("csrf_token", root.getAttribute("data-csrf"));
      form.append("from", "new");
      fetch(r.solved_url, { method: "POST", credentials: "same-origin", body: form,
                            headers: { "X-CSRFToken": root.getAttribute("data-csrf") } })
        .then(function (resp) {
          if (!resp.ok) { throw new Error(String(resp.status)); }
          window.location.assign(resp.url);
        })
        .catch(function () { button.disabled = false; button.textContent = msg("error"); });
    }

    function show(results) {
      list.textContent = "";
      results.forEach(function (r) { list.appendChild(item(r)); });
      root.hidden = results.length === 0;
    }

    function ask() {
      var q = input.value.trim().slice(0, MAX_CHARS);
      if (q.length < MIN_CHARS) { seq += 1; show([]); return; }
      var mine = ++seq;
      fetch(root.getAttribute("data-url") + "?q=" + encodeURIComponent(q),
            { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
        .then(function (data) { if (mine === seq) { show(data.results || []); } })
        .catch(function () { /* suggestions are a help, not a step: keep the form as it is */ });
    }

    input.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(ask, DEBOUNCE_MS);
    });
    if (input.value.trim().length >= MIN_CHARS) { ask(); }  // the form came back with errors
  }

  function start() {
    var agent = document.getElementById("kb-suggest");
    if (agent) { agentPanel(agent); }
    var portal = document.getElementById("kb-portal-suggest");
    if (portal) { portalBox(portal); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
