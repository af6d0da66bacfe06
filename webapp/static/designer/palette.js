// The palette: one button per node type. Drag a button onto the canvas to place a
// node where it is dropped; click it (or press Enter on it) to place the node in the
// middle of the visible canvas, next to whatever is already there.

import { el } from "./dom.js";
import { newNode } from "./store.js";
import { box } from "./geometry.js";

const DRAG_THRESHOLD = 4;

export function createPalette(paletteEl, svgEl, store, canvas, describe) {
  let drag = null;

  function place(type, at) {
    let made = null;
    store.change((doc) => {
      const spot = at || freeSpot(doc, canvas.centre());
      made = newNode(doc, type, Math.round(spot.x / 10) * 10, Math.round(spot.y / 10) * 10);
      doc.nodes.push(made);
    });
    store.select({ kind: "node", id: made.id });
    canvas.focusItem("node", made.id);
    return made;
  }

  paletteEl.querySelectorAll("[data-type]").forEach((item) => {
    item.addEventListener("click", () => {
      if (item.dataset.dragged === "1") { item.dataset.dragged = ""; return; }
      place(item.getAttribute("data-type"), null);
    });
    item.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) { return; }
      drag = { item, type: item.getAttribute("data-type"), sx: e.clientX, sy: e.clientY, ghost: null };
      item.setPointerCapture(e.pointerId);
    });
    item.addEventListener("pointermove", (e) => {
      if (!drag || drag.item !== item) { return; }
      if (!drag.ghost && Math.hypot(e.clientX - drag.sx, e.clientY - drag.sy) < DRAG_THRESHOLD) { return; }
      if (!drag.ghost) {
        drag.ghost = el("div", { class: "dz-drag-ghost", "aria-hidden": "true", text: describe.typeName(drag.type) });
        document.body.appendChild(drag.ghost);
      }
      drag.ghost.style.left = `${e.clientX + 8}px`;
      drag.ghost.style.top = `${e.clientY + 8}px`;
    });
    item.addEventListener("pointerup", (e) => {
      if (!drag || drag.item !== item) { return; }
      const d = drag;
      drag = null;
      if (item.hasPointerCapture(e.pointerId)) { item.releasePointerCapture(e.pointerId); }
      if (!d.ghost) { return; }  // a click: the click handler places the node
      d.ghost.remove();
      item.dataset.dragged = "1";
      setTimeout(() => { item.dataset.dragged = ""; }, 0);
      const r = svgEl.getBoundingClientRect();
      if (e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom) {
        place(d.type, canvas.toWorld(e.clientX, e.clientY));
      }
    });
    item.addEventListener("pointercancel", () => {
      if (drag && drag.ghost) { drag.ghost.remove(); }
      drag = null;
    });
  });
}

// The centre of the view, moved down until the new node overlaps no other node.
function freeSpot(doc, centre) {
  const spot = { x: centre.x, y: centre.y };
  for (let tries = 0; tries < 30; tries += 1) {
    const probe = box({ type: "task", x: spot.x, y: spot.y });
    const hit = doc.nodes.some((n) => {
      const b = box(n);
      return b.x < probe.x + probe.w && probe.x < b.x + b.w && b.y < probe.y + probe.h && probe.y < b.y + b.h;
    });
    if (!hit) { break; }
    spot.y += 80;
  }
  return spot;
}
