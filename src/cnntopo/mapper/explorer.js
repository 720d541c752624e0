// The mapper explorer (cnntopo.mapper.explorer inlines this file). No library, no network:
// the data are the JSON of the element #data; images come from the sprite's data URI.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("data").textContent);
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                   "#bcbd22", "#17becf"];
  const SIZE = 800; // the layout's [-1, 1] square is drawn in a SIZE x SIZE user space
  const THUMB = 64;
  const view = document.getElementById("view");
  const scene = document.getElementById("scene");
  const tooltip = document.getElementById("tooltip");
  const select = document.getElementById("graph");
  const shownClasses = new Set(DATA.classes.map((_, i) => String(i)));
  let current = null;
  let selected = null;
  let transform = { k: 1, x: 0, y: 0 };

  const colour = (label) => PALETTE[Number(label) % PALETTE.length];
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

  // A pie chart of the node's class counts: the paper's glyph.
  function glyph(node, biggest) {
    const [cx, cy] = position(node);
    const r = radius(node, biggest);
    const g = el("g", { class: "node", "data-node": node.id, cursor: "pointer" });
    const entries = Object.entries(node.counts).sort((a, b) => Number(a[0]) - Number(b[0]));
    if (entries.length === 1) {
      g.appendChild(el("circle", { cx, cy, r, fill: colour(entries[0][0]) }));
    } else {
      let angle = -Math.PI / 2;
      for (const [label, count] of entries) {
        const sweep = (2 * Math.PI * count) / node.size;
        const x0 = cx + r * Math.cos(angle), y0 = cy + r * Math.sin(angle);
        const x1 = cx + r * Math.cos(angle + sweep), y1 = cy + r * Math.sin(angle + sweep);
        const large = sweep > Math.PI ? 1 : 0;
        g.appendChild(el("path", { d: `M${cx},${cy} L${x0},${y0} A${r},${r} 0 ${large} 1 ${x1},${y1} Z`,
                                   fill: colour(label) }));
        angle += sweep;
      }
    }
    g.appendChild(el("circle", { cx, cy, r, fill: "none", stroke: "#333", "stroke-width": 0.7, class: "outline" }));
    g.addEventListener("mouseenter", (event) => showTooltip(node, event));
    g.addEventListener("mousemove", (event) => moveTooltip(event));
    g.addEventListener("mouseleave", () => { tooltip.style.display = "none"; });
    g.addEventListener("click", (event) => { event.stopPropagation(); selectNode(node); });
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

  function applyTransform() {
    scene.setAttribute("transform", `translate(${transform.x},${transform.y}) scale(${transform.k})`);
  }

  function draw(graph) {
    current = graph;
    selected = null;
    scene.replaceChildren();
    view.setAttribute("viewBox", `0 0 ${SIZE} ${SIZE}`);
    transform = { k: 1, x: 0, y: 0 };
    applyTransform();
    const byId = new Map(graph.nodes.map((n) => [n.id, n]));
    const biggest = Math.max(1, ...graph.nodes.map((n) => n.size));
    const edges = el("g", { class: "edges" });
    for (const [a, b] of graph.edges) {
      const [x1, y1] = position(byId.get(a));
      const [x2, y2] = position(byId.get(b));
      edges.appendChild(el("line", { x1, y1, x2, y2, stroke: "#999", "stroke-width": 0.8, "data-a": a, "data-b": b }));
    }
    scene.appendChild(edges);
    const nodes = el("g", { class: "nodes" });
    for (const node of graph.nodes) nodes.appendChild(glyph(node, biggest));
    scene.appendChild(nodes);
    if (!graph.nodes.length) {
      const text = el("text", { x: SIZE / 2, y: SIZE / 2, "text-anchor": "middle" });
      text.textContent = "no nodes: every point fell into DBSCAN noise";
      scene.appendChild(text);
    }
    document.getElementById("summary").textContent =
      `${graph.title}: ${graph.nodes.length} nodes, ${graph.edges.length} edges`;
    drawParams(graph);
    applyClassFilter();
    document.getElementById("node").innerHTML =
      "<h2>Node</h2><p>Click a node to see the images whose points it holds.</p>";
    if (location.hash !== `#graph=${graph.id}`) history.replaceState(null, "", `#graph=${graph.id}`);
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
    box.innerHTML = "<h2>Classes</h2><p>Unticked classes dim the nodes that hold none of the ticked ones.</p>";
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

  function applyClassFilter() {
    for (const g of scene.querySelectorAll("g.node")) {
      const node = current.nodes.find((n) => n.id === Number(g.dataset.node));
      const visible = Object.keys(node.counts).some((label) => shownClasses.has(label));
      g.classList.toggle("dim", !visible);
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
    const s = DATA.sprite;
    const scale = THUMB / s.side;
    const thumbs = node.members.map(([tile, image, label, pos]) => {
      const [r0, c0, r1, c1] = current.rf[pos];
      const left = -(tile % s.cols) * THUMB, top = -Math.floor(tile / s.cols) * THUMB;
      return `<div class="thumb" data-image="${image}"><div class="img" style="background-image:url(${s.uri});` +
        `background-size:${s.cols * THUMB}px auto;background-position:${left}px ${top}px">` +
        `<div class="rf" style="left:${c0 * scale}px;top:${r0 * scale}px;width:${(c1 - c0 + 1) * scale}px;` +
        `height:${(r1 - r0 + 1) * scale}px"></div></div>image ${image}<br>${escapeHtml(className(label))}, pos ${pos}</div>`;
    }).join("");
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
      `<h2>Members (${node.members.length} shown)</h2><p>Red box: the effective receptive field of the ` +
      `sampled position (response at least ${DATA.rf_level * 100}% of its peak).</p>` +
      `<div class="thumbs" id="members">${thumbs}</div>`;
  }

  // Pan by dragging the background, zoom with the wheel around the cursor.
  let drag = null;
  view.addEventListener("mousedown", (event) => {
    drag = { x: event.clientX, y: event.clientY, tx: transform.x, ty: transform.y };
    view.style.cursor = "grabbing";
  });
  window.addEventListener("mousemove", (event) => {
    if (!drag) return;
    const box = view.getBoundingClientRect();
    const unit = SIZE / Math.min(box.width, box.height);
    transform.x = drag.tx + (event.clientX - drag.x) * unit;
    transform.y = drag.ty + (event.clientY - drag.y) * unit;
    applyTransform();
  });
  window.addEventListener("mouseup", () => { drag = null; view.style.cursor = "grab"; });
  view.addEventListener("wheel", (event) => {
    event.preventDefault();
    const point = view.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const p = point.matrixTransform(view.getScreenCTM().inverse());
    const factor = Math.exp(-event.deltaY / 500);
    transform.x = p.x - (p.x - transform.x) * factor;
    transform.y = p.y - (p.y - transform.y) * factor;
    transform.k *= factor;
    applyTransform();
  }, { passive: false });

  DATA.graphs.forEach((graph, i) => {
    const option = document.createElement("option");
    option.value = String(i);
    option.textContent = graph.id;
    select.appendChild(option);
  });
  select.addEventListener("change", () => draw(DATA.graphs[Number(select.value)]));
  drawClassFilter();
  const wanted = decodeURIComponent(location.hash.replace(/^#graph=/, ""));
  const start = Math.max(0, DATA.graphs.findIndex((g) => g.id === wanted));
  select.value = String(start);
  if (DATA.graphs.length) draw(DATA.graphs[start]);
  document.body.dataset.ready = "true";
})();
