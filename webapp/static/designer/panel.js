// The side panel: properties of the selected node or edge, or of the process itself
// when nothing is selected. Edits go through the store (so they can be undone); the
// panel redraws itself after undo/redo and structural edits (a row added or removed),
// but not while the user types, and it puts the focus back where it was.

import { button, clear, el, field, select, t } from "./dom.js";
import { findItem, addEdge, nodeById } from "./store.js";
import { nodeEditor, input, numberInput } from "./nodeforms.js";
import { conditionEditor, fieldChoices } from "./conditions.js";

export function createPanel(container, store, cfg, hooks) {
  let selfChange = false;
  let problems = new Map();  // "node:id" → [messages]
  const problemBox = el("div", { class: "dz-panel-problems", role: "status" });

  function change(fn, mergeKey, structural) {
    const ref = store.selection;
    selfChange = !structural;
    try {
      store.change((doc) => fn(ref ? findItem(doc, ref) : doc, doc), mergeKey);
    } finally {
      selfChange = false;
    }
  }

  function render() {
    const active = document.activeElement;
    const key = active && container.contains(active) ? active.getAttribute("data-key") : null;
    const caret = key && typeof active.selectionStart === "number" ? active.selectionStart : null;
    clear(container);
    const ref = store.selection;
    const item = ref ? findItem(store.doc, ref) : null;
    const ctx = { change, org: cfg.org, fields: fieldChoices(cfg.fields, store.doc), allFields: cfg.fields,
      operators: cfg.operators,
      typeOperators: cfg.typeOperators, vocab: cfg.vocab };
    const body = !item ? processEditor(store.doc, ctx)
      : ref.kind === "node" ? nodePanel(item, ctx) : edgePanel(item, ctx);
    container.append(...body);
    showProblems();
    if (key) {
      const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
      if (again) {
        again.focus({ preventScroll: true });
        if (caret !== null && typeof again.setSelectionRange === "function" && again.type === "text") {
          again.setSelectionRange(caret, caret);
        }
      }
    }
  }

  function showProblems() {
    clear(problemBox);
    const ref = store.selection;
    const list = ref ? problems.get(`${ref.kind}:${ref.id}`) || [] : problems.get("process") || [];
    if (list.length) {
      problemBox.appendChild(el("ul", { class: "dz-problems-here" }, list.map((m) => el("li", { text: m }))));
    }
  }

  function heading(text) { return el("h2", { id: "dz-panel-title", text }); }

  function nodePanel(node, ctx) {
    const others = store.doc.nodes.filter((n) => n.id !== node.id && n.type !== "start" &&
      !store.doc.edges.some((e) => e.from === node.id && e.to === n.id));
    const target = select(others.map((n) => ({ value: n.id, label: hooks.describe.nodeName(n) })), "",
      { "data-key": "connect.to" });
    const parts = [
      heading(hooks.describe.nodeName(node)), problemBox,
      el("p", { class: "muted small" }, t("node_id"), " ", el("code", { text: node.id }), " · ",
        hooks.describe.typeName(node.type)),
      field(t("label"), input("label", node.label, (v) => change((n) => { n.label = v; }, `label:${node.id}`))),
      ...nodeEditor(node, ctx),
    ];
    if (node.type !== "end" && others.length) {
      parts.push(el("h3", { text: t("connections") }), el("div", { class: "dz-row" }, field(t("connect_to"), target),
        button(t("connect"), () => {
          let made = null;
          store.change((doc) => { made = addEdge(doc, node.id, target.value); });
          if (made) { store.select({ kind: "edge", id: made.id }); }
        }, { "data-key": "connect.add" })));
    }
    parts.push(el("div", { class: "dz-panel-actions" },
      button(t("delete_node"), () => hooks.remove(), { class: "danger", "data-key": "delete" })));
    return parts;
  }

  function edgePanel(edge, ctx) {
    const from = nodeById(store.doc, edge.from);
    const to = nodeById(store.doc, edge.to);
    const parts = [heading(hooks.describe.edgeName(edge, from, to)), problemBox,
      el("p", { class: "muted small" }, t("edge_id"), " ", el("code", { text: edge.id })),
      field(t("label"), input("label", edge.label, (v) => change((e) => {
        if (v) { e.label = v; } else { delete e.label; }
      }, `label:${edge.id}`)), t("edge_label_hint"))];
    if (from && from.type === "approval") {
      const outcomes = ["approved", "rejected"].map((v) => ({ value: v, label: t(`on_${v}`) }));
      const on = select(outcomes, edge.on, { "data-key": "on" });
      on.addEventListener("change", () => change((e) => { e.on = on.value; }, null, true));
      parts.push(field(t("edge_on"), on));
    }
    parts.push(field(t("edge_order"), numberInput("order", edge.order,
      (v) => change((e) => { e.order = v === null ? 0 : v; }, `order:${edge.id}`)), t("edge_order_hint")));
    // Only edges leaving a gateway or an approval choose by condition (0018).
    if ((from && (from.type === "gateway" || from.type === "approval")) || edge.condition) {
      parts.push(el("h3", { text: t("condition") }), conditionEditor(edge, ctx));
    } else {
      parts.push(el("p", { class: "muted small", text: t("no_condition_here") }));
    }
    parts.push(el("div", { class: "dz-panel-actions" },
      button(t("delete_edge"), () => hooks.remove(), { class: "danger", "data-key": "delete" })));
    return parts;
  }

  function processEditor(doc, ctx) {
    const parts = [heading(t("process_properties")), problemBox,
      field(t("process_key"), input("key", doc.key, (v) => change((d) => { d.key = v.trim(); }, "key"),
        { readonly: cfg.keyLocked || null, pattern: "[a-z0-9_]{2,64}", spellcheck: "false" }), t("process_key_hint")),
      field(t("name_zh"), input("name.zh", doc.name.zh, (v) => change((d) => { d.name.zh = v; }, "name.zh"))),
      field(t("name_en"), input("name.en", doc.name.en, (v) => change((d) => { d.name.en = v; }, "name.en"))),
    ];
    const desc = el("textarea", { rows: 2, "data-key": "description", text: doc.description || "" });
    desc.addEventListener("input", () => change((d) => { d.description = desc.value; }, "description"));
    parts.push(field(t("description"), desc), el("h3", { text: t("start_rules") }),
      el("p", { class: "muted small", text: t("start_rules_hint") }));
    doc.start_rules.forEach((rule, i) => parts.push(startRule(rule, i, ctx)));
    parts.push(button(t("add_start_rule"), () => change((d) => {
      d.start_rules.push({ category: null, channel: null, department: null });
    }, null, true), { "data-key": "start_rules.add" }));
    parts.push(el("p", { class: "muted small", text: t("panel_hint") }));
    return parts;
  }

  function startRule(rule, i, ctx) {
    const pick = (name, options) => {
      const node = select([{ value: "", label: t("any_value") }, ...options], rule[name] ?? "",
        { "data-key": `start_rules.${i}.${name}` });
      node.addEventListener("change", () => change((d) => { d.start_rules[i][name] = node.value || null; }));
      return field(t(`rule_${name}`), node);
    };
    return el("fieldset", { class: "dz-group" }, el("legend", { text: t("start_rule_n", { n: i + 1 }) }),
      pick("category", cfg.org.categories), pick("channel", cfg.org.channels),
      pick("department", cfg.org.departments),
      rule.custom ? el("p", { class: "muted small", text: t("custom_rule_kept") }) : null,
      button(t("remove_start_rule"), () => change((d) => { d.start_rules.splice(i, 1); }, null, true),
        { class: "danger" }));
  }

  store.subscribe((reason) => {
    if (reason === "live" || selfChange) { return; }
    render();
  });
  render();
  return {
    render,
    setProblems(map) { problems = map; showProblems(); },
  };
}
