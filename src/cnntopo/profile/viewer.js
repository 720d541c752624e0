// The profile viewer: one row per profiled image (input, profile graph, persistence diagram,
// persistence image), grouped by class, filtered by model, neuron kind and class; above them
// the class-by-class Jaccard heatmap and the mean persistence image of each class.
// All data is in the page (no network); everything is drawn on canvases.
"use strict";
const DATA = JSON.parse(document.getElementById("profile-data").textContent);
const $ = (id) => document.getElementById(id);

function colour(t) {
  // viridis-like ramp, t in [0, 1]
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.min(0.9999, Math.max(0, t)) * (stops.length - 1);
  const i = Math.floor(x), f = x - i;
  const c = stops[i].map((v, k) => Math.round(v + f * (stops[i + 1][k] - v)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function canvas(width, height, title) {
  const c = document.createElement("canvas");
  c.width = width; c.height = height; c.title = title || "";
  return c;
}

function drawGraph(c, graph, nLayers) {
  const g = c.getContext("2d");
  g.fillStyle = "#fff"; g.fillRect(0, 0, c.width, c.height);
  const px = (v) => 8 + (v[0] / Math.max(1, nLayers - 1)) * (c.width - 16);
  const py = (v) => c.height - 8 - v[1] * (c.height - 16);
  g.strokeStyle = "rgba(80,80,80,0.35)"; g.lineWidth = 0.6;
  g.beginPath();
  for (const [a, b] of graph.e) {
    g.moveTo(px(graph.v[a]), py(graph.v[a])); g.lineTo(px(graph.v[b]), py(graph.v[b]));
  }
  g.stroke();
  g.fillStyle = "#c0392b";
  for (const v of graph.v) { g.beginPath(); g.arc(px(v), py(v), 1.6, 0, 2 * Math.PI); g.fill(); }
  g.fillStyle = "#555"; g.font = "9px sans-serif";
  g.fillText("input", 2, c.height - 1); g.fillText("logits", c.width - 28, c.height - 1);
}

function drawDiagram(c, dgm, top) {
  const g = c.getContext("2d");
  g.fillStyle = "#fff"; g.fillRect(0, 0, c.width, c.height);
  const s = (x) => 10 + (x / top) * (c.width - 20);
  const y = (x) => c.height - 10 - (x / top) * (c.height - 20);
  g.strokeStyle = "#999"; g.beginPath(); g.moveTo(s(0), y(0)); g.lineTo(s(top), y(top)); g.stroke();
  g.strokeStyle = "#ccc"; g.setLineDash([3, 3]); g.beginPath(); g.moveTo(s(0), y(top)); g.lineTo(s(top), y(top)); g.stroke();
  g.setLineDash([]);
  const dot = (b, d, fill) => { g.fillStyle = fill; g.beginPath(); g.arc(s(b), y(Math.min(d, top)), 2.4, 0, 2 * Math.PI); g.fill(); };
  for (const d of dgm.h0) dot(0, d === null ? top : d, "rgba(31,119,180,0.7)");
  for (const [b, d] of dgm.h1) dot(b, d, "rgba(214,39,40,0.85)");
  g.fillStyle = "#555"; g.font = "9px sans-serif";
  g.fillText("birth", c.width - 30, c.height - 1); g.fillText("death", 1, 9);
}

function drawImage(c, values, shape, vmax) {
  // values: flattened (birth, persistence) pixels; persistence upward.
  const g = c.getContext("2d");
  const [nb, np] = shape, w = c.width / nb, h = c.height / np;
  for (let i = 0; i < nb; i++) for (let j = 0; j < np; j++) {
    g.fillStyle = colour(vmax > 0 ? values[i * np + j] / vmax : 0);
    g.fillRect(i * w, c.height - (j + 1) * h, Math.ceil(w), Math.ceil(h));
  }
}

function drawHeatmap(c, matrix, names) {
  const g = c.getContext("2d"), n = matrix.length, m = 22, cell = (c.width - m) / n;
  g.fillStyle = "#fff"; g.fillRect(0, 0, c.width, c.height);
  g.font = "9px sans-serif";
  for (let a = 0; a < n; a++) {
    g.fillStyle = "#333"; g.fillText(names[a], 2, m + (a + 0.65) * cell); g.fillText(names[a], m + (a + 0.3) * cell, 12);
    for (let b = 0; b < n; b++) {
      g.fillStyle = colour(matrix[a][b]); g.fillRect(m + b * cell, m + a * cell, cell - 1, cell - 1);
      g.fillStyle = matrix[a][b] > 0.6 ? "#000" : "#fff";
      g.fillText(matrix[a][b].toFixed(2), m + b * cell + 2, m + (a + 0.65) * cell);
    }
  }
}

function option(select, value, label) {
  const o = document.createElement("option"); o.value = value; o.textContent = label; select.appendChild(o);
}

function setup() {
  for (const model of Object.keys(DATA.models)) option($("model"), model, model);
  for (const kind of DATA.kinds) option($("kind"), kind, kind);
  for (const id of ["kind", "class"]) $(id).addEventListener("change", render);
  $("model").addEventListener("change", () => { classMenu(); render(); });
  classMenu();
  render();
}

// Each model has its own image folders (a torchvision entry its own tree): the class menu follows the model.
function classMenu() {
  const menu = $("class"); menu.replaceChildren();
  option(menu, "all", "all classes");
  DATA.models[$("model").value].classes.forEach((name, i) => option(menu, String(i), name));
}

function render() {
  const model = DATA.models[$("model").value];
  const kind = $("kind").value, only = $("class").value;
  const entry = model.kinds[kind];
  const summary = $("summary"); summary.innerHTML = "";
  const rows = $("rows"); rows.innerHTML = "";
  if (!entry) { summary.textContent = `no ${kind} profiles for this model`; return; }
  const heat = canvas(300, 300, "class-by-class Jaccard index of the class profiles' neuron sets");
  drawHeatmap(heat, entry.jaccard, model.classes);
  const box = document.createElement("div"); box.className = "panel";
  box.innerHTML = `<h3>Class profiles: Jaccard index (${kind})</h3>`; box.appendChild(heat); summary.appendChild(box);
  if (entry.mean_images) {
    const means = document.createElement("div"); means.className = "panel";
    means.innerHTML = `<h3>Mean H1 persistence image per class</h3>`;
    entry.mean_images.forEach((values, i) => {
      const fig = document.createElement("figure"); const c = canvas(70, 70, model.classes[i]);
      drawImage(c, values, DATA.grid.shape, entry.image_max); fig.appendChild(c);
      const cap = document.createElement("figcaption"); cap.textContent = model.classes[i]; fig.appendChild(cap);
      means.appendChild(fig);
    });
    summary.appendChild(means);
  }
  let shown = 0;
  model.classes.forEach((name, label) => {
    if (only !== "all" && Number(only) !== label) return;
    const members = entry.rows.filter((r) => model.labels[r.image] === label);
    if (!members.length) return;
    const head = document.createElement("h2"); head.textContent = `${name} (${members.length} images)`; rows.appendChild(head);
    for (const r of members) {
      const row = document.createElement("div"); row.className = "row"; row.dataset.image = r.image;
      const img = document.createElement("img"); img.src = model.thumbnails[r.image]; img.className = "input";
      const predicted = model.prediction_classes[model.predictions[r.image]];
      img.title = `test image ${model.index[r.image]}, predicted ${predicted}`;
      row.appendChild(img);
      if (r.graph) {
        const gc = canvas(260, 110, "profile graph: layers left (input) to right (logits)"); drawGraph(gc, r.graph, model.layers); row.appendChild(gc);
        const dc = canvas(110, 110, "persistence diagram: H0 blue, H1 red"); drawDiagram(dc, r.dgm, entry.diagram_max); row.appendChild(dc);
        const pc = canvas(110, 110, "H1 persistence image (birth across, persistence up)"); drawImage(pc, r.image_values, DATA.grid.shape, entry.image_max); row.appendChild(pc);
      }
      // Built from text nodes: a class name (a folder's, the user's) is never read as markup.
      const text = document.createElement("div"); text.className = "numbers";
      const name = document.createElement("b"); name.textContent = predicted;
      text.append("predicted ", name);
      const lines = [`${r.neurons} neurons`, `${r.synapses} synapses`];
      if (r.graph) lines.push(`${r.h1} H1 points`, `${r.components} components`);
      for (const line of lines) text.append(document.createElement("br"), line);
      row.appendChild(text); rows.appendChild(row); shown += 1;
    }
  });
  $("count").textContent = `${shown} images`;
}

setup();
