// Readable names for nodes and edges (canvas texts, accessible labels, panel
// headings): the type in the admin's language, the label, and the one detail that
// tells two nodes of a type apart (who does a task, who approves, what an action does).

import { t } from "./dom.js";

export function createDescriber(cfg) {
  const lookup = {};
  for (const [kind, list] of Object.entries(cfg.org || {})) {
    lookup[kind] = new Map((list || []).map((o) => [String(o.value), o.label]));
  }
  const listOf = { department: "departments", department_lead: "departments", team: "teams", role: "roles",
    user: "users" };

  function who(w) {
    if (!w || !w.kind) { return ""; }
    const names = lookup[listOf[w.kind]];
    const one = (v) => (names && names.get(String(v))) || v;
    // several approving users are a list: name each ("Alice, Bob"), not "alice,bob"
    const value = Array.isArray(w.value) ? w.value.map(one).join(", ") : w.value ? one(w.value) : "";
    return value ? `${t(`who_${w.kind}`)}: ${value}` : t(`who_${w.kind}`);
  }

  const typeName = (type) => t(`type_${type}`);

  function nodeName(node) {
    return node.label ? `${typeName(node.type)}: ${node.label}` : `${typeName(node.type)} (${node.id})`;
  }

  function nodeDetail(node) {
    switch (node.type) {
      case "task": return who(node.assignee);
      case "approval": return who(node.approvers);
      case "action": return node.action ? t(`action_${node.action}`) : "";
      case "end": return node.outcome ? t(`outcome_${node.outcome}`) : "";
      default: return "";
    }
  }

  function short(node, id) { return node ? node.label || node.id : id; }

  function edgeName(edge, from, to) {
    return t("edge_from_to", { from: short(from, edge.from), to: short(to, edge.to) });
  }

  // What an edge shows on the canvas: its own label if it has one, else what it means.
  // The order only matters where a condition chooses (gateways, approvals with conditions).
  function edgeText(edge, conditionText, from) {
    if (edge.label) { return edge.label; }
    const parts = [];
    if (edge.on) { parts.push(t(`on_${edge.on}`)); }
    if (conditionText) { parts.push(conditionText); }
    if (from && from.type === "gateway") {
      parts.push(conditionText ? (Number(edge.order) > 0 ? `#${edge.order}` : "") : t("otherwise"));
    }
    return parts.filter(Boolean).join(" · ");
  }

  return { typeName, nodeName, nodeDetail, edgeName, edgeText, who };
}
