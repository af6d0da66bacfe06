// Property editors for each node type (0018): a task's assignee, form and SLA; an
// approval's approvers, quorum, due time and escalation; an action's type and
// parameters; an end's outcome. Each editor gets the node and a context whose
// change(fn, mergeKey, structural) edits the selected node through the store.

import { button, el, field, select, t } from "./dom.js";
import { parseValue } from "./conditions.js";

// The rules' vocabulary (kinds, events, parameters of each action) comes from the page
// (config.vocab, built from appliance/rules/process_nodes.py), so it cannot drift.
// Fields a form may ask for, or set_fields may write: the vocabulary's list plus every
// custom field; never the read-only process.<id>.outcome.
const writable = (ctx, names) => ctx.allFields.filter((f) => String(f.value).startsWith("custom.") ||
  names.includes(f.value));
const kindOf = (ctx, name) => { const f = ctx.allFields.find((x) => x.value === name); return f ? f.kind : ""; };

// The control each action parameter gets; a parameter not named here is a text box,
// and "body" (a webhook's JSON body) is kept as it is, not edited here.
const PARAM_CONTROLS = {
  fields: "field_values", text: "textarea", message: "textarea", description: "textarea",
  internal: "flag", wait: "flag", to: "recipient", department: "department", minutes: "number",
  timeout_minutes: "number", event: "event", status: "status", field: "field", method: "method", body: null,
};

export function input(key, value, onInput, attrs) {
  const node = el("input", Object.assign({ type: "text", value: value ?? "", "data-key": key }, attrs || {}));
  node.addEventListener("input", () => onInput(node.value));
  return node;
}

export function numberInput(key, value, onChange, attrs) {
  const node = el("input", Object.assign({ type: "number", min: 0, step: 1, value: value ?? "", "data-key": key },
    attrs || {}));
  node.addEventListener("input", () => {
    const v = node.value.trim();
    onChange(v === "" ? null : Number(v));
  });
  return node;
}

function selectInput(key, options, current, onChange) {
  const node = select(options, current, { "data-key": key });
  node.addEventListener("change", () => onChange(node.value));
  return node;
}

function checkbox(key, label, checked, onChange) {
  const box = el("input", { type: "checkbox", "data-key": key, checked: !!checked });
  box.addEventListener("change", () => onChange(box.checked));
  return el("label", { class: "choice" }, box, label);
}

function choices(values, prefix) { return values.map((v) => ({ value: v, label: t(`${prefix}${v}`) })); }

// Who: {kind, value} where the value list depends on the kind. Team values are ids
// (numbers); approvers chosen by name may be several users (a list, for quorums).
function whoEditor(key, who, kinds, ctx, write, multiUser) {
  const current = who || { kind: kinds[0], value: "" };
  const lists = { department: ctx.org.departments, department_lead: ctx.org.departments, team: ctx.org.teams,
    role: ctx.org.roles, user: ctx.org.users };
  const wrap = el("div", { class: "dz-who" });
  wrap.appendChild(field(t(`${key}_kind`), selectInput(`${key}.kind`, choices(kinds, "who_"), current.kind,
    (kind) => ctx.change((n) => write(n, { kind, value: kind === "user" && multiUser ? [] : "" }), null, true))));
  const list = lists[current.kind];
  if (!list) { return wrap; }
  if (current.kind === "user" && multiUser) {
    const chosen = new Set(Array.isArray(current.value) ? current.value : [current.value].filter(Boolean));
    const size = Math.min(6, Math.max(3, list.length));
    const box = el("select", { multiple: true, size, "data-key": `${key}.value` },
      list.map((o) => el("option", { value: o.value, text: o.label, selected: chosen.has(String(o.value)) })));
    box.addEventListener("change", () => ctx.change((n) => write(n, { kind: "user",
      value: Array.from(box.selectedOptions).map((o) => o.value) }), null, false));
    wrap.appendChild(field(t(`${key}_value`), box, t("several_users_hint")));
    return wrap;
  }
  const blank = current.kind === "department_lead" ? [{ value: "", label: t("ticket_department") }]
    : [{ value: "", label: t("choose") }];
  wrap.appendChild(field(t(`${key}_value`), selectInput(`${key}.value`, [...blank, ...list], current.value,
    (value) => ctx.change((n) => write(n, { kind: current.kind,
      value: current.kind === "team" && value !== "" ? Number(value) : value }), null, false))));
  return wrap;
}

function taskEditor(node, ctx) {
  const fields = writable(ctx, ctx.vocab.formFields);
  const rows = (node.form || []).map((f, i) => el("div", { class: "dz-form-row" },
    selectInput(`form.${i}.field`, fields, f.field, (v) => ctx.change((n) => { n.form[i].field = v; }, null, false)),
    checkbox(`form.${i}.required`, t("required"), f.required, (v) => ctx.change((n) => { n.form[i].required = v; })),
    checkbox(`form.${i}.shown`, t("shown"), f.shown !== false, (v) => ctx.change((n) => { n.form[i].shown = v; })),
    input(`form.${i}.default`, f.default, (v) => ctx.change((n) => {
      n.form[i].default = v === "" ? null : parseValue(v, "==", kindOf(ctx, n.form[i].field));
    },
      `form.${i}.default`), { "aria-label": t("default_value"), placeholder: t("default_value") }),
    button("×", () => ctx.change((n) => { n.form.splice(i, 1); }, null, true),
      { class: "danger dz-icon", "aria-label": t("remove_form_field"), title: t("remove_form_field") })));
  const first = fields[0] ? fields[0].value : "";
  return [
    el("h3", { text: t("assignee") }),
    whoEditor("assignee", node.assignee, ctx.vocab.assigneeKinds, ctx, (n, v) => { n.assignee = v; }),
    field(t("sla_minutes"), numberInput("sla_minutes", node.sla_minutes,
      (v) => ctx.change((n) => { n.sla_minutes = v; }, "sla"))),
    el("h3", { text: t("form_fields") }),
    el("div", { class: "dz-form-rows" },
      rows.length ? rows : el("p", { class: "muted small", text: t("no_form_fields") })),
    button(t("add_form_field"), () => ctx.change((n) => {
      n.form = n.form || [];
      n.form.push({ field: first, required: false, default: null, shown: true });
    }, null, true), { "data-key": "form.add" }),
  ];
}

function approvalEditor(node, ctx) {
  const quorum = node.quorum || { mode: "any" };
  const parts = [
    el("h3", { text: t("approvers") }),
    whoEditor("approvers", node.approvers, ctx.vocab.approverKinds, ctx, (n, v) => { n.approvers = v; }, true),
    field(t("quorum"), selectInput("quorum.mode", choices(ctx.vocab.quorumModes, "quorum_"), quorum.mode,
      (mode) => ctx.change((n) => {
        n.quorum = mode === "n_of_m" ? { mode, n: quorum.n || 2 } : { mode };
      }, null, true))),
  ];
  if (quorum.mode === "n_of_m") {
    const setN = (v) => ctx.change((n) => { n.quorum.n = v; }, "qn");
    parts.push(field(t("quorum_n"), numberInput("quorum.n", quorum.n, setN, { min: 1 })));
  }
  parts.push(field(t("due_minutes"), numberInput("due_minutes", node.due_minutes,
    (v) => ctx.change((n) => { n.due_minutes = v; }, "due"))));
  const escalating = !!node.escalate_to;
  parts.push(el("h3", { text: t("escalation") }),
    checkbox("escalate", t("escalate_when_due"), escalating, (on) => ctx.change((n) => {
      n.escalate_to = on ? { kind: "department_lead", value: "" } : null;
    }, null, true)));
  if (escalating) {
    parts.push(whoEditor("escalate_to", node.escalate_to, ctx.vocab.approverKinds, ctx,
      (n, v) => { n.escalate_to = v; }));
  }
  return parts;
}

function paramEditor(name, node, ctx) {
  const spec = { name, kind: PARAM_CONTROLS[name] === undefined ? "text" : PARAM_CONTROLS[name] };
  if (spec.kind === null) { return null; }
  const params = node.params || {};
  const key = `params.${spec.name}`;
  // An optional parameter left empty is removed rather than stored as null or "".
  const write = (v, structural) => ctx.change((n) => {
    n.params = n.params || {};
    if (v === null || v === "" || v === false) { delete n.params[spec.name]; } else { n.params[spec.name] = v; }
  }, structural ? null : key, structural);
  const label = t(`param_${spec.name}`);
  const value = params[spec.name];
  const pick = (options) => field(label, selectInput(key, [{ value: "", label: t("choose") }, ...options], value,
    (v) => write(v, true)));
  switch (spec.kind) {
    case "textarea": {
      const area = el("textarea", { rows: 3, "data-key": key, text: value ?? "" });
      area.addEventListener("input", () => write(area.value));
      return field(label, area);
    }
    case "number": return field(label, numberInput(key, value, (v) => write(v)));
    case "flag": return checkbox(key, label, value, (v) => write(v));
    case "department": return pick(ctx.org.departments);
    case "event": return pick(choices(ctx.vocab.waitEvents, "event_"));
    case "status": return pick(ctx.vocab.statuses);
    case "field": return pick(ctx.fields.filter((f) => !String(f.value).startsWith("process.")));
    case "method": return pick(ctx.vocab.methods.map((m) => ({ value: m, label: m })));
    case "recipient":
      return whoEditor("notify", value, ctx.vocab.notifyKinds, ctx, (n, v) => {
        n.params = n.params || {};
        n.params.to = v;
      });
    case "field_values": return fieldValues(value || {}, ctx);
    default: return field(label, input(key, value, (v) => write(v)));
  }
}

// set_fields: {field: value} edited as rows; a row's field can be changed or removed.
function fieldValues(values, ctx) {
  const settable = writable(ctx, ctx.vocab.settableFields);
  const entries = Object.entries(values);
  const rows = entries.map(([name, value], i) => el("div", { class: "dz-form-row" },
    selectInput(`params.fields.${i}.field`, settable, name, (v) => ctx.change((n) => {
      const next = {};
      for (const [k, val] of Object.entries(n.params.fields)) { next[k === name ? v : k] = val; }
      n.params.fields = next;
    }, null, true)),
    input(`params.fields.${i}.value`, value, (v) => ctx.change((n) => {
      n.params.fields[name] = parseValue(v, "==", kindOf(ctx, name));
    },
      `params.fields.${i}`), { "aria-label": t("value") }),
    button("×", () => ctx.change((n) => { delete n.params.fields[name]; }, null, true),
      { class: "danger dz-icon", "aria-label": t("remove_field_value"), title: t("remove_field_value") })));
  const unused = settable.find((f) => !(f.value in values));
  return el("div", { class: "dz-field" }, el("h3", { text: t("param_fields") }), ...rows,
    unused ? button(t("add_field_value"), () => ctx.change((n) => {
      n.params = n.params || {};
      n.params.fields = Object.assign({}, n.params.fields, { [unused.value]: "" });
    }, null, true), { "data-key": "params.fields.add" }) : null);
}

function actionEditor(node, ctx) {
  const names = ctx.vocab.actions[node.action] || [];
  return [
    field(t("action_type"), selectInput("action", choices(Object.keys(ctx.vocab.actions), "action_"), node.action,
      (action) => ctx.change((n) => { n.action = action; n.params = {}; }, null, true))),
    ...names.map((name) => paramEditor(name, node, ctx)),
  ];
}

function endEditor(node, ctx) {
  return [field(t("outcome"), selectInput("outcome", choices(ctx.vocab.endOutcomes, "outcome_"), node.outcome,
    (outcome) => ctx.change((n) => { n.outcome = outcome; }, null, false)))];
}

const EDITORS = { task: taskEditor, approval: approvalEditor, action: actionEditor, end: endEditor };

export function nodeEditor(node, ctx) {
  const editor = EDITORS[node.type];
  return editor ? editor(node, ctx) : [];
}
