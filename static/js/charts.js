// Draws every Plotly figure whose JSON the page carries in <script type="application/json" class="chart-data">.
// Kept out of the pages so a Content-Security-Policy without inline scripts holds.
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll("script.chart-data").forEach(function (node) {
      var target = document.getElementById(node.dataset.target);
      if (!target || !window.Plotly) { return; }
      var figure = JSON.parse(node.textContent);
      window.Plotly.newPlot(target, figure.data, figure.layout, {
        responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"]
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
}());
