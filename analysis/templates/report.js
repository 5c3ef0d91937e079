// The report's behaviour: draw the figures, list a clicked cell's trials, open a trial.
// Every value from the data goes into the page as text (textContent), never as markup.
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var CONFIG = { displaylogo: false, responsive: true };
  var drawer = document.getElementById("drawer");

  function element(tag, text, attributes) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    Object.keys(attributes || {}).forEach(function (k) { node.setAttribute(k, attributes[k]); });
    return node;
  }

  // Hover markup for a cell, from its entry in DATA.cells: one copy of each text serves
  // both maps. Values are escaped, since plotly reads hover text as markup.
  function escaped(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function cellHover(index) {
    var cell = DATA.cells[index];
    if (!cell) return null;
    var shown = cell.ids.slice(0, 3).join(", ") + (cell.trials > 3 ? ", ..." : "");
    return "<b>" + escaped(cell.name) + "</b>  " + escaped(cell.where) + "<br>" +
      escaped(cell.mix) + "<br>" + escaped(cell.converged) + "<br>trials: " + escaped(shown) +
      " (click the cell to list them)";
  }

  function cellHovers(figure) {
    figure.data.forEach(function (trace) {
      if (trace.meta !== "cells") return;
      trace.hovertext = trace.customdata.map(function (entry) {
        return Array.isArray(entry) ? entry.map(cellHover) : cellHover(entry);
      });
    });
  }

  function draw(id, figure) {
    var target = document.getElementById(id);
    if (!target || !figure) return null;
    cellHovers(figure);
    Plotly.newPlot(target, figure.data, figure.layout, CONFIG);
    return target;
  }

  function onCellClick(plot) {
    if (!plot) return;
    plot.on("plotly_click", function (event) {
      var point = event.points[0];
      var index = Array.isArray(point.customdata) ? point.customdata[0] : point.customdata;
      if (index !== undefined && index !== null && index >= 0) showCell(index);
    });
  }

  function trialButton(id) {
    var detail = DATA.details[id];
    var text = detail ? id + " (" + detail.label + ")" : id;
    var button = element("button", text, { "class": "trial", "data-trial": id });
    button.addEventListener("click", function () { showTrial(id); });
    return button;
  }

  function showCell(index) {
    var cell = DATA.cells[index];
    var box = document.getElementById("cell");
    box.replaceChildren();
    box.appendChild(element("h3", "Cell: " + cell.where));
    box.appendChild(element("p", cell.name + ": " + cell.mix + "; " + cell.converged));
    var list = element("p");
    cell.ids.forEach(function (id) { list.appendChild(trialButton(id)); });
    box.appendChild(list);
    if (cell.trials > cell.ids.length) {
      box.appendChild(element("p", (cell.trials - cell.ids.length) + " more trials in this cell " +
        "are not listed (the report bounds the ids it embeds)"));
    }
    var trial = document.getElementById("trial");
    trial.replaceChildren();
    delete trial.dataset.trial;
    drawer.classList.add("open");
    drawer.scrollTop = 0;
  }

  function showTrial(id) {
    var box = document.getElementById("trial");
    box.replaceChildren();
    drawer.classList.add("open");
    var detail = DATA.details[id];
    box.dataset.trial = id;
    box.appendChild(element("h3", "Trial " + id));
    if (!detail) {
      box.appendChild(element("p", "This trial's curves and samples are not embedded in the " +
        "report (it embeds " + DATA.embedded + " of " + DATA.trials + " trials). Train it again " +
        "with" + (DATA.reproduce.length > 1 ? " the line for the folder that holds it:" : ":")));
      DATA.reproduce.forEach(function (command) {
        box.appendChild(element("pre", command.replace("TRIAL_ID", id), { "class": "command" }));
      });
      return;
    }
    var kind = detail.collapse_kind ? " (" + detail.collapse_kind + ")" : "";
    var round = detail.round === null || detail.round === undefined ? "" :
      "; proposed in boundary round " + detail.round;
    box.appendChild(element("p", "label: " + detail.label + kind + ", confidence " +
      detail.confidence + (detail.stopped ? "; " + detail.stopped : "") + round));
    box.appendChild(element("p", "reason: " + detail.reason));
    box.appendChild(element("p", "train it again:"));
    box.appendChild(element("pre", detail.commands.from, { "class": "command" }));
    box.appendChild(element("pre", detail.commands.set, { "class": "command" }));
    samplesPlot(box, detail);
    curvePlots(box, detail);
    var settings = Object.keys(detail.config).map(function (k) { return k + "=" + detail.config[k]; });
    box.appendChild(element("p", "configuration: " + settings.join(", "), { "class": "note" }));
  }

  function plotBox(box, height) {
    var div = element("div", null, { "class": "plot" });
    div.style.height = height + "px";
    box.appendChild(div);
    return div;
  }

  function layout(title, extra) {
    var base = { title: { text: title, font: { size: 13 } }, margin: { l: 55, r: 10, t: 35, b: 40 },
      template: "simple_white", showlegend: true, legend: { font: { size: 10 } } };
    return Object.assign(base, extra || {});
  }

  function samplesPlot(box, detail) {
    var colour = DATA.colours[detail.label];
    var s = detail.samples, m = detail.modes, h = detail.history;
    if (s.images) return digitsPlot(box, s.images);
    if (m.extent && detail.config.problem === "dirac" && h.theta) {
      var orbit = { x: h.theta, y: h.psi, mode: "lines+markers", name: "(theta, psi) over training",
        marker: { size: 3, color: colour }, line: { color: colour } };
      var eq = { x: [0], y: [0], mode: "markers", name: "equilibrium",
        marker: { symbol: "x", size: 12, color: "#000" } };
      return Plotly.newPlot(plotBox(box, 380), [orbit, eq], layout("Dirac-GAN: (theta, psi), fixed axes", square(m.extent)), CONFIG);
    }
    if (!s.x) return;
    var points = { x: s.x, y: s.y, mode: "markers", name: "final samples",
      marker: { size: 4, color: colour, opacity: 0.7 }, type: "scattergl" };
    var modes = { x: m.x, y: m.y, mode: "markers", name: "true modes",
      marker: { symbol: "x-thin-open", size: 12, color: "#000", line: { width: 2 } } };
    Plotly.newPlot(plotBox(box, 420), [points, modes],
      layout("Final samples over the true modes (fixed axes)", square(m.extent)), CONFIG);
  }

  function square(extent) {
    var range = extent ? [-extent, extent] : undefined;
    return { xaxis: { range: range, zeroline: false }, yaxis: { range: range, scaleanchor: "x", zeroline: false } };
  }

  function digitsPlot(box, images) {
    var columns = 4, rows = Math.ceil(images.length / columns), size = 9;
    var z = [];
    for (var r = 0; r < rows * size; r++) z.push(new Array(columns * size).fill(null));
    images.forEach(function (pixels, i) {
      var top = Math.floor(i / columns) * size, left = (i % columns) * size;
      for (var p = 0; p < 64; p++) z[top + Math.floor(p / 8)][left + (p % 8)] = pixels[p];
    });
    var trace = { z: z, type: "heatmap", colorscale: "Greys", showscale: false, zmin: 0, zmax: 255,
      hoverinfo: "skip" };
    Plotly.newPlot(plotBox(box, 380), [trace], layout("Generated digits (final)", {
      xaxis: { visible: false }, yaxis: { visible: false, autorange: "reversed", scaleanchor: "x" } }), CONFIG);
  }

  function line(h, name, label, extra) {
    return Object.assign({ x: h.step, y: h[name], mode: "lines", name: label || name }, extra || {});
  }

  function curvePlots(box, detail) {
    var h = detail.history;
    if (!h.step) return;
    var steps = { xaxis: { title: { text: "generator step" } } };
    Plotly.newPlot(plotBox(box, 230), [line(h, "loss_d", "D loss"), line(h, "loss_g", "G loss")],
      layout("Losses", steps), CONFIG);
    Plotly.newPlot(plotBox(box, 230), [line(h, "grad_norm_d", "D gradient norm"),
      line(h, "grad_norm_g", "G gradient norm")],
      layout("Gradient norms", Object.assign({ yaxis: { type: "log" } }, steps)), CONFIG);
    var quality = [];
    if (h.high_quality) quality.push(line(h, "high_quality", "high-quality share"));
    if (h.modes_held && h.n_modes) {
      var held = h.modes_held.map(function (v, i) { return v === null ? null : v / h.n_modes[i]; });
      quality.push(Object.assign(line(h, "modes_held"), { y: held, name: "modes held (share)" }));
    }
    if (h.dist_equilibrium) quality.push(line(h, "dist_equilibrium", "distance to equilibrium"));
    if (quality.length) Plotly.newPlot(plotBox(box, 230), quality, layout("Quality and coverage", steps), CONFIG);
    if (h.mode_mass) {
      var mass = h.mode_mass.map(function (share, k) {
        return { x: h.step, y: share, mode: "lines", stackgroup: "mass", name: "mode " + k, line: { width: 0.5 } };
      });
      Plotly.newPlot(plotBox(box, 260), mass, layout("Mode mass over time (share of samples per mode)",
        Object.assign({ showlegend: false, yaxis: { range: [0, 1] } }, steps)), CONFIG);
    }
    var movement = [];
    if (h.sample_drift) movement.push(line(h, "sample_drift", "sample drift"));
    if (h.mass_shift) movement.push(line(h, "mass_shift", "mass shift"));
    if (movement.length) Plotly.newPlot(plotBox(box, 230), movement, layout("Movement", steps), CONFIG);
  }

  onCellClick(draw("label-map", DATA.figures.label_map));
  onCellClick(draw("converged-map", DATA.figures.converged_map));
  draw("importance", DATA.figures.importance);
  draw("parallel", DATA.figures.parallel);
  document.querySelectorAll("main button.trial").forEach(function (button) {
    button.addEventListener("click", function () {
      document.getElementById("cell").replaceChildren();
      showTrial(button.dataset.trial);
    });
  });
  document.getElementById("close").addEventListener("click", function () { drawer.classList.remove("open"); });
  document.body.dataset.ready = "yes";
})();
