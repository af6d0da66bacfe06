// Queue pages, live (docs/decisions/0019-live-updates.md): a "gongdan:live" hint for this
// view (live.js) says only that something in it changed (and which ticket, when the
// reader may see it). The page counts the hints in a bar, "3 updates — refresh"; the
// button fetches the page again and swaps the rows and the view counts, without reloading
// (the filters the agent is setting stay as they are). A row on screen whose ticket
// changed is marked at once.
"use strict";

(function () {
  var root = document.getElementById("live");
  if (!root || !root.hasAttribute("data-queue") || !window.fetch) { return; }
  var topic = "queue:" + root.getAttribute("data-queue");
  var table = document.querySelector("table.queue");
  if (!table) { return; }
  var count = 0, inFlight = false;
  var bar = document.createElement("div");
  bar.id = "live-updates";
  bar.className = "live-bar";
  bar.setAttribute("role", "status");
  bar.hidden = true;
  var text = document.createElement("span");
  var button = document.createElement("button");
  button.type = "button";
  button.className = "link";
  button.textContent = root.getAttribute("data-msg-refresh");
  bar.appendChild(text);
  bar.appendChild(document.createTextNode(" "));
  bar.appendChild(button);
  table.parentNode.insertBefore(bar, table);

  function label(n) {
    var one = root.getAttribute("data-msg-one"), many = root.getAttribute("data-msg-many");
    return (n === 1 ? one : many).replace("{n}", String(n));
  }

  function mark(ticketId) {
    if (!ticketId) { return; }
    var rows = table.querySelectorAll("tr[data-href]");
    Array.prototype.forEach.call(rows, function (row) {
      if (row.getAttribute("data-href").split("/").pop() === String(ticketId)) {
        row.classList.add("live-changed");
      }
    });
  }

  function swap(doc) {
    var fresh = doc.querySelector("table.queue"), views = doc.querySelector("ul.views");
    var current = document.querySelector("table.queue"), currentViews = document.querySelector("ul.views");
    if (fresh && current) {
      table = document.importNode(fresh, true);
      current.parentNode.replaceChild(table, current);
    }
    if (views && currentViews) { currentViews.parentNode.replaceChild(document.importNode(views, true), currentViews); }
    var pager = doc.querySelector("nav.pager"), currentPager = document.querySelector("nav.pager");
    if (pager && currentPager) { currentPager.parentNode.replaceChild(document.importNode(pager, true), currentPager); }
    count = 0;
    bar.hidden = true;
  }

  button.addEventListener("click", function () {
    if (inFlight) { return; }
    inFlight = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || !r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      })
      .then(function (html) { swap(new DOMParser().parseFromString(html, "text/html")); })
      .catch(function () { window.location.reload(); })
      .then(function () { inFlight = false; });
  });

  document.addEventListener("gongdan:live", function (e) {
    var d = e.detail || {};
    if (d.topic !== topic && !(d.kind === "reset" && d.topic === "*")) { return; }
    count += 1;
    text.textContent = label(count);
    bar.hidden = false;
    mark(d.ticket_id);
  });
})();
