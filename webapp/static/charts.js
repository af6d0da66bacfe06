// Draws every <canvas data-chart="ID"> of the page with Chart.js (webapp/static/vendor,
// built from npm at build time) from the JSON in <script type="application/json" id="ID">:
// {type, title, labels, values, links}. No inline script and no style element: Chart.js 4
// sizes canvases through element.style (CSSOM), which the CSP's style-src 'self' allows.
// A click on a bar or point opens the tickets behind it (links[i]); the data table beside
// each chart carries the same links for keyboards, screen readers and no JavaScript.
(function () {
  "use strict";

  function readData(id) {
    var node = document.getElementById(id);
    if (!node || node.type !== "application/json") return null;
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function draw(canvas) {
    var data = readData(canvas.getAttribute("data-chart"));
    if (!data || !window.Chart) return;
    var links = data.links || [];
    var chart = new window.Chart(canvas, {
      type: data.type === "line" ? "line" : "bar",
      data: {
        labels: data.labels || [],
        datasets: [{ label: data.title || "", data: data.values || [],
                     backgroundColor: "rgba(37, 99, 235, 0.6)", borderColor: "rgb(37, 99, 235)",
                     borderWidth: 1 }]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true } },
        onHover: function (event, elements) {
          canvas.classList.toggle("report-canvas-link", elements.length > 0);
        },
        onClick: function (event, elements) {
          if (!elements.length) return;
          var href = links[elements[0].index];
          // Only our own relative links (built by the server), never another origin.
          if (href && href.charAt(0) === "/" && href.charAt(1) !== "/") window.location.assign(href);
        }
      }
    });
    canvas.setAttribute("data-chart-ready", "1");
    return chart;
  }

  function start() {
    var canvases = document.querySelectorAll("canvas[data-chart]");
    for (var i = 0; i < canvases.length; i++) draw(canvases[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
