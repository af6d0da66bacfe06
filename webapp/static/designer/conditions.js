// The condition builder of an edge (0018): a leaf {field, op, value} or a group
// {all: [...]} / {any: [...]} nested to any depth. The editor works on a "view" where
// the root is always a group; a group of one leaf is written back as the plain leaf
// it came from, and an empty root group as no condition (the default edge).

import { button, el, select, t } from "./dom.js";

const NUMERIC_KINDS = new Set(["number", "integer", "int", "decimal", "float"]);

export function isGroup(c) { return !!c && typeof c === "object" && (Array.isArray(c.all) || Array.isArray(c.any)); }
function groupKind(g) { return Array.isArray(g.any) ? "any" : "all"; }
function items(g) { return g[groupKind(g)]; }

export function summary(cond, depth) {
  if (!cond || typeof cond !== "object") { return ""; }
  if (isGroup(cond)) {
    const parts = items(cond).map((c) => summary(c, (depth || 0) + 1)).filter(Boolean);
    const text = parts.join(` ${t(groupKind(cond) === "any" ? "or" : "and")} `);
    return depth && parts.length > 1 ? `(${text})` : text;
  }
  if (cond.op === "is_empty") { return `${cond.field} ${t("op_is_empty")}`; }
  const value = Array.isArray(cond.value) ? `[${cond.value.join(", ")}]` : String(cond.value ?? "");
  return `${cond.field} ${cond.op} ${value}`;
}

// Field choices for conditions: the fields they may read plus the outcome of every
// approval node in the document.
export function fieldChoices(knownFields, doc) {
  const choices = knownFields.filter((f) => !f.writeOnly)
    .map((f) => ({ value: f.value, label: f.label, kind: f.kind, options: f.options || [] }));
  for (const node of doc.nodes) {
    if (node.type === "approval") {
      choices.push({ value: `process.${node.id}.outcome`, kind: "select", options: ["approved", "rejected"],
        label: t("outcome_of", { node: node.label || node.id }) });
    }
  }
  return choices;
}

export function parseValue(text, op, kind) {
  const one = (s) => {
    const trimmed = s.trim();
    if ((NUMERIC_KINDS.has(kind) || op === "<" || op === ">") && trimmed !== "" && !Number.isNaN(Number(trimmed))) {
      return Number(trimmed);
    }
    return trimmed;
  };
  if (op === "in") { return text.split(/[,，]/).map(one).filter((v) => v !== ""); }
  return one(text);
}

function showValue(value) { return Array.isArray(value) ? value.join(", ") : String(value ?? ""); }

function toView(cond) {
  if (!cond) { return { all: [] }; }
  return isGroup(cond) ? JSON.parse(JSON.stringify(cond)) : { all: [JSON.parse(JSON.stringify(cond))] };
}

function fromView(view, wasLeaf) {
  const list = items(view);
  if (!list.length) { return null; }
  if (wasLeaf && list.length === 1 && !isGroup(list[0])) { return list[0]; }
  return view;
}

function at(view, path) {
  let node = view;
  for (const i of path) { node = items(node)[i]; }
  return node;
}

// conditionEditor(edge, ctx): ctx = {fields, operators, typeOperators (field kind → the
// operators it allows), change(fn, mergeKey, structural)}.
export function conditionEditor(edge, ctx) {
  const wasLeaf = !!edge.condition && !isGroup(edge.condition);
  const update = (mutate, mergeKey, structural) => ctx.change((e) => {
    const view = toView(e.condition);
    mutate(view);
    e.condition = fromView(view, wasLeaf);
  }, mergeKey, structural);
  const root = toView(edge.condition);
  const wrap = el("div", { class: "dz-condition" });
  if (!items(root).length) {
    wrap.appendChild(el("p", { class: "muted small", text: t("no_condition") }));
  }
  wrap.appendChild(groupEditor(root, [], { ...ctx, update }));
  return wrap;
}

function newLeaf(ctx) {
  const first = ctx.fields[0];
  return { field: first ? first.value : "", op: "==", value: "" };
}

// Controls are named by their path for focus keeping and tests: "cond" is the root
// group, "cond.1" its second item, "cond.1.0.field" the field of that group's first leaf.
const keyOf = (path) => ["cond", ...path].join(".");

function groupEditor(group, path, ctx) {
  const key = keyOf(path);
  const box = el("fieldset", { class: path.length ? "dz-group" : "dz-group dz-root-group" },
    path.length ? el("legend", { text: t("group") }) : null);
  const mode = select([{ value: "all", label: t("match_all") }, { value: "any", label: t("match_any") }],
    groupKind(group), { "data-key": `${key}.mode`, "aria-label": t("group_mode") });
  mode.addEventListener("change", () => ctx.update((view) => {
    const g = at(view, path);
    const list = items(g);
    delete g.all; delete g.any;
    g[mode.value] = list;
  }, null, false));
  box.appendChild(mode);
  items(group).forEach((child, i) => {
    const childPath = [...path, i];
    box.appendChild(isGroup(child) ? groupEditor(child, childPath, ctx) : leafEditor(child, childPath, ctx));
  });
  const actions = el("div", { class: "dz-row" },
    button(t("add_condition"), () => ctx.update((v) => items(at(v, path)).push(newLeaf(ctx)), null, true),
      { "data-key": `${key}.add` }),
    button(t("add_group"), () => ctx.update((v) => items(at(v, path)).push({ any: [newLeaf(ctx)] }), null, true),
      { "data-key": `${key}.addgroup` }));
  if (path.length) {
    actions.appendChild(button(t("remove_group"), () => ctx.update((v) => {
      items(at(v, path.slice(0, -1))).splice(path[path.length - 1], 1);
    }, null, true), { class: "danger" }));
  }
  box.appendChild(actions);
  return box;
}

function leafEditor(leaf, path, ctx) {
  const key = keyOf(path);
  const choice = ctx.fields.find((f) => f.value === leaf.field);
  const fieldSel = select(ctx.fields, leaf.field, { "data-key": `${key}.field`, "aria-label": t("field") });
  const allowed = choice && ctx.typeOperators && ctx.typeOperators[choice.kind];
  const ops = allowed ? ctx.operators.filter((op) => allowed.includes(op)) : ctx.operators;
  const opSel = select(ops.map((op) => ({ value: op, label: t(`op_${op}`) })), leaf.op,
    { "data-key": `${key}.op`, "aria-label": t("operator") });
  const listId = `dz-values-${path.join("-")}`;
  const value = el("input", { type: "text", value: showValue(leaf.value), "data-key": `${key}.value`,
    "aria-label": t("value"), placeholder: leaf.op === "in" ? t("comma_separated") : "",
    list: choice && choice.options.length ? listId : null, hidden: leaf.op === "is_empty" });
  const options = choice && choice.options.length
    ? el("datalist", { id: listId }, choice.options.map((o) => el("option", { value: o }))) : null;
  const set = (mutate, mergeKey, structural) => ctx.update((v) => mutate(at(v, path)), mergeKey, structural);
  fieldSel.addEventListener("change", () => set((l) => {
    l.field = fieldSel.value;
    const next = ctx.fields.find((f) => f.value === l.field);
    const okOps = next && ctx.typeOperators && ctx.typeOperators[next.kind];
    if (okOps && !okOps.includes(l.op)) { l.op = okOps[0]; }
  }, null, true));
  opSel.addEventListener("change", () => set((l) => {
    l.op = opSel.value;
    if (l.op === "is_empty") { delete l.value; } else {
      l.value = parseValue(showValue(l.value), l.op, choice && choice.kind);
    }
  }, null, true));
  value.addEventListener("input", () => set((l) => {
    l.value = parseValue(value.value, l.op, choice && choice.kind);
  }, `${key}.value`, false));
  const remove = button("×", () => ctx.update((v) => {
    items(at(v, path.slice(0, -1))).splice(path[path.length - 1], 1);
  }, null, true), { class: "danger dz-icon", "aria-label": t("remove_condition"), title: t("remove_condition") });
  return el("div", { class: "dz-leaf", "data-path": key }, fieldSel, opSel, value, options, remove);
}
