// Dry-run: the admin enters field values and the outcome of each approval, the
// server simulates the ticket's way through the (unsaved) document with the pure
// simulate(), and the path is shown step by step on the canvas — "Next"/"Previous"
// to walk it, "Play" to watch it.

import { button, clear, el, field, select, t } from "./dom.js";
import { parseValue } from "./conditions.js";

const PLAY_MS = 700;

export function createDryRun(root, store, api, cfg, canvas) {
  const form = el("form", { class: "dz-dryrun-form", novalidate: true });
  const outcomesBox = el("div", { class: "dz-outcomes" });
  const steps = el("ol", { class: "dz-steps", id: "dz-steps" });
  const result = el("p", { class: "dz-result", role: "status", "aria-live": "polite" });
  const prev = button(t("step_previous"), () => go(current - 1), { disabled: true, id: "dz-step-prev" });
  const next = button(t("step_next"), () => go(current + 1), { disabled: true, id: "dz-step-next" });
  const play = button(t("step_play"), () => playAll(), { disabled: true, id: "dz-step-play" });
  let path = [];
  let current = -1;
  let timer = null;

  const inputs = cfg.fields.filter((f) => !f.writeOnly).map((f) => {
    const input = el("input", { type: "text", name: f.value, "data-kind": f.kind || "",
      list: f.options && f.options.length ? `dz-dry-${f.value}` : null });
    return { f, input, node: field(f.label, input), options: f.options && f.options.length
      ? el("datalist", { id: `dz-dry-${f.value}` }, f.options.map((o) => el("option", { value: o }))) : null };
  });
  // Fields the flow's conditions read come first; the others wait under "More fields".
  const used = el("div", { class: "dz-used-fields" });
  const more = el("div", {});
  const moreBox = el("details", { class: "dz-more-fields" }, el("summary", { text: t("dry_more_fields") }), more);
  form.append(el("fieldset", { class: "dz-group" }, el("legend", { text: t("dry_fields") }), used, moreBox));
  for (const i of inputs) { if (i.options) { form.appendChild(i.options); } }

  function placeFields() {
    const read = new Set(JSON.stringify(store.doc.edges.map((e) => e.condition))
      .match(/"field":"[^"]+"/g) || []);
    for (const i of inputs) {
      (read.has(`"field":${JSON.stringify(i.f.value)}`) ? used : more).appendChild(i.node);
    }
    moreBox.hidden = !more.children.length;
  }
  form.append(outcomesBox, button(t("dry_run_button"), null, { type: "submit", class: "primary", id: "dz-dry-run" }));
  root.append(form, result, el("div", { class: "dz-row" }, prev, next, play), steps);

  function renderOutcomes() {
    const kept = {};
    for (const s of outcomesBox.querySelectorAll("select")) { kept[s.name] = s.value; }
    clear(outcomesBox);
    const approvals = store.doc.nodes.filter((n) => n.type === "approval");
    if (!approvals.length) { return; }
    outcomesBox.appendChild(el("fieldset", { class: "dz-group" }, el("legend", { text: t("dry_outcomes") }),
      approvals.map((n) => field(n.label || n.id, select([{ value: "approved", label: t("on_approved") },
        { value: "rejected", label: t("on_rejected") }], kept[n.id] || "approved", { name: n.id })))));
  }

  function values() {
    const fields = {};
    for (const { f, input } of inputs) {
      if (input.value.trim() !== "") { fields[f.value] = parseValue(input.value, "==", f.kind); }
    }
    const outcomes = {};
    for (const s of outcomesBox.querySelectorAll("select")) { outcomes[s.name] = s.value; }
    return { fields, outcomes };
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    stop();
    result.textContent = t("dry_running");
    try {
      const body = await api.post(api.urls.dryRun, { document: store.doc, ...values() });
      show(body);
    } catch (err) {
      path = []; current = -1; clear(steps); highlight();
      result.textContent = err.message || t("dry_failed");
    }
  });

  function show(body) {
    path = body.steps || [];
    clear(steps);
    path.forEach((s, i) => steps.appendChild(el("li", { "data-step": i, "data-step-node": s.node || "" },
      button(s.text || s.node, () => go(i), { class: "link" }))));
    result.textContent = body.result || "";
    go(path.length ? 0 : -1);
  }

  function go(i) {
    current = Math.max(-1, Math.min(path.length - 1, i));
    prev.disabled = current <= 0;
    next.disabled = current >= path.length - 1;
    play.disabled = path.length === 0;
    steps.querySelectorAll("li").forEach((li, j) => {
      li.classList.toggle("current", j === current);
      li.classList.toggle("done", j < current);
      if (j === current) { li.setAttribute("aria-current", "step"); } else { li.removeAttribute("aria-current"); }
    });
    highlight();
  }

  function highlight() {
    const items = [];
    path.slice(0, current + 1).forEach((s) => {
      if (s.node) { items.push(`node:${s.node}`); }
      if (s.edge) { items.push(`edge:${s.edge}`); }
    });
    const step = path[current];
    canvas.setPath(items, step && step.node ? `node:${step.node}` : null);
  }

  function playAll() {
    stop();
    go(0);
    timer = setInterval(() => {
      if (current >= path.length - 1) { stop(); return; }
      go(current + 1);
    }, PLAY_MS);
  }

  function stop() { if (timer) { clearInterval(timer); timer = null; } }

  store.subscribe((reason) => { if (reason === "change") { renderOutcomes(); placeFields(); } });
  renderOutcomes();
  placeFields();
  return { clear() { stop(); path = []; clear(steps); go(-1); result.textContent = ""; } };
}
