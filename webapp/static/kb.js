/* Live preview of an article body while writing: the server renders and sanitises
   the Markdown (POST /agent/kb/preview, CSRF token from the form) and the answer,
   already safe HTML, replaces the preview. Without JavaScript the Preview button
   does the same with a full page. */
(function () {
  "use strict";
  var form = document.getElementById("kb-form");
  if (!form || !window.fetch) { return; }
  var body = document.getElementById("f-body");
  var preview = document.getElementById("kb-preview");
  var url = form.getAttribute("data-preview-url");
  var token = form.querySelector("input[name=csrf_token]");
  var timer = null, sent = 0;

  function refresh() {
    var mine = ++sent;
    var data = new FormData();
    data.append("csrf_token", token ? token.value : "");
    data.append("body", body.value);
    fetch(url, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null && mine === sent) { preview.innerHTML = html; }
      })
      .catch(function () { /* keep the last preview; the button still works */ });
  }

  body.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
  if (body.value) { refresh(); }
})();
