// The SVG canvas: draws nodes and edges from the store, and turns pointer gestures
// into store changes — drag a node to move it, drag from a node's port (the small
// circle on its right) to another node to connect them, drag the background to pan,
// wheel to zoom. Nodes and edges are focusable buttons: Tab reaches them, Enter
// selects, arrow keys move a selected node (the keyboard way to arrange the flow).

import { svg, clear, t } from "./dom.js";
import { box, edgePath, outPoint, shape, shorten, bounds } from "./geometry.js";
import { addEdge, nodeById } from "./store.js";
import { summary } from "./conditions.js";

const GRID = 10;
const snap = (v) => Math.round(v / GRID) * GRID;

export function createCanvas(svgEl, store, describe) {
  const view = { x: 40, y: 40, k: 1 };
  const marks = { problems: new Map(), path: new Set(), current: null };
  const root = svg("g", { class: "dz-viewport" });
  const edgesLayer = svg("g", { class: "dz-edges" });
  const nodesLayer = svg("g", { class: "dz-nodes" });
  const ghost = svg("path", { class: "dz-ghost", d: "", hidden: true });
  svgEl.appendChild(defs());
  root.append(edgesLayer, nodesLayer, ghost);
  svgEl.appendChild(root);
  let gesture = null;

  function toWorld(clientX, clientY) {
    const r = svgEl.getBoundingClientRect();
    return { x: (clientX - r.left - view.x) / view.k, y: (clientY - r.top - view.y) / view.k };
  }

  function applyView() { root.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`); }

  function render() {
    const focused = document.activeElement && document.activeElement.closest &&
      document.activeElement.closest("[data-node],[data-edge]");
    let focusKey = null;
    if (focused && svgEl.contains(focused)) {
      const id = focused.getAttribute("data-node");
      focusKey = id ? ["node", id] : ["edge", focused.getAttribute("data-edge")];
    }
    clear(edgesLayer); clear(nodesLayer);
    const doc = store.doc;
    for (const edge of doc.edges) { const g = drawEdge(doc, edge); if (g) { edgesLayer.appendChild(g); } }
    for (const node of doc.nodes) { nodesLayer.appendChild(drawNode(node)); }
    applyView();
    if (focusKey) { focusItem(...focusKey); }
  }

  function stateClasses(kind, id) {
    const sel = store.selection;
    const classes = [];
    if (sel && sel.kind === kind && sel.id === id) { classes.push("selected"); }
    if (marks.problems.has(`${kind}:${id}`)) { classes.push("has-problem"); }
    if (marks.path.has(`${kind}:${id}`)) { classes.push("on-path"); }
    if (marks.current === `${kind}:${id}`) { classes.push("current-step"); }
    return classes.join(" ");
  }

  function drawNode(node) {
    const b = box(node);
    const [tag, attrs] = shape(node);
    const problems = marks.problems.get(`node:${node.id}`) || [];
    const name = describe.nodeName(node);
    const g = svg("g", { class: `dz-node type-${node.type} ${stateClasses("node", node.id)}`,
      "data-node": node.id, tabindex: 0, role: "button", "aria-pressed": store.selection &&
        store.selection.id === node.id ? "true" : "false",
      "aria-label": [name, describe.nodeDetail(node), ...problems].filter(Boolean).join(". ") },
    svg("title", { text: [name, ...problems].join("\n") }), svg(tag, { ...attrs, class: "dz-shape" }));
    const wide = b.w >= 100;
    const main = wide ? shorten(node.label || describe.typeName(node.type), 18) : "";
    if (wide) {
      g.appendChild(svg("text", { x: b.cx, y: b.cy - 4, class: "dz-label", text: main }));
      g.appendChild(svg("text", { x: b.cx, y: b.cy + 14, class: "dz-detail",
        text: shorten(describe.nodeDetail(node), 22) }));
    } else {
      g.appendChild(svg("text", { x: b.cx, y: b.y + b.h + 16, class: "dz-label dz-below",
        text: shorten(node.label || describe.typeName(node.type), 16) }));
    }
    if (node.type !== "end") {
      const p = outPoint(node);
      g.appendChild(svg("circle", { cx: p.x, cy: p.y, r: 6, class: "dz-port", "data-port": node.id },
        svg("title", { text: t("drag_to_connect") })));
    }
    if (problems.length) {
      g.appendChild(svg("g", { class: "dz-badge" }, svg("circle", { cx: b.x + b.w - 2, cy: b.y + 2, r: 9 }),
        svg("text", { x: b.x + b.w - 2, y: b.y + 6, text: String(problems.length) })));
    }
    return g;
  }

  function drawEdge(doc, edge) {
    const from = nodeById(doc, edge.from);
    const to = nodeById(doc, edge.to);
    if (!from || !to) { return null; }
    const { d, mid } = edgePath(from, to, doc.nodes);
    const problems = marks.problems.get(`edge:${edge.id}`) || [];
    const text = describe.edgeText(edge, summary(edge.condition), from);
    const name = describe.edgeName(edge, from, to);
    const g = svg("g", { class: `dz-edge ${stateClasses("edge", edge.id)}`, "data-edge": edge.id, tabindex: 0,
      role: "button", "aria-label": [name, text, ...problems].filter(Boolean).join(". ") },
    svg("title", { text: [name, text, ...problems].filter(Boolean).join("\n") }),
    svg("path", { d, class: "dz-hit" }), svg("path", { d, class: "dz-line", "marker-end": "url(#dz-arrow)" }));
    if (text) {
      g.appendChild(svg("text", { x: mid.x, y: mid.y - 6, class: "dz-edge-label", text: shorten(text, 28) }));
    }
    return g;
  }

  // --- pointer gestures ------------------------------------------------------------
  svgEl.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) { return; }
    const port = e.target.closest("[data-port]");
    const nodeEl = e.target.closest("[data-node]");
    const edgeEl = e.target.closest("[data-edge]");
    const start = toWorld(e.clientX, e.clientY);
    if (port) {
      gesture = { kind: "connect", from: port.getAttribute("data-port") };
    } else if (nodeEl) {
      const id = nodeEl.getAttribute("data-node");
      const node = nodeById(store.doc, id);
      store.select({ kind: "node", id });
      focusItem("node", id);
      gesture = { kind: "move", id, start, origin: { x: node.x, y: node.y }, moved: false };
    } else if (edgeEl) {
      const id = edgeEl.getAttribute("data-edge");
      store.select({ kind: "edge", id });
      focusItem("edge", id);
      return;
    } else {
      gesture = { kind: "pan", sx: e.clientX, sy: e.clientY, vx: view.x, vy: view.y, moved: false };
    }
    svgEl.setPointerCapture(e.pointerId);
    e.preventDefault();
  });

  svgEl.addEventListener("pointermove", (e) => {
    if (!gesture) { return; }
    const p = toWorld(e.clientX, e.clientY);
    if (gesture.kind === "connect") {
      const a = outPoint(nodeById(store.doc, gesture.from));
      ghost.setAttribute("d", `M${a.x},${a.y} L${p.x},${p.y}`);
      ghost.removeAttribute("hidden");
    } else if (gesture.kind === "move") {
      const dx = p.x - gesture.start.x;
      const dy = p.y - gesture.start.y;
      if (!gesture.moved && Math.hypot(dx, dy) < 3) { return; }
      if (!gesture.moved) { store.begin(); gesture.moved = true; }
      store.live((doc) => {
        const node = nodeById(doc, gesture.id);
        node.x = snap(gesture.origin.x + dx); node.y = snap(gesture.origin.y + dy);
      });
    } else if (gesture.kind === "pan") {
      gesture.moved = gesture.moved || Math.hypot(e.clientX - gesture.sx, e.clientY - gesture.sy) > 3;
      view.x = gesture.vx + e.clientX - gesture.sx;
      view.y = gesture.vy + e.clientY - gesture.sy;
      applyView();
    }
  });

  svgEl.addEventListener("pointerup", (e) => {
    if (!gesture) { return; }
    const g = gesture;
    gesture = null;
    if (svgEl.hasPointerCapture(e.pointerId)) { svgEl.releasePointerCapture(e.pointerId); }
    if (g.kind === "connect") {
      ghost.setAttribute("hidden", "");
      const target = document.elementFromPoint(e.clientX, e.clientY);
      const nodeEl = target && target.closest("[data-node]");
      if (nodeEl) { connect(g.from, nodeEl.getAttribute("data-node")); }
    } else if (g.kind === "move" && g.moved) {
      store.commitLive();
    } else if (g.kind === "pan" && !g.moved) {
      store.select(null);
    }
  });

  svgEl.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = svgEl.getBoundingClientRect();
    zoomAt(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });

  svgEl.addEventListener("keydown", (e) => {
    const nodeEl = e.target.closest("[data-node]");
    const edgeEl = e.target.closest("[data-edge]");
    if ((e.key === "Enter" || e.key === " ") && (nodeEl || edgeEl)) {
      store.select(nodeEl ? { kind: "node", id: nodeEl.getAttribute("data-node") }
        : { kind: "edge", id: edgeEl.getAttribute("data-edge") });
      e.preventDefault();
      return;
    }
    const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (nodeEl && arrows[e.key] && !e.ctrlKey && !e.metaKey) {
      const [dx, dy] = arrows[e.key];
      const id = nodeEl.getAttribute("data-node");
      const step = e.shiftKey ? 50 : GRID;
      store.change((doc) => {
        const node = nodeById(doc, id);
        node.x = snap(node.x + dx * step); node.y = snap(node.y + dy * step);
      }, `move:${id}`);
      e.preventDefault();
    }
  });

  function focusItem(kind, id) {
    const found = svgEl.querySelector(`[data-${kind}="${CSS.escape(id)}"]`);
    if (found) { found.focus({ preventScroll: true }); }
  }

  function connect(from, to) {
    let made = null;
    if (from === to || store.doc.edges.some((x) => x.from === from && x.to === to)) { return null; }
    store.change((doc) => { made = addEdge(doc, from, to); });
    if (made) { store.select({ kind: "edge", id: made.id }); }
    return made;
  }

  function zoomAt(factor, sx, sy) {
    const k = Math.min(3, Math.max(0.25, view.k * factor));
    view.x = sx - ((sx - view.x) * k) / view.k;
    view.y = sy - ((sy - view.y) * k) / view.k;
    view.k = k;
    applyView();
  }

  function fit() {
    const r = svgEl.getBoundingClientRect();
    const b = bounds(store.doc.nodes);
    const fits = Math.min((r.width - 80) / Math.max(b.w, 1), (r.height - 80) / Math.max(b.h + 30, 1));
    const k = Math.min(1.5, Math.max(0.25, fits));
    view.k = k;
    view.x = (r.width - b.w * k) / 2 - b.x * k;
    view.y = (r.height - (b.h + 30) * k) / 2 - b.y * k;
    applyView();
  }

  store.subscribe(() => render());
  render();
  return {
    render, fit, connect, toWorld, focusItem,
    zoomIn() { const r = svgEl.getBoundingClientRect(); zoomAt(1.2, r.width / 2, r.height / 2); },
    zoomOut() { const r = svgEl.getBoundingClientRect(); zoomAt(1 / 1.2, r.width / 2, r.height / 2); },
    centre() {
      const r = svgEl.getBoundingClientRect();
      return toWorld(r.left + r.width / 2, r.top + r.height / 2);
    },
    setProblems(map) { marks.problems = map; render(); },
    setPath(items, current) { marks.path = new Set(items); marks.current = current; render(); },
  };
}

function defs() {
  const arrow = svg("path", { d: "M0,0 L10,5 L0,10 z" });
  return svg("defs", {}, svg("marker", { id: "dz-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
    markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" }, arrow));
}
