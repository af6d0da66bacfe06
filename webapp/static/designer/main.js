// The process designer (webapp/templates/admin/process_designer.html): reads the page's
// JSON configuration, then wires the store, canvas, side panel, palette, validation,
// dry-run and toolbar together. See docs/decisions/0020-process-designer.md for why it
// is hand-written SVG and plain modules rather than an npm diagram library.

import { setStrings, t, typing } from "./dom.js";
import { createStore, normalise, removeItem } from "./store.js";
import { createCanvas } from "./canvas.js";
import { createPanel } from "./panel.js";
import { createValidation } from "./problems.js";
import { createDryRun } from "./dryrun.js";
import { createApi } from "./api.js";
import { createPalette } from "./palette.js";
import { createDescriber } from "./describe.js";
import { autoLayout } from "./layout.js";
import { createSaving } from "./saving.js";

// The document on screen as a .json file (saved or not), e.g. to keep work after a
// conflict; import takes it back.
function download(doc) {
  const blob = new Blob([`${JSON.stringify(doc, null, 2)}\n`], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${doc.key || "process"}.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function start() {
  const configEl = document.getElementById("designer-config");
  if (!configEl) { return; }
  const cfg = JSON.parse(configEl.textContent);
  setStrings(cfg.strings);
  const $ = (id) => document.getElementById(id);
  const initial = normalise(cfg.document);
  if (!initial.nodes.every((n) => Number.isFinite(n.x) && Number.isFinite(n.y))) { autoLayout(initial); }
  const store = createStore(initial);
  const api = createApi(cfg.urls, cfg.csrf);
  const describe = createDescriber(cfg);
  const canvas = createCanvas($("dz-canvas"), store, describe);
  const remove = () => {
    const sel = store.selection;
    if (!sel) { return; }
    store.change((doc) => removeItem(doc, sel));
    $("dz-canvas").focus();
  };
  const panel = createPanel($("dz-panel"), store, cfg, { describe, remove });
  const saving = createSaving(store, api, cfg, {
    message, refresh: () => refresh(),
    saved: (body) => {
      cfg.keyLocked = true;
      panel.render();
      document.querySelector(".dz-head h1").textContent = t("process_title", { key: body.key });
    },
  });
  const validation = createValidation(store, api, {
    canvas, panel, list: $("dz-problems"), count: $("dz-problem-count"), onState: () => refresh(),
  });
  saving.validation = validation;
  createDryRun($("dz-dryrun"), store, api, cfg, canvas);
  createPalette(document.querySelector(".dz-palette"), $("dz-canvas"), store, canvas, describe);

  const actions = {
    undo: () => store.undo(), redo: () => store.redo(),
    "zoom-in": () => canvas.zoomIn(), "zoom-out": () => canvas.zoomOut(), fit: () => canvas.fit(),
    layout: () => { store.change((doc) => autoLayout(doc)); canvas.fit(); },
    delete: remove, save: () => saving.save(), publish: () => saving.publish(),
    download: () => download(store.doc),
  };
  document.querySelectorAll("[data-dz-action]").forEach((b) => {
    b.addEventListener("click", () => actions[b.getAttribute("data-dz-action")]());
  });

  function refresh() {
    const tool = (name) => document.querySelector(`[data-dz-action="${name}"]`);
    tool("undo").disabled = !store.canUndo();
    tool("redo").disabled = !store.canRedo();
    tool("delete").disabled = !store.selection;
    const blocked = saving.publishBlocker();
    tool("publish").disabled = !!blocked;
    $("dz-publish-why").textContent = blocked || "";
    $("dz-state").textContent = saving.stateText();
  }

  function message(text, kind, link) {
    const box = $("dz-message");
    box.className = `flash ${kind || "success"}`;
    box.textContent = text;
    if (link) {
      const a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      box.append(" ", a);
    }
    box.hidden = !text;
  }

  document.addEventListener("keydown", (e) => {
    const mod = e.ctrlKey || e.metaKey;
    if (mod && e.key.toLowerCase() === "s") { e.preventDefault(); saving.save(); return; }
    if (typing(e.target)) { return; }
    if (mod && e.key.toLowerCase() === "z") {
      e.preventDefault();
      if (e.shiftKey) { store.redo(); } else { store.undo(); }
      return;
    }
    if (mod && e.key.toLowerCase() === "y") { e.preventDefault(); store.redo(); return; }
    if ((e.key === "Delete" || e.key === "Backspace") && store.selection) { e.preventDefault(); remove(); return; }
    if (e.key === "Escape" && store.selection) { store.select(null); }
  });
  window.addEventListener("beforeunload", (e) => {
    if (store.isDirty()) { e.preventDefault(); e.returnValue = ""; }
  });

  store.subscribe(() => refresh());
  refresh();
  canvas.fit();
  validation.run();
  document.documentElement.setAttribute("data-designer-ready", "1");
}

start();
