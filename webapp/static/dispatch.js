// Dispatch in the agent navigation (webapp/templates/agent/_dispatch_nav.html):
// the presence selector submits itself on change (its button stays for browsers
// without JavaScript), and while the agent is active the page sends a heartbeat so
// routing keeps them online (and brings them back from an automatic "away").
"use strict";

(function () {
  var form = document.getElementById("presence-form");
  if (!form) { return; }
  var select = form.querySelector("select[name=presence]");
  var save = form.querySelector("[data-presence-save]");
  var url = form.getAttribute("data-heartbeat-url");
  var csrf = form.getAttribute("data-csrf");
  var INTERVAL_MS = 60000;
  var lastActivity = 0;

  if (save) { save.hidden = true; }
  select.addEventListener("change", function () { form.submit(); });

  function active() { lastActivity = Date.now(); }
  ["mousemove", "mousedown", "keydown", "wheel", "touchstart", "scroll"].forEach(function (name) {
    document.addEventListener(name, active, { passive: true, capture: true });
  });

  // Only a visible page with a person at it counts: a forgotten tab must let the
  // server's idle timer set the agent away.
  function beat() {
    if (document.visibilityState !== "visible") { return; }
    if (Date.now() - lastActivity > INTERVAL_MS) { return; }
    fetch(url, { method: "POST", credentials: "same-origin",
                 headers: { "X-CSRFToken": csrf, "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (d && d.presence && select.value !== d.presence && document.activeElement !== select) {
          select.value = d.presence;
        }
      })
      .catch(function () { /* offline for a moment: the next beat tries again */ });
  }
  setInterval(beat, INTERVAL_MS);
})();
