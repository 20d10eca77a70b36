/* DOM helpers. User data only ever becomes text nodes or attribute values set through the DOM
   API: nothing here parses HTML. */

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const key of Object.keys(attrs)) {
      const value = attrs[key];
      if (value == null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else if (key === "style" && typeof value === "object") Object.assign(node.style, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children) add(node, child);
  return node;
}

function add(node, child) {
  if (child == null || child === false) return node;
  if (Array.isArray(child)) {
    for (const c of child) add(node, c);
  } else {
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clear(node) {
  node.textContent = "";
  return node;
}

function fmtMs(ms) {
  if (ms == null || !isFinite(ms)) return "\u2013";
  if (ms < 1) return ms.toFixed(2) + " ms";
  if (ms < 100) return ms.toFixed(1) + " ms";
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(2) + " s";
  return (ms / 60000).toFixed(1) + " min";
}

function fmtTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (isNaN(date)) return String(iso);
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC");
}

function plural(n, word, many) {
  return n + " " + (n === 1 ? word : (many || word + "s"));
}

function badge(text, kind) {
  return el("span", { class: "badge " + (kind || "") }, text);
}

function statusKind(status) {
  if (status === "failed" || status === "error") return "bad";
  if (status === "running" || status === "skipped" || status === "xfailed") return "warn";
  return "good";
}

function section(title, ...children) {
  return el("section", { class: "block" }, el("h3", null, title), ...children);
}

function shortValue(value) {
  if (value == null) return "null";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

function pre(text, cls) {
  return el("pre", { class: cls || "" }, text == null ? "" : String(text));
}

/* The fragment as key/value pairs: "#trace=ID&step=ID&item=ID&view=compare". */
function readHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const out = {};
  for (const [k, v] of params) out[k] = v;
  return out;
}

function hashFor(params) {
  const search = new URLSearchParams();
  for (const key of Object.keys(params)) {
    if (params[key] != null && params[key] !== "") search.set(key, params[key]);
  }
  return "#" + search.toString();
}
