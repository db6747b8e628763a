// A "Chart" view of YASR (the SPARQL page's results), drawn in the browser with Chart.js: a
// bar a row, its length the first numeric column, its name the first other column. Offered
// when a result table has a numeric column; the table view shows the same rows.
(function () {
  "use strict";
  if (typeof Yasgui === "undefined" || typeof Chart === "undefined") { return; }
  var MAX_BARS = 200;
  var NUMERIC = /#(integer|decimal|double|float|long|int|short|byte|nonNegativeInteger|positiveInteger|unsignedInt|unsignedLong)$/;

  function numeric(cell) {
    return Boolean(cell) && cell.type === "literal" && NUMERIC.test(cell.datatype || "");
  }

  function shown(cell) {  // what a cell is called: a literal's text, an IRI's last step
    if (!cell) { return ""; }
    if (cell.type === "uri") { return decodeURIComponent(cell.value.replace(/.*[/#]/, "")); }
    return cell.value;
  }

  function columns(results) {  // {count, label}: the variables drawn, or null
    var variables = results.getVariables() || [];
    var rows = results.getBindings() || [];
    if (!rows.length) { return null; }
    var count = variables.find(function (name) { return rows.every(function (row) {
      return !row[name] || numeric(row[name]);
    }) && rows.some(function (row) { return numeric(row[name]); }); });
    if (!count) { return null; }
    var label = variables.find(function (name) { return name !== count; }) || null;
    return { count: count, label: label, rows: rows.slice(0, MAX_BARS), total: rows.length };
  }

  function ResultChart(yasr) {
    this.yasr = yasr;
    this.priority = 2;  // below the table: the table stays the view a result opens in
    this.label = "Chart";
    this.chart = null;
  }
  ResultChart.prototype.canHandleResults = function () {
    return Boolean(this.yasr.results && this.yasr.results.getBindings && columns(this.yasr.results));
  };
  ResultChart.prototype.getIcon = function () {
    var icon = document.createElement("span");
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = "▮";
    return icon;
  };
  ResultChart.prototype.destroy = function () {
    if (this.chart) { this.chart.destroy(); this.chart = null; }
  };
  ResultChart.prototype.draw = function () {
    this.destroy();
    var drawn = columns(this.yasr.results);
    var figure = document.createElement("figure");
    figure.className = "sparql-chart";
    figure.style.position = "relative";
    figure.style.height = "24rem";
    var canvas = document.createElement("canvas");
    var labels = drawn.rows.map(function (row, index) {
      return drawn.label ? shown(row[drawn.label]) : String(index + 1);
    });
    var values = drawn.rows.map(function (row) { return row[drawn.count] ? Number(row[drawn.count].value) : 0; });
    var said = "Bar chart of ?" + drawn.count + (drawn.label ? " by ?" + drawn.label : "") + ", " +
      drawn.rows.length + " of " + drawn.total + " rows; the Table view shows them as a table.";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", said);
    figure.appendChild(canvas);
    var caption = document.createElement("figcaption");
    caption.textContent = said;
    figure.appendChild(caption);
    this.yasr.resultsEl.appendChild(figure);
    this.chart = new Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: [{ label: "?" + drawn.count, data: values, backgroundColor: "#1d5a85" }] },
      options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } } }
    });
  };
  Yasgui.Yasr.registerPlugin("chart", ResultChart);
})();
