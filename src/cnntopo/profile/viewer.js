// The profile viewer: one row per profiled image (input, profile graph, persistence diagram,
// persistence image), grouped by class, filtered by model, neuron kind and class; above them
// the class-by-class Jaccard heatmap and the mean persistence image of each class.
// All data is in the page (no network); everything is drawn on canvases. At scale (tens of thousands
// of rows) each model's thumbnails and each kind's rows are parsed when first shown, and only the rows
// near the window are in the document (a virtual list of absolutely placed items).
"use strict";
const DATA = JSON.parse(document.getElementById("profile-data").textContent);
const $ = (id) => document.getElementById(id);
const parsed = {};
const block = (id) => (id in parsed ? parsed[id] : (parsed[id] = JSON.parse($(id).textContent)));

// viridis-like ramp, t in [0, 1], as [r, g, b] and as a CSS colour
function rgb(t) {
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.min(0.9999, Math.max(0, t)) * (stops.length - 1);
  const i = Math.floor(x), f = x - i;
  return stops[i].map((v, k) => Math.round(v + f * (stops[i + 1][k] - v)));
}
const colour = (t) => `rgb(${rgb(t).join(",")})`;

// A canvas of width x height CSS pixels, backed by that many device pixels (sharp at any pixel ratio);
// its drawing functions work in CSS pixels (c.w, c.h) through pen(c).
function canvas(width, height, title) {
  const c = document.createElement("canvas"), ratio = window.devicePixelRatio || 1;
  c.w = width; c.h = height; c.title = title || "";
  c.width = Math.round(width * ratio); c.height = Math.round(height * ratio);
  c.style.width = `${width}px`; c.style.height = `${height}px`;
  return c;
}

function pen(c) {
  const g = c.getContext("2d"), ratio = c.width / c.w;
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  return g;
}

// A number for an axis or a colour bar: 3 significant digits.
const tick = (x) => Number(x.toPrecision(3)).toString();

// A vertical colour bar from 0 (bottom) to vmax (top), labelled at both ends.
function colourBar(height, vmax, title) {
  const c = canvas(46, height, title), g = pen(c), top = 8, bottom = height - 8;
  for (let y = top; y < bottom; y++) { g.fillStyle = colour((bottom - y) / (bottom - top)); g.fillRect(2, y, 10, 1); }
  g.fillStyle = "#333"; g.font = "9px sans-serif";
  g.fillText(tick(vmax), 14, top + 6); g.fillText("0", 14, bottom);
  return c;
}

// graph.layers: [layer, neurons] pairs; vertices are numbered layer by layer, spread evenly in height.
function drawGraph(c, graph, nLayers) {
  const g = pen(c), xs = [], ys = [];
  g.fillStyle = "#fff"; g.fillRect(0, 0, c.w, c.h);
  for (const [layer, count] of graph.layers) {
    for (let k = 0; k < count; k++) {
      xs.push(8 + (layer / Math.max(1, nLayers - 1)) * (c.w - 16));
      ys.push(c.h - 8 - (count === 1 ? 0.5 : k / (count - 1)) * (c.h - 16));
    }
  }
  g.strokeStyle = "rgba(80,80,80,0.35)"; g.lineWidth = 0.6;
  g.beginPath();
  for (let i = 0; i < graph.e.length; i += 2) {
    const a = graph.e[i], b = graph.e[i + 1];
    g.moveTo(xs[a], ys[a]); g.lineTo(xs[b], ys[b]);
  }
  g.stroke();
  g.fillStyle = "#c0392b";
  xs.forEach((x, k) => { g.beginPath(); g.arc(x, ys[k], 1.6, 0, 2 * Math.PI); g.fill(); });
  g.fillStyle = "#555"; g.font = "9px sans-serif";
  g.fillText("input", 2, c.h - 1); g.fillText("logits", c.w - 28, c.h - 1);
}

function drawDiagram(c, dgm, top) {
  const g = pen(c);
  g.fillStyle = "#fff"; g.fillRect(0, 0, c.w, c.h);
  const s = (x) => 14 + (x / top) * (c.w - 24);
  const y = (x) => c.h - 12 - (x / top) * (c.h - 22);
  g.strokeStyle = "#999"; g.beginPath(); g.moveTo(s(0), y(0)); g.lineTo(s(top), y(top)); g.stroke();
  g.strokeStyle = "#ccc"; g.setLineDash([3, 3]); g.beginPath(); g.moveTo(s(0), y(top)); g.lineTo(s(top), y(top)); g.stroke();
  g.setLineDash([]);
  const dot = (b, d, fill) => { g.fillStyle = fill; g.beginPath(); g.arc(s(b), y(Math.min(d, top)), 2.4, 0, 2 * Math.PI); g.fill(); };
  for (const d of dgm.h0) dot(0, d === null ? top : d, "rgba(31,119,180,0.7)");
  for (const [b, d] of dgm.h1) dot(b, d, "rgba(214,39,40,0.85)");
  g.fillStyle = "#555"; g.font = "9px sans-serif";
  // Axis values: 0 at the origin, the common top of every diagram of this kind at both axes' ends.
  g.fillText("0", s(0) - 8, c.h - 2); g.fillText(tick(top), s(top) - 14, c.h - 2); g.fillText(tick(top), 1, y(top) + 3);
  g.fillText("birth", c.w / 2 - 10, c.h - 2); g.fillText("death", 16, 9);
}

function drawImage(c, values, shape, vmax) {
  // values: flattened (birth, persistence) pixels; persistence upward.
  const g = pen(c);
  const [nb, np] = shape, w = c.w / nb, h = c.h / np;
  for (let i = 0; i < nb; i++) for (let j = 0; j < np; j++) {
    g.fillStyle = colour(vmax > 0 ? values[i * np + j] / vmax : 0);
    g.fillRect(i * w, c.h - (j + 1) * h, w + 0.5, h + 0.5);
  }
}

// The colour scale is set by the off-diagonal entries (a class against another); the diagonal, a class
// profile against itself (1.00), is drawn grey so that it does not swamp them. Up to 30 classes each
// cell is labelled with its value; beyond, the matrix is drawn as one image, a pixel per pair of classes
// scaled to the canvas. Returns the scale's top.
function drawHeatmap(c, matrix, names) {
  const g = pen(c), n = matrix.length, labelled = n <= 30, m = labelled ? 22 : 2, cell = (c.w - m) / n;
  let vmax = 1e-9;
  matrix.forEach((row, a) => row.forEach((v, b) => { if (a !== b && Number.isFinite(v) && v > vmax) vmax = v; }));
  g.fillStyle = "#fff"; g.fillRect(0, 0, c.w, c.h);
  if (!labelled) {
    const pixels = new ImageData(n, n);
    matrix.forEach((row, a) => row.forEach((v, b) => {
      pixels.data.set(a === b ? [187, 187, 187, 255] : [...rgb(v / vmax), 255], 4 * (a * n + b));
    }));
    const off = document.createElement("canvas"); off.width = n; off.height = n;
    off.getContext("2d").putImageData(pixels, 0, 0);
    g.imageSmoothingEnabled = false; g.drawImage(off, m, m, c.w - m, c.w - m);
    return vmax;
  }
  g.font = "9px sans-serif";
  for (let a = 0; a < n; a++) {
    g.fillStyle = "#333"; g.fillText(names[a], 2, m + (a + 0.65) * cell); g.fillText(names[a], m + (a + 0.3) * cell, 12);
    for (let b = 0; b < n; b++) {
      const t = matrix[a][b] / vmax;
      g.fillStyle = a === b ? "#bbb" : colour(t); g.fillRect(m + b * cell, m + a * cell, cell - 1, cell - 1);
      g.fillStyle = a === b || t > 0.6 ? "#000" : "#fff";
      g.fillText(matrix[a][b].toFixed(2), m + b * cell + 2, m + (a + 0.65) * cell);
    }
  }
  return vmax;
}

function option(select, value, label) {
  const o = document.createElement("option"); o.value = value; o.textContent = label; select.appendChild(o);
}

function setup() {
  for (const model of Object.keys(DATA.models)) option($("model"), model, model);
  for (const kind of DATA.kinds) option($("kind"), kind, kind);
  for (const id of ["kind", "class", "wrong"]) $(id).addEventListener("change", render);
  $("model").addEventListener("change", () => { classMenu(); render(); });
  let pending = false;
  const later = () => { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; place(); }); } };
  window.addEventListener("scroll", later, { passive: true });
  window.addEventListener("resize", later);
  classMenu();
  render();
}

// Each model has its own image folders (a torchvision entry its own tree): the class menu follows the model.
function classMenu() {
  const menu = $("class"); menu.replaceChildren();
  option(menu, "all", "all classes");
  DATA.models[$("model").value].classes.forEach((name, i) => option(menu, String(i), name));
}

// A kind's rows by class label, and its heatmap: made when the kind is first shown.
function prepared(entry, labels, classes) {
  if (!entry.groups) {
    entry.groups = new Map();
    for (const r of entry.rows) {
      const label = labels[r.image];
      if (!entry.groups.has(label)) entry.groups.set(label, []);
      entry.groups.get(label).push(r);
    }
    entry.heat = canvas(300, 300, "class-by-class Jaccard index of the class profiles' neuron sets");
    entry.heatTop = drawHeatmap(entry.heat, entry.jaccard, classes);
  }
  return entry;
}

// The virtual list: every heading and row of the current filter with its place (top, height in CSS
// pixels); `place` builds those within BUFFER pixels of the window and drops the others.
const HEADING = 40, BUFFER = 800;
let list = { items: [], built: new Map() };

function render() {
  const model = DATA.models[$("model").value];
  const kind = $("kind").value, only = $("class").value, wrongOnly = $("wrong").checked;
  $("wrong").disabled = !model.outputs_are_classes;  // enum-named outputs (ImageNet's) are not the folders'
  const misclassified = (image) => model.outputs_are_classes && model.predictions[image] !== model.labels[image];
  const summary = $("summary"); summary.replaceChildren();
  const rows = $("rows"); rows.replaceChildren(); rows.style.height = "0px";
  list = { items: [], built: new Map() };
  if (!model.kinds[kind]) { summary.textContent = `no ${kind} profiles for this model`; $("count").textContent = "0 images"; return; }
  const entry = prepared(block(model.kinds[kind]), model.labels, model.classes);
  const box = document.createElement("div"); box.className = "panel";
  box.innerHTML = `<h3>Class profiles: Jaccard index (${kind})</h3>`; box.appendChild(entry.heat);
  box.appendChild(colourBar(300, entry.heatTop, "colour scale of the off-diagonal entries (the grey diagonal is 1)"));
  if (model.classes.length > 30) {
    const axes = document.createElement("p");
    axes.textContent = `${model.classes.length} classes in the class menu's order, the first at the top left.`;
    box.appendChild(axes);
  }
  summary.appendChild(box);
  if (entry.mean_images) {
    // Every class's mean image up to 24 classes; beyond, the chosen class's alone.
    const classes = (only !== "all" ? [Number(only)] : model.classes.length <= 24 ? model.classes.map((_, i) => i) : [])
      .filter((i) => i < entry.mean_images.length);  // the means stop at the largest label profiled
    const means = document.createElement("div"); means.className = "panel";
    means.innerHTML = `<h3>Mean H1 persistence image per class</h3>`;
    if (!classes.length) means.append(`${model.classes.length} classes: choose one above to see its mean image.`);
    for (const i of classes) {
      const fig = document.createElement("figure"); const c = canvas(70, 70, model.classes[i]);
      drawImage(c, entry.mean_images[i], DATA.grid.shape, entry.image_max); fig.appendChild(c);
      const cap = document.createElement("figcaption"); cap.textContent = model.classes[i]; fig.appendChild(cap);
      means.appendChild(fig);
    }
    means.appendChild(colourBar(90, entry.image_max, "colour scale of every persistence image of this kind"));
    summary.appendChild(means);
  }
  const groups = entry.groups, graphs = entry.rows.filter((r) => r.graph);
  if (graphs.length && graphs.every((r) => r.h1 === 0)) {
    // A graph without a cycle has no H1: its diagram holds H0 alone and its persistence image is blank.
    let fewest = Infinity, most = 0;
    for (const r of graphs) { fewest = Math.min(fewest, r.neurons); most = Math.max(most, r.neurons); }
    const note = document.createElement("p"); note.className = "note";
    note.textContent = `No ${kind} profile graph of this model has a cycle, so none has H1 points and their ` +
      `persistence images are blank. These graphs hold ${fewest}-${most} neurons` +
      (kind === "spatial" ? ": a spatial profile keeps about one position per layer, a path from the input to the logit." : ".");
    summary.appendChild(note);
  }
  const height = graphs.length ? 122 : 76;
  let top = 0, shown = 0, wrong = 0;
  model.classes.forEach((name, label) => {
    if (only !== "all" && Number(only) !== label) return;
    const members = (groups.get(label) || []).filter((r) => !wrongOnly || misclassified(r.image));
    if (!members.length) return;
    list.items.push({ top, height: HEADING, heading: `${name} (${members.length} images)` });
    top += HEADING;
    for (const r of members) {
      list.items.push({ top, height, row: r });
      top += height;
      wrong += misclassified(r.image);
    }
    shown += members.length;
  });
  Object.assign(list, { model, entry, misclassified, thumbnails: block(model.thumbnails) });
  rows.style.height = `${top}px`;
  rows.dataset.rows = shown; rows.dataset.misclassified = wrong;
  $("count").textContent = `${shown} images`;
  place();
}

function place() {
  const rows = $("rows"), items = list.items, origin = rows.getBoundingClientRect().top;
  const low = -origin - BUFFER, high = -origin + window.innerHeight + BUFFER;
  let a = 0, b = items.length;  // the first item that ends below `low`
  while (a < b) { const mid = (a + b) >> 1; if (items[mid].top + items[mid].height <= low) a = mid + 1; else b = mid; }
  const wanted = new Set();
  for (let i = a; i < items.length && items[i].top < high; i++) wanted.add(i);
  for (const [i, element] of list.built) if (!wanted.has(i)) { element.remove(); list.built.delete(i); }
  for (const i of wanted) {
    if (list.built.has(i)) continue;
    const element = items[i].row ? buildRow(items[i].row) : document.createElement("h2");
    if (!items[i].row) element.textContent = items[i].heading;
    element.classList.add("item");
    element.style.top = `${items[i].top}px`; element.style.height = `${items[i].height}px`;
    list.built.set(i, element); rows.appendChild(element);
  }
}

function buildRow(r) {
  const { model, entry, misclassified } = list;
  const row = document.createElement("div"); row.className = misclassified(r.image) ? "row misclassified" : "row";
  row.dataset.image = r.image;
  const img = document.createElement("img"); img.src = list.thumbnails[r.image]; img.className = "input";
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
  if (misclassified(r.image)) {
    const wrong = document.createElement("span"); wrong.className = "wrong"; wrong.textContent = " (misclassified)";
    text.append(wrong);
  }
  const lines = [`${r.neurons} neurons`, `${r.synapses} synapses`];
  if (r.graph) lines.push(`${r.h1} H1 points`, `${r.components} components`);
  for (const line of lines) text.append(document.createElement("br"), line);
  row.appendChild(text);
  return row;
}

setup();
document.body.dataset.ready = "true";
