// Small DOM helpers shared by the designer's modules, and the translated strings.
// Every text the designer shows comes from the JSON blob the template renders
// (#designer-config → strings), already translated on the server; nothing here is
// shown untranslated. Texts go into the page through textContent only.

const SVG_NS = "http://www.w3.org/2000/svg";
let strings = {};

export function setStrings(table) { strings = table || {}; }

// t("key", {n: 2}) → the translated string with %(n)s replaced.
export function t(key, params) {
  let text = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
  if (params) {
    text = text.replace(/%\((\w+)\)s/g, (m, name) => (name in params ? String(params[name]) : m));
  }
  return text;
}

// el("button", {class: "x", type: "button", onclick: fn}, "text", child…)
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  return fill(node, attrs, children);
}

export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  return fill(node, attrs, children);
}

function fill(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) { continue; }
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "text") {
      node.textContent = String(value);
    } else if (value === true) {
      node.setAttribute(name, "");
    } else {
      node.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) { continue; }
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) { node.removeChild(node.firstChild); }
  return node;
}

let uid = 0;
export function uniqueId(prefix) { uid += 1; return `${prefix}-${uid}`; }

// A labelled form control: <label><span>text</span>control</label>.
export function field(labelText, control, hint) {
  const id = control.id || uniqueId("dz");
  control.id = id;
  return el("div", { class: "dz-field" },
    el("label", { for: id, text: labelText }), control,
    hint ? el("div", { class: "muted small", text: hint }) : null);
}

// <select> from [{value, label}] with the current value selected (kept even if unknown).
export function select(options, current, attrs) {
  const node = el("select", attrs || {});
  let found = false;
  for (const opt of options) {
    const o = el("option", { value: opt.value, text: opt.label });
    if (String(opt.value) === String(current ?? "")) { o.selected = true; found = true; }
    node.appendChild(o);
  }
  if (!found && current !== undefined && current !== null && current !== "") {
    node.insertBefore(el("option", { value: current, text: current, selected: true }), node.firstChild);
  }
  return node;
}

export function button(text, onclick, attrs) {
  return el("button", Object.assign({ type: "button", onclick, text }, attrs || {}));
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.flush = (...args) => { clearTimeout(timer); fn(...args); };
  return wrapped;
}

// Is the keyboard focus in a control where keys mean text, not commands?
export function typing(target) {
  if (!target) { return false; }
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}
