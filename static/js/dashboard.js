/* Dashboard charts: draws every <canvas data-chart="ID"> from the JSON in <script id="ID">, with
   Chart.js (vendored in static/vendor/chartjs). Redrawn after htmx swaps the panels in place. */
(function () {
  "use strict";
  // Okabe-Ito: distinguishable with the common colour-vision deficiencies, readable on white.
  var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

  function draw(root) {
    if (typeof Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      var spec = JSON.parse(source.textContent);
      var existing = Chart.getChart(canvas);
      if (existing) existing.destroy();
      var horizontal = !!spec.horizontal;
      var valueAxis = {
        beginAtZero: true,
        title: { display: true, text: spec.y_title, color: "#1f2328" },
        ticks: { color: "#1f2328", precision: 0 }
      };
      var categoryAxis = {
        title: { display: true, text: spec.x_title, color: "#1f2328" },
        ticks: { color: "#1f2328", autoSkip: false, maxRotation: 40 }
      };
      if (spec.percent) { valueAxis.max = 100; valueAxis.ticks.callback = function (v) { return v + "%"; }; }
      if (horizontal) {
        // x is the value axis, y the stages; the titles follow the axes.
        valueAxis.title.text = spec.x_title; categoryAxis.title.text = spec.y_title;
      }
      new Chart(canvas, {
        type: spec.type,
        data: {
          labels: spec.labels,
          datasets: spec.datasets.map(function (dataset, index) {
            return { label: dataset.label, data: dataset.data, backgroundColor: PALETTE[index % PALETTE.length],
                     borderColor: PALETTE[index % PALETTE.length], borderWidth: 1 };
          })
        },
        options: {
          indexAxis: horizontal ? "y" : "x",
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
          plugins: {
            legend: { display: spec.datasets.length > 1, labels: { color: "#1f2328" } },
            tooltip: { callbacks: { label: function (ctx) {
              return ctx.dataset.label + ": " + ctx.formattedValue + (spec.percent ? "%" : "");
            } } }
          }
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
    // Picking a date means a custom period: switch the period before htmx sends the form.
    ["id_date_from", "id_date_to"].forEach(function (id) {
      var input = document.getElementById(id);
      if (input) input.addEventListener("change", function () {
        var period = document.getElementById("id_period");
        if (period) period.value = "custom";
      });
    });
  });
  // outerHTML swaps replace the panels: draw whatever is in the page now.
  document.body.addEventListener("htmx:afterSettle", function () { draw(document); });
  document.body.addEventListener("htmx:historyRestore", function () { draw(document); });
})();
