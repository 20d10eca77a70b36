/* Collapsible JSON tree. Children are built when a node is first opened, so a large value
   costs nothing until someone looks at it. */

const TREE_CHUNK = 100;

function jsonTree(value, openDepth) {
  return el("div", { class: "json" }, treeNode(null, value, 0, openDepth == null ? 1 : openDepth));
}

function treeNode(key, value, depth, openDepth) {
  const label = key == null ? null : el("span", { class: "j-key" }, key);
  if (value === null || typeof value !== "object") {
    return el("div", { class: "j-row" }, label, label && ": ", leaf(value));
  }
  const keys = Array.isArray(value) ? null : Object.keys(value);
  const size = keys ? keys.length : value.length;
  const summary = el("summary", null, label, label && ": ",
    el("span", { class: "j-meta" }, keys ? `{${plural(size, "key")}}` : `[${plural(size, "item")}]`));
  const details = el("details", { class: "j-node" }, summary);
  if (size === 0) return el("div", { class: "j-row" }, label, label && ": ", el("span", { class: "j-meta" }, keys ? "{}" : "[]"));
  let built = 0;
  const body = el("div", { class: "j-body" });
  details.appendChild(body);
  const more = () => {
    const end = Math.min(size, built + TREE_CHUNK);
    const frag = document.createDocumentFragment();
    for (; built < end; built++) {
      const k = keys ? keys[built] : built;
      frag.appendChild(treeNode(String(k), value[k], depth + 1, openDepth));
    }
    body.appendChild(frag);
    if (built < size) {
      const rest = size - built;
      const button = el("button", { class: "link", type: "button" }, `show ${Math.min(rest, TREE_CHUNK)} more of ${rest}`);
      button.addEventListener("click", () => { button.remove(); more(); });
      body.appendChild(button);
    }
  };
  details.addEventListener("toggle", () => { if (details.open && built === 0) more(); });
  if (depth < openDepth) {
    details.open = true;
    more();
  }
  return details;
}

function leaf(value) {
  if (typeof value === "string") {
    if (value.length > 120 || value.includes("\n")) return el("pre", { class: "j-str j-long" }, value);
    return el("span", { class: "j-str" }, JSON.stringify(value));
  }
  return el("span", { class: "j-" + (value === null ? "null" : typeof value) }, String(value));
}
