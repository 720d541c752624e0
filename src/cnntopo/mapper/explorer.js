// The mapper explorer (cnntopo.mapper.explorer inlines this file). No library, no network:
// the data are the JSON of the element #data (each graph in its own element, parsed when first
// drawn); images come from the sprite's data URI.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("data").textContent);
  const SVG_NS = "http://www.w3.org/2000/svg";
  const SIZE = 800; // the layout's [-1, 1] square is drawn in a SIZE x SIZE user space
  const THUMB = 64;
  const view = document.getElementById("view");
  const scene = document.getElementById("scene");
  const view2 = document.getElementById("view2"); // the graph shown beside it, if any
  const scene2 = document.getElementById("scene2");
  let compared = null;
  for (const svg of [view, view2]) svg.setAttribute("viewBox", `0 0 ${SIZE} ${SIZE}`);
  const tooltip = document.getElementById("tooltip");
  const select = document.getElementById("graph");
  const shownClasses = new Set(DATA.classes.map((_, i) => String(i)));
  let current = null;
  let selected = null;
  let transform = { k: 1, x: 0, y: 0 };
  const ZOOM = [0.25, 40]; // beyond these a graph is a dot or one glyph fills the pane
  const PAGE = 12; // thumbnails per page of a node's members
  let dragMoved = false; // the last press moved the view: its click is not a selection

  const colour = (label) => DATA.palette[Number(label)] ?? "#888";
  const className = (label) => DATA.classes[Number(label)] ?? String(label);
  const fmt = (v, digits = 3) => (typeof v === "number" ? Number(v.toPrecision(digits)) : v);
  const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;" })[c]);

  function el(name, attrs) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  }

  function position(node) {
    return [SIZE / 2 + (SIZE / 2 - 40) * node.x, SIZE / 2 + (SIZE / 2 - 40) * node.y];
  }

  function radius(node, biggest) {
    return 4 + 14 * Math.sqrt(node.size / biggest);
  }

  // One path per [label, share] pair, clockwise from 12 o'clock, in the label's colour.
  function pieSlices(cx, cy, r, shares) {
    let angle = -Math.PI / 2;
    return shares.map(([label, share]) => {
      const sweep = 2 * Math.PI * share;
      const x0 = cx + r * Math.cos(angle), y0 = cy + r * Math.sin(angle);
      const x1 = cx + r * Math.cos(angle + sweep), y1 = cy + r * Math.sin(angle + sweep);
      angle += sweep;
      return el("path", { d: `M${cx},${cy} L${x0},${y0} A${r},${r} 0 ${sweep > Math.PI ? 1 : 0} 1 ${x1},${y1} Z`,
                          fill: colour(label) });
    });
  }

  // A pie chart of the node's class counts: the paper's glyph.
  function glyph(node, biggest, interactive) {
    const [cx, cy] = position(node);
    const r = radius(node, biggest);
    const g = el("g", { class: "node", "data-node": node.id, cursor: "pointer", tabindex: 0,
                        role: "button", "aria-label": `node ${node.id}, ${node.size} points` });
    const entries = Object.entries(node.counts).sort((a, b) => Number(a[0]) - Number(b[0]));
    if (entries.length === 1) {
      g.appendChild(el("circle", { cx, cy, r, fill: colour(entries[0][0]) }));
    } else {
      g.append(...pieSlices(cx, cy, r, entries.map(([label, count]) => [label, count / node.size])));
    }
    g.appendChild(el("circle", { cx, cy, r, fill: "none", stroke: "#333", "stroke-width": 0.7, class: "outline" }));
    if (!interactive) return g;
    g.addEventListener("mouseenter", (event) => showTooltip(node, event));
    g.addEventListener("mousemove", (event) => moveTooltip(event));
    g.addEventListener("mouseleave", () => { tooltip.style.display = "none"; });
    g.addEventListener("click", (event) => { event.stopPropagation(); if (!dragMoved) selectNode(node); });
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); selectNode(node); }
      const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
      if (step) {
        event.preventDefault();
        const all = [...scene.querySelectorAll("g.node")];
        all[(all.indexOf(g) + step + all.length) % all.length].focus();
      }
    });
    g.addEventListener("focus", () => g.querySelector(".outline").setAttribute("stroke-dasharray", "3 2"));
    g.addEventListener("blur", () => g.querySelector(".outline").removeAttribute("stroke-dasharray"));
    return g;
  }

  function countsText(node) {
    return Object.entries(node.counts).sort((a, b) => b[1] - a[1])
      .map(([label, count]) => `${escapeHtml(className(label))}: ${count}`).join(", ");
  }

  function showTooltip(node, event) {
    tooltip.innerHTML = `<b>node ${node.id}</b> (${node.size} points, ${node.images} images, purity ` +
      `${fmt(node.purity, 2)})<br>${countsText(node)}`;
    tooltip.style.display = "block";
    moveTooltip(event);
  }

  function moveTooltip(event) {
    const box = view.getBoundingClientRect();
    tooltip.style.left = `${event.clientX - box.left + 12}px`;
    tooltip.style.top = `${event.clientY - box.top + 12}px`;
  }

  // Both panes pan and zoom together.
  function applyTransform() {
    for (const target of [scene, scene2]) {
      target.setAttribute("transform", `translate(${transform.x},${transform.y}) scale(${transform.k})`);
    }
  }

  // [scene, graph] of every pane showing a graph.
  const panes = () => [[scene, current], ...(compared ? [[scene2, compared]] : [])];

  function draw(graph) {
    current = graph;
    selected = null;
    transform = { k: 1, x: 0, y: 0 };
    applyTransform();
    drawScene(scene, graph, true);
    const same = graph.same_as.length ? ` The same graph as ${graph.same_as.join(", ")} (the same points and ` +
      "nodes: every sampled position of this layer is in both samples)." : "";
    document.getElementById("summary").textContent =
      `${graph.title}: ${graph.nodes.length} nodes, ${graph.edges.length} edges.${same}`;
    const [variant, layer] = graph.id.split("/");
    document.getElementById("table").href = `${resultsRoot()}mapper/graphs/${variant}/${layer}.csv`;
    drawParams(graph);
    applyClassFilter();
    search();
    document.getElementById("node").innerHTML =
      "<h2>Node</h2><p>Click a node to see the images whose points it holds.</p>";
    if (location.hash !== `#graph=${graph.id}`) history.replaceState(null, "", `#graph=${graph.id}`);
  }

  function compare(graph) {
    compared = graph;
    view2.style.display = graph ? "block" : "none";
    if (graph) drawScene(scene2, graph, false);
    applyClassFilter();
    search();
  }

  function drawScene(target, graph, interactive) {
    target.replaceChildren();
    const byId = new Map(graph.nodes.map((n) => [n.id, n]));
    const biggest = Math.max(1, ...graph.nodes.map((n) => n.size));
    const edges = el("g", { class: "edges" });
    for (const [a, b] of graph.edges) {
      const [x1, y1] = position(byId.get(a));
      const [x2, y2] = position(byId.get(b));
      edges.appendChild(el("line", { x1, y1, x2, y2, stroke: "#999", "stroke-width": 0.8, "data-a": a, "data-b": b }));
    }
    const nodes = el("g", { class: "nodes" });
    for (const node of graph.nodes) nodes.appendChild(glyph(node, biggest, interactive));
    target.append(edges, nodes);
    if (!graph.nodes.length) {
      const text = el("text", { x: SIZE / 2, y: SIZE / 2, "text-anchor": "middle" });
      text.textContent = "no nodes: every point fell into DBSCAN noise";
      target.appendChild(text);
    }
  }

  function drawParams(graph) {
    const p = graph.params;
    const purity = graph.purity;
    const rows = [
      ["layer", `${p.layer} (${escapeHtml(p.layer_name)})`], ["sampling", escapeHtml(p.sampling)],
      ["noise sigma", p.sigma], ["points", p.points], ["lens", escapeHtml(p.lens)],
      ["norm range", `${fmt(p.norm_range[0])} to ${fmt(p.norm_range[1])}`],
      ["intervals", p.n_intervals], ["overlap", p.overlap], ["DBSCAN min_samples", p.min_samples],
      ["eps", `${fmt(p.eps)} (${p.eps_from === "knee" ? "knee of the sorted nearest-neighbour distances" :
        p.eps_from === "median" ? "median nearest-neighbour distance (no knee)" : "given"})`],
      ["points in nodes", fmt(purity.points_in_nodes)], ["mean node purity", fmt(purity.mean_node_purity)],
    ];
    document.getElementById("params").innerHTML = "<h2>Graph</h2><table>" +
      rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("") + "</table>";
  }

  function drawClassFilter() {
    const box = document.getElementById("classes");
    box.innerHTML = "<h2>Classes</h2><p>Unticked classes dim the nodes that hold none of the ticked ones, and their edges.</p>";
    DATA.classes.forEach((name, i) => {
      const label = document.createElement("label");
      label.style.marginRight = "8px";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.checked = true;
      input.dataset.class = String(i);
      input.addEventListener("change", () => {
        if (input.checked) shownClasses.add(String(i)); else shownClasses.delete(String(i));
        applyClassFilter();
      });
      label.append(input, Object.assign(document.createElement("span"),
        { className: "swatch", style: `background:${colour(i)}` }), name);
      box.appendChild(label);
    });
  }

  // [glyph element, node] of every node drawn in a pane.
  function glyphsOf(target, graph) {
    const byId = new Map(graph.nodes.map((n) => [n.id, n]));
    return [...target.querySelectorAll("g.node")].map((g) => [g, byId.get(Number(g.dataset.node))]);
  }

  function applyClassFilter() {
    for (const [target, graph] of panes()) {
      const dimmed = new Set();
      for (const [g, node] of glyphsOf(target, graph)) {
        const visible = Object.keys(node.counts).some((label) => shownClasses.has(label));
        g.classList.toggle("dim", !visible);
        if (!visible) dimmed.add(node.id);
      }
      for (const line of target.querySelectorAll("g.edges line")) {
        line.classList.toggle("dim", dimmed.has(Number(line.dataset.a)) || dimmed.has(Number(line.dataset.b)));
      }
    }
  }

  function selectNode(node) {
    selected = node;
    for (const g of scene.querySelectorAll("g.node")) {
      const outline = g.querySelector(".outline");
      const on = Number(g.dataset.node) === node.id;
      outline.setAttribute("stroke", on ? "#000" : "#333");
      outline.setAttribute("stroke-width", on ? 3 : 0.7);
    }
    const counts = Object.entries(node.counts).sort((a, b) => b[1] - a[1])
      .map(([label, count]) => `<tr><td><span class="swatch" style="background:${colour(label)}"></span>` +
        `${escapeHtml(className(label))}</td><td>${count}</td></tr>`).join("");
    document.getElementById("node").innerHTML =
      `<h2>Node ${node.id}</h2><table>` +
      `<tr><th>points</th><td>${node.size} (of ${node.images} images)</td></tr>` +
      `<tr><th>lens interval</th><td>#${node.interval}: [${fmt(node.lens[0])}, ${fmt(node.lens[1])}] scaled, ` +
      `[${fmt(node.norms[0])}, ${fmt(node.norms[1])}] in norm units</td></tr>` +
      `<tr><th>node purity</th><td>${fmt(node.purity, 2)} (1 / ${Object.keys(node.counts).length} classes)</td></tr>` +
      `</table><h2>Classes</h2><table>${counts}</table>` +
      `<h2>Images</h2><p id="members-total">The node's ${node.size} points come from ${node.images} images` +
      (node.image_ids.length < node.images ? ` (${node.image_ids.length} of them are in this page)` : "") +
      `, listed ${PAGE} at a time (click one to see it large). A red box marks the effective receptive field ` +
      `of a point of a seeded sample of ${node.members.length} (response at least ${DATA.rf_level * 100}% ` +
      `of its peak).</p><p><button id="previous">previous</button> <span id="page"></span> ` +
      `<button id="next">next</button> <a id="csv" download="node${node.id}_images.csv">CSV of the images</a>` +
      `</p><div class="thumbs" id="members"></div>`;
    const sampled = new Map();
    for (const [, image, , pos] of node.members) if (!sampled.has(image)) sampled.set(image, pos);
    const rows = node.image_ids.map((image) =>
      `${image},${csvField(className(DATA.labels[image]))},${sampled.has(image) ? sampled.get(image) : ""}`);
    document.getElementById("csv").href = "data:text/csv;charset=utf-8," +
      encodeURIComponent(["image,class,sampled_position", ...rows].join("\n") + "\n");
    let page = 0;
    const pages = Math.max(1, Math.ceil(node.image_ids.length / PAGE));
    const show = () => {
      const shown = node.image_ids.slice(page * PAGE, (page + 1) * PAGE);
      const box = document.getElementById("members");
      box.innerHTML = thumbnails(shown.map((image) => [image, sampled.get(image)]));
      for (const thumb of box.querySelectorAll(".thumb")) {
        thumb.addEventListener("click", () => {
          const image = Number(thumb.dataset.image);
          document.getElementById("search").value = String(image); // its nodes outlined in both panes
          search();
          showLarge(image, sampled.get(image));
        });
      }
      document.getElementById("page").textContent =
        `${Math.min(node.image_ids.length, page * PAGE + 1)}-${Math.min(node.image_ids.length, (page + 1) * PAGE)} ` +
        `of ${node.image_ids.length}`;
      document.getElementById("previous").disabled = page === 0;
      document.getElementById("next").disabled = page >= pages - 1;
    };
    document.getElementById("previous").addEventListener("click", () => { page -= 1; show(); });
    document.getElementById("next").addEventListener("click", () => { page += 1; show(); });
    show();
  }

  const TILES = new Map(DATA.sprite.images.map((image, tile) => [image, tile]));
  // The sprite's data URI once, in a style rule: written into every thumbnail's style, a paper-scale
  // sprite (MBs) made selecting a node take most of a second.
  document.head.appendChild(Object.assign(document.createElement("style"),
    { textContent: `.sprite{background-image:url(${DATA.sprite.uri})}` }));

  // One image drawn from the sprite at `size` px, with the receptive-field box of position `pos` if given.
  function imageBox(image, pos, size) {
    const s = DATA.sprite;
    const tile = TILES.get(image);
    if (tile === undefined) return `<div class="img" style="width:${size}px;height:${size}px" title="not in the page's sprite"></div>`;
    const scale = size / s.side;
    const left = -(tile % s.cols) * size, top = -Math.floor(tile / s.cols) * size;
    let rf = "";
    if (pos !== undefined) {
      const [r0, c0, r1, c1] = current.rf[pos];
      rf = `<div class="rf" style="left:${c0 * scale}px;top:${r0 * scale}px;width:${(c1 - c0 + 1) * scale}px;` +
        `height:${(r1 - r0 + 1) * scale}px"></div>`;
    }
    return `<div class="img sprite" style="width:${size}px;height:${size}px;` +
      `background-size:${s.cols * size}px auto;background-position:${left}px ${top}px">${rf}</div>`;
  }

  function showLarge(image, pos) {
    const large = document.getElementById("large");
    large.innerHTML = `<div>${imageBox(image, pos, 384)}<p>image ${image}, ` +
      `${escapeHtml(className(DATA.labels[image]))}` + (pos !== undefined ? `, sampled position ${pos} (red: its ` +
      "effective receptive field)" : ", no sampled point of this node") + ". Esc or a click closes it.</p></div>";
    large.style.display = "flex";
    large.onclick = () => { large.style.display = "none"; };
  }

  const csvField = (text) => (/[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

  function thumbnails(images) {
    return images.map(([image, pos]) => `<div class="thumb" data-image="${image}">${imageBox(image, pos, THUMB)}` +
      `image ${image}<br>${escapeHtml(className(DATA.labels[image]))}${pos !== undefined ? `, pos ${pos}` : ""}</div>`)
      .join("");
  }

  // Every node that holds image `image` is outlined, in both panes; the count is shown.
  function search() {
    const value = document.getElementById("search").value;
    const image = value === "" ? null : Number(value);
    const found = [];
    for (const [target, graph] of panes()) {
      let count = 0;
      for (const [g, node] of glyphsOf(target, graph)) {
        const holds = image !== null && node.image_ids.includes(image);
        g.classList.toggle("found", holds);
        count += holds;
      }
      found.push(`${count} node${count === 1 ? "" : "s"}`);
    }
    document.getElementById("found").textContent = image === null ? "" : ` in ${found.join(" | ")}`;
  }

  // The run's results folder, from this page's place in it (results/mapper/explorer.html) or in an
  // extracted zip report (results/report/data/raw/ID/explorer.html).
  function resultsRoot() {
    return location.pathname.includes("/data/raw/") ? "../../../../" : "../";
  }

  // Pan by dragging (anywhere: a press that moves is a pan, never a selection), zoom with the wheel
  // around the cursor within ZOOM, fit with the button or the 0 key.
  let drag = null;
  for (const svg of [view, view2]) {
    svg.addEventListener("mousedown", (event) => {
      drag = { x: event.clientX, y: event.clientY, tx: transform.x, ty: transform.y, svg };
      dragMoved = false;
      svg.style.cursor = "grabbing";
    });
    svg.addEventListener("wheel", (event) => {
      event.preventDefault();
      const point = svg.createSVGPoint();
      point.x = event.clientX;
      point.y = event.clientY;
      const p = point.matrixTransform(svg.getScreenCTM().inverse());
      const k = Math.min(ZOOM[1], Math.max(ZOOM[0], transform.k * Math.exp(-event.deltaY / 500)));
      const factor = k / transform.k;
      transform.x = p.x - (p.x - transform.x) * factor;
      transform.y = p.y - (p.y - transform.y) * factor;
      transform.k = k;
      applyTransform();
    }, { passive: false });
  }
  window.addEventListener("mousemove", (event) => {
    if (!drag) return;
    if (Math.hypot(event.clientX - drag.x, event.clientY - drag.y) > 3) dragMoved = true;
    const box = drag.svg.getBoundingClientRect();
    const unit = SIZE / Math.min(box.width, box.height);
    transform.x = drag.tx + (event.clientX - drag.x) * unit;
    transform.y = drag.ty + (event.clientY - drag.y) * unit;
    applyTransform();
  });
  window.addEventListener("mouseup", () => {
    if (drag) drag.svg.style.cursor = "grab";
    drag = null;
  });
  const fit = () => { transform = { k: 1, x: 0, y: 0 }; applyTransform(); };
  document.getElementById("fit").addEventListener("click", fit);
  window.addEventListener("keydown", (event) => {
    if (event.key === "Escape") document.getElementById("large").style.display = "none";
    if (event.target.tagName === "INPUT" || event.target.tagName === "SELECT") return;
    if (event.key === "0") fit();
  });
  document.getElementById("search").addEventListener("input", search);
  document.getElementById("report").href = `${resultsRoot()}report/report.html`;
  drawGlyphLegend();

  function drawGlyphLegend() {
    const svg = el("svg", { width: 44, height: 44, viewBox: "0 0 44 44" });
    svg.append(...pieSlices(22, 22, 18, [[0, 0.6], [1, 0.3], [2, 0.1]]));
    const box = document.getElementById("legend");
    box.append(svg, Object.assign(document.createElement("span"), { textContent:
      "A node: a pie of the classes of its points (slice = class share); its area grows with its number " +
      "of points. An edge joins nodes that share points." }));
  }

  // Each graph's data is parsed when it is first drawn.
  const parsed = new Map();
  const graphAt = (i) => {
    if (!parsed.has(i)) parsed.set(i, JSON.parse(document.getElementById(DATA.graphs[i].element).textContent));
    return parsed.get(i);
  };
  DATA.graphs.forEach((graph, i) => {
    const option = document.createElement("option");
    option.value = String(i);
    option.textContent = graph.id;
    select.appendChild(option);
  });
  select.addEventListener("change", () => draw(graphAt(Number(select.value))));
  const beside = document.getElementById("compare");
  DATA.graphs.forEach((graph, i) => {
    beside.appendChild(Object.assign(document.createElement("option"), { value: String(i), textContent: graph.id }));
  });
  beside.addEventListener("change", () => compare(beside.value === "" ? null : graphAt(Number(beside.value))));
  drawClassFilter();
  const wanted = decodeURIComponent(location.hash.replace(/^#graph=/, ""));
  const start = Math.max(0, DATA.graphs.findIndex((g) => g.id === wanted));
  select.value = String(start);
  if (DATA.graphs.length) draw(graphAt(start));
  document.body.dataset.ready = "true";
})();
