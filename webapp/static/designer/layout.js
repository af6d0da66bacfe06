// Auto-layout: layered, left to right, deterministic (the same document always gives
// the same picture, so a layout does not show up as noise in a version diff twice).
//   1. Edges that close a loop (found by a depth-first walk from the start, following
//      edges by order) are set aside, leaving a graph without cycles.
//   2. Each node's column is the length of the longest path to it from a source.
//   3. Within a column, nodes are sorted by the mean row of their predecessors
//      (barycentre), ties by their place in the document.

const COLUMN = 250;
const ROW = 110;
const LEFT = 80;
const TOP = 80;

export function autoLayout(doc) {
  const index = new Map(doc.nodes.map((n, i) => [n.id, i]));
  const edges = doc.edges.filter((e) => index.has(e.from) && index.has(e.to) && e.from !== e.to);
  const forward = dropBackEdges(doc, edges, index);
  const column = columns(doc, forward, index);
  const rows = orderRows(doc, forward, column, index);
  const tallest = Math.max(1, ...rows.map((r) => r.length));
  rows.forEach((ids, c) => {
    const offset = ((tallest - ids.length) * ROW) / 2;
    ids.forEach((id, r) => {
      const node = doc.nodes[index.get(id)];
      node.x = LEFT + c * COLUMN;
      node.y = TOP + offset + r * ROW;
    });
  });
}

function byOrder(a, b) {
  return (Number(a.order) || 0) - (Number(b.order) || 0) || String(a.id).localeCompare(String(b.id));
}

function dropBackEdges(doc, edges, index) {
  const out = new Map(doc.nodes.map((n) => [n.id, []]));
  for (const e of [...edges].sort(byOrder)) { out.get(e.from).push(e); }
  const state = new Map();  // 1 = on the walk's stack, 2 = done
  const back = new Set();
  const roots = [...doc.nodes].sort((a, b) => (a.type === "start" ? 0 : 1) - (b.type === "start" ? 0 : 1) ||
    index.get(a.id) - index.get(b.id));
  for (const root of roots) {
    if (state.has(root.id)) { continue; }
    const stack = [[root.id, 0]];
    state.set(root.id, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const next = out.get(top[0])[top[1]];
      if (!next) { state.set(top[0], 2); stack.pop(); continue; }
      top[1] += 1;
      const seen = state.get(next.to);
      if (seen === 1) { back.add(next); } else if (!seen) { state.set(next.to, 1); stack.push([next.to, 0]); }
    }
  }
  return edges.filter((e) => !back.has(e));
}

function columns(doc, edges, index) {
  const incoming = new Map(doc.nodes.map((n) => [n.id, 0]));
  const out = new Map(doc.nodes.map((n) => [n.id, []]));
  for (const e of edges) { incoming.set(e.to, incoming.get(e.to) + 1); out.get(e.from).push(e.to); }
  const column = new Map(doc.nodes.map((n) => [n.id, 0]));
  const ready = doc.nodes.filter((n) => incoming.get(n.id) === 0).map((n) => n.id);
  while (ready.length) {
    ready.sort((a, b) => index.get(a) - index.get(b));
    const id = ready.shift();
    for (const to of out.get(id)) {
      column.set(to, Math.max(column.get(to), column.get(id) + 1));
      incoming.set(to, incoming.get(to) - 1);
      if (incoming.get(to) === 0) { ready.push(to); }
    }
  }
  return column;
}

function orderRows(doc, edges, column, index) {
  const width = Math.max(0, ...column.values()) + 1;
  const rows = Array.from({ length: width }, () => []);
  for (const n of doc.nodes) { rows[column.get(n.id)].push(n.id); }
  const preds = new Map(doc.nodes.map((n) => [n.id, []]));
  for (const e of edges) { preds.get(e.to).push(e.from); }
  const rowOf = new Map();
  rows.forEach((ids, c) => {
    const centre = (id) => {
      const ps = preds.get(id).filter((p) => rowOf.has(p));
      return ps.length ? ps.reduce((s, p) => s + rowOf.get(p), 0) / ps.length : Infinity;
    };
    if (c > 0) {
      ids.sort((a, b) => {
        const ca = centre(a); const cb = centre(b);
        if (ca !== cb) { return ca === Infinity ? 1 : cb === Infinity ? -1 : ca - cb; }
        return index.get(a) - index.get(b);
      });
    }
    // Rows are compared on one scale across columns of different heights.
    ids.forEach((id, r) => rowOf.set(id, r - (ids.length - 1) / 2));
  });
  return rows;
}
