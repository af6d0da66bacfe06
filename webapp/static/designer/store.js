// The document being edited, the selection, and undo/redo.
//
// The document is the process definition JSON of docs/decisions/0018 exactly as it is
// saved: the designer keeps no second model to translate back and forth. Undo/redo
// keep whole snapshots (JSON text): definitions are small (tens of nodes), and a
// snapshot cannot go out of step with the document the way inverse operations can.

const HISTORY_LIMIT = 200;
const MERGE_MS = 1200;  // typing in one field within this gap is one undo step

export function createStore(initialDocument) {
  let doc = normalise(initialDocument);
  let selection = null;  // {kind: "node"|"edge", id}
  const undoStack = [];
  const redoStack = [];
  const listeners = new Set();
  let lastMerge = { key: null, at: 0 };
  let savedText = JSON.stringify(doc);

  function notify(reason) { for (const fn of listeners) { fn(reason); } }

  function remember(mergeKey) {
    const now = Date.now();
    const merging = mergeKey && lastMerge.key === mergeKey && now - lastMerge.at < MERGE_MS;
    lastMerge = { key: mergeKey || null, at: now };
    if (merging) { return; }
    undoStack.push(JSON.stringify(doc));
    if (undoStack.length > HISTORY_LIMIT) { undoStack.shift(); }
    redoStack.length = 0;
  }

  return {
    get doc() { return doc; },
    get selection() { return selection; },
    subscribe(fn) { listeners.add(fn); return () => listeners.delete(fn); },

    // change(fn, mergeKey): fn mutates the document in place; one undo step.
    change(fn, mergeKey) {
      remember(mergeKey);
      fn(doc);
      if (selection && !findItem(doc, selection)) { selection = null; }
      notify("change");
    },
    // A gesture (dragging a node) snapshots once at its start, then moves freely.
    begin() { remember(null); lastMerge = { key: null, at: 0 }; },
    live(fn) { fn(doc); notify("live"); },
    commitLive() { notify("change"); },

    undo() { step(undoStack, redoStack); },
    redo() { step(redoStack, undoStack); },
    canUndo() { return undoStack.length > 0; },
    canRedo() { return redoStack.length > 0; },

    select(next) {
      selection = next && findItem(doc, next) ? next : null;
      notify("select");
    },
    replace(next) {  // a document loaded from the server (after a conflict, an import)
      remember(null);
      doc = normalise(next);
      selection = null;
      notify("change");
    },
    markSaved() { savedText = JSON.stringify(doc); notify("saved"); },
    isDirty() { return JSON.stringify(doc) !== savedText; },
  };

  function step(from, to) {
    if (!from.length) { return; }
    to.push(JSON.stringify(doc));
    doc = JSON.parse(from.pop());
    lastMerge = { key: null, at: 0 };
    if (selection && !findItem(doc, selection)) { selection = null; }
    notify("change");
  }
}

export function normalise(input) {
  const doc = input && typeof input === "object" ? JSON.parse(JSON.stringify(input)) : {};
  doc.format = doc.format || 1;
  if (!Array.isArray(doc.nodes)) { doc.nodes = []; }
  if (!Array.isArray(doc.edges)) { doc.edges = []; }
  if (!doc.name || typeof doc.name !== "object") { doc.name = { zh: "", en: "" }; }
  if (!Array.isArray(doc.start_rules)) { doc.start_rules = []; }
  return doc;
}

export function findItem(doc, ref) {
  if (!ref) { return null; }
  const list = ref.kind === "edge" ? doc.edges : doc.nodes;
  return list.find((item) => item.id === ref.id) || null;
}

export function nodeById(doc, id) { return doc.nodes.find((n) => n.id === id) || null; }

// A fresh id like "task_3": readable in exports and diffs, never reused in a document.
export function freshId(doc, prefix) {
  const taken = new Set([...doc.nodes, ...doc.edges].map((x) => x.id));
  let n = 1;
  while (taken.has(`${prefix}_${n}`)) { n += 1; }
  return `${prefix}_${n}`;
}

// The fields each node type starts with (0018); the side panel edits them.
export function newNode(doc, type, x, y, label) {
  const node = { id: freshId(doc, type === "parallel_split" ? "split" :
    type === "parallel_join" ? "join" : type), type, label: label || "", x: Math.round(x), y: Math.round(y) };
  if (type === "task") {
    Object.assign(node, { assignee: { kind: "department", value: "" }, form: [], sla_minutes: null });
  } else if (type === "approval") {
    Object.assign(node, { approvers: { kind: "role", value: "" }, quorum: { mode: "any" },
      due_minutes: null, escalate_to: null });
  } else if (type === "action") {
    Object.assign(node, { action: "add_note", params: {} });
  } else if (type === "end") {
    node.outcome = "resolved";
  }
  return node;
}

export function addEdge(doc, from, to) {
  if (from === to) { return null; }
  if (doc.edges.some((e) => e.from === from && e.to === to)) { return null; }
  const source = nodeById(doc, from);
  const siblings = doc.edges.filter((e) => e.from === from);
  const edge = { id: freshId(doc, "e"), from, to, order: siblings.length };
  if (source && source.type === "approval") {
    const used = new Set(siblings.map((e) => e.on));
    edge.on = used.has("approved") ? "rejected" : "approved";
  }
  doc.edges.push(edge);
  return edge;
}

export function removeItem(doc, ref) {
  if (ref.kind === "edge") {
    doc.edges = doc.edges.filter((e) => e.id !== ref.id);
    return;
  }
  doc.nodes = doc.nodes.filter((n) => n.id !== ref.id);
  doc.edges = doc.edges.filter((e) => e.from !== ref.id && e.to !== ref.id);
}
