// Shapes and sizes of the node types, and the path an edge takes between two nodes.
// A node's x/y in the document is the centre of its shape, so shapes of different
// sizes line up on one row.

const SIZES = {
  start: [44, 44], end: [44, 44],
  gateway: [60, 60],
  parallel_split: [18, 70], parallel_join: [18, 70],
  task: [150, 56], approval: [150, 56], action: [150, 56],
};

export function size(type) { return SIZES[type] || [150, 56]; }

export function box(node) {
  const [w, h] = size(node.type);
  const x = Number(node.x) || 0;
  const y = Number(node.y) || 0;
  return { x: x - w / 2, y: y - h / 2, w, h, cx: x, cy: y };
}

export function outPoint(node) { const b = box(node); return { x: b.x + b.w, y: b.cy }; }
export function inPoint(node) { const b = box(node); return { x: b.x, y: b.cy }; }

// A cubic curve leaving to the right and arriving from the left. An edge going back
// (to a node on its left), or one whose straight way is blocked by another node (a long
// edge past a node in between), bows below everything in its way.
export function edgePath(from, to, others) {
  const a = outPoint(from);
  const b = inPoint(to);
  const blocking = (others || []).filter((n) => n !== from && n !== to && crosses(box(n), a, b));
  if (b.x > a.x + 4 && blocking.length) {
    const below = Math.max(a.y, b.y, ...blocking.map((n) => box(n).y + box(n).h)) + 30;
    return { d: `M${a.x},${a.y} C${a.x + 60},${below} ${b.x - 60},${below} ${b.x},${b.y}`,
      mid: { x: (a.x + b.x) / 2, y: (a.y + b.y + 6 * below) / 8 + 4 } };
  }
  if (b.x > a.x + 4) {
    const dx = Math.max(Math.min(40, b.x - a.x), (b.x - a.x) / 2);
    return { d: `M${a.x},${a.y} C${a.x + dx},${a.y} ${b.x - dx},${b.y} ${b.x},${b.y}`,
      mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 } };
  }
  const below = Math.max(box(from).y + box(from).h, box(to).y + box(to).h) + 50;
  return { d: `M${a.x},${a.y} C${a.x + 80},${a.y} ${a.x + 80},${below} ${(a.x + b.x) / 2},${below} ` +
    `S${b.x - 80},${b.y} ${b.x},${b.y}`, mid: { x: (a.x + b.x) / 2, y: below } };
}

// Does the straight line a→b pass through this box (a little margin around it)?
function crosses(r, a, b) {
  const x1 = r.x - 6; const x2 = r.x + r.w + 6;
  if (x2 < Math.min(a.x, b.x) || x1 > Math.max(a.x, b.x)) { return false; }
  const yAt = (x) => a.y + ((b.y - a.y) * (x - a.x)) / ((b.x - a.x) || 1);
  const lo = Math.min(yAt(Math.max(x1, a.x)), yAt(Math.min(x2, b.x)));
  const hi = Math.max(yAt(Math.max(x1, a.x)), yAt(Math.min(x2, b.x)));
  return hi >= r.y - 6 && lo <= r.y + r.h + 6;
}

// The outline of a node's shape as SVG attributes (element name and its attributes).
export function shape(node) {
  const b = box(node);
  if (node.type === "start" || node.type === "end") {
    return ["circle", { cx: b.cx, cy: b.cy, r: b.w / 2 }];
  }
  if (node.type === "gateway") {
    const pts = [[b.cx, b.y], [b.x + b.w, b.cy], [b.cx, b.y + b.h], [b.x, b.cy]];
    return ["polygon", { points: pts.map((p) => p.join(",")).join(" ") }];
  }
  const rx = node.type === "parallel_split" || node.type === "parallel_join" ? 3 : 8;
  return ["rect", { x: b.x, y: b.y, width: b.w, height: b.h, rx }];
}

export function bounds(nodes) {
  if (!nodes.length) { return { x: 0, y: 0, w: 600, h: 300 }; }
  let x1 = Infinity; let y1 = Infinity; let x2 = -Infinity; let y2 = -Infinity;
  for (const n of nodes) {
    const b = box(n);
    x1 = Math.min(x1, b.x); y1 = Math.min(y1, b.y);
    x2 = Math.max(x2, b.x + b.w); y2 = Math.max(y2, b.y + b.h);
  }
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}

export function shorten(text, max) {
  const s = String(text ?? "");
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
