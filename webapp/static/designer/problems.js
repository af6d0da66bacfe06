// Inline validation: after each change (debounced) the document is posted to the
// server, which runs the same pure validate() that publishing and import run; the
// problems come back with a JSON path (nodes[3].approvers) that is mapped to the node
// or edge it points at — by index in the document that was sent, since ids may be
// missing or duplicated in exactly the documents that have problems.

import { button, clear, debounce, el, t } from "./dom.js";

const PATH = /^\$?\.?(nodes|edges)(?:\[(\d+)\]|\.(\d+))/;

export function targetOf(path, doc) {
  const m = PATH.exec(String(path || ""));
  if (!m) { return { kind: "process", id: null }; }
  const list = m[1] === "nodes" ? doc.nodes : doc.edges;
  const item = list[Number(m[2] ?? m[3])];
  return { kind: m[1] === "nodes" ? "node" : "edge", id: item && typeof item.id === "string" ? item.id : null };
}

export function createValidation(store, api, views) {
  let seq = 0;
  let pending = false;
  let problems = [];
  let failed = false;
  const listEl = views.list;
  const countEl = views.count;

  async function run() {
    const mine = ++seq;
    const sent = JSON.parse(JSON.stringify(store.doc));
    pending = true;
    views.onState();
    try {
      const body = await api.post(api.urls.validate, { document: sent });
      if (mine !== seq) { return; }
      failed = false;
      show(body.problems || [], sent);
    } catch (err) {
      if (mine !== seq) { return; }
      failed = true;
      show([{ path: "", code: "unavailable", message: t("validation_unavailable") }], sent);
    } finally {
      if (mine === seq) { pending = false; views.onState(); }
    }
  }

  function show(list, sent) {
    problems = list.map((p) => ({ ...p, target: targetOf(p.path, sent) }));
    const byItem = new Map();
    for (const p of problems) {
      const key = p.target.kind === "process" || !p.target.id ? "process" : `${p.target.kind}:${p.target.id}`;
      if (!byItem.has(key)) { byItem.set(key, []); }
      byItem.get(key).push(p.message);
    }
    views.canvas.setProblems(byItem);
    views.panel.setProblems(byItem);
    renderList();
  }

  function renderList() {
    clear(listEl);
    countEl.textContent = problems.length ? t("problem_count", { n: problems.length }) : t("no_problems");
    countEl.classList.toggle("bad", problems.length > 0);
    for (const p of problems) {
      const go = p.target.id ? button(t("show"), () => {
        store.select({ kind: p.target.kind, id: p.target.id });
        views.canvas.focusItem(p.target.kind, p.target.id);
      }, { class: "link", "aria-label": t("show_item", { path: p.path }) }) : null;
      listEl.appendChild(el("li", { "data-code": p.code, "data-path": p.path },
        el("code", { class: "dz-path", text: p.path || "—" }), " ", el("span", { text: p.message }), " ", go));
    }
  }

  const later = debounce(run, 400);
  store.subscribe((reason) => {
    if (reason === "change") { pending = true; views.onState(); later(); }
  });
  return {
    run: () => later.flush(),
    get ok() { return !pending && !failed && problems.length === 0; },
    get pending() { return pending; },
    get problems() { return problems; },
    show,
  };
}
