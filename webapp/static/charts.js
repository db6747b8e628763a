// The charts of a page, drawn with Chart.js (and its graph plugin for networks) from the JSON
// each chart section holds (webapp/templates/chart_macros.html). The table beside it holds
// the same data; once the chart is drawn, the table folds away behind its "Data" summary.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }  // no library: the tables stay the charts
  var INK = "#1d5a85";
  var LINE = "#7b9bb3";
  Chart.defaults.animation = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#333";

  function yearsFilled(data) {  // every year from the first to the last, 0 where none
    var counts = {};
    data.labels.forEach(function (label, index) { counts[label] = data.values[index]; });
    var first = Number(data.labels[0]), last = Number(data.labels[data.labels.length - 1]);
    var labels = [], values = [];
    for (var year = first; year <= last; year++) {
      labels.push(String(year));
      values.push(counts[String(year)] || 0);
    }
    return { labels: labels, values: values };
  }

  function follow(data) {  // a bar with a link opens it
    return function (event, elements) {
      var href = elements.length ? data.hrefs[elements[0].index] : null;
      if (href) { window.location.assign(href); }
    };
  }

  function shortLabel(value) {  // a long name cut on the axis (whole in the tooltip)
    var label = this.getLabelForValue(value);
    return label.length > 26 ? label.slice(0, 25) + "…" : label;
  }

  function bars(canvas, data) {
    var years = data.kind === "years";
    var shown = years ? yearsFilled(data) : { labels: data.labels, values: data.values };
    return new Chart(canvas, {
      type: "bar",
      data: { labels: shown.labels,
              datasets: [{ label: data.title, data: shown.values, backgroundColor: INK }] },
      options: {
        indexAxis: years ? "x" : "y", maintainAspectRatio: false,
        onClick: years ? undefined : follow(data),
        plugins: { legend: { display: false } },
        scales: years ? { y: { beginAtZero: true, ticks: { precision: 0 } } }
          : { x: { beginAtZero: true, ticks: { precision: 0 } },
              y: { ticks: { callback: shortLabel } } }
      }
    });
  }

  var nodeLabels = {  // a network's names beside its nodes
    id: "policykgNodeLabels",
    afterDatasetsDraw: function (chart) {
      var context = chart.ctx;
      context.save();
      context.font = "11px " + Chart.defaults.font.family;
      context.fillStyle = "#222";
      chart.getDatasetMeta(0).data.forEach(function (point, index) {
        var right = point.x > chart.width / 2;  // names run inwards: they stay on the canvas
        context.textAlign = right ? "right" : "left";
        context.fillText(chart.data.labels[index], point.x + (right ? -8 : 8), point.y - 6);
      });
      context.restore();
    }
  };

  function network(canvas, data) {
    var names = [], index = {}, weight = {};
    data.links.forEach(function (link) {
      [link[0], link[1]].forEach(function (name) {
        if (!(name in index)) { index[name] = names.length; names.push(name); weight[name] = 0; }
        weight[name] += link[2];
      });
    });
    return new ChartGraphs.ForceDirectedGraphChart(canvas, {
      data: {
        labels: names,
        datasets: [{
          data: names.map(function () { return {}; }),
          edges: data.links.map(function (link) {
            return { source: index[link[0]], target: index[link[1]], width: link[2] };
          }),
          pointBackgroundColor: INK, pointBorderColor: INK,
          pointRadius: names.map(function (name) { return Math.min(12, 3 + weight[name]); }),
          lineBorderColor: LINE,
          lineBorderWidth: function (context) {
            return Math.min(6, context.raw && context.raw.width ? context.raw.width : 1);
          }
        }]
      },
      options: { maintainAspectRatio: false, layout: { padding: 24 },
                 plugins: { legend: { display: false } } },
      plugins: [nodeLabels]
    });
  }

  for (var section of document.querySelectorAll("[data-chart]")) {
    var data = JSON.parse(section.querySelector("script.chart-json").textContent);
    var figure = document.createElement("figure");
    figure.className = "chart-area chart-area-" + data.kind;
    if (data.kind === "bars") { figure.style.height = (3 + 1.6 * data.labels.length) + "rem"; }
    var canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", data.summary);
    figure.appendChild(canvas);
    section.querySelector("h1, h2, h3, h4").after(figure);
    (data.kind === "network" ? network : bars)(canvas, data);
    section.querySelector("details.chart-data").open = false;
  }
})();
