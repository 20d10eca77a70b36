/* xray serve: the report's page, fed from the API. #xray-data first holds where the data is
   ({"source": "/api/report?run=...", "view": ...}); the loader fetches that document, puts it in
   #xray-data (where the report's reportData() reads it), starts the report's scripts, then links
   the page to the server's other views. Everything it adds is text set through the DOM. */

function loadReport(start) {
  const holder = document.getElementById("xray-data");
  const page = JSON.parse(holder.textContent);
  fetch(page.source, { headers: { Accept: "application/json" } })
    .then((response) => response.text().then((text) => {
      if (!response.ok) throw new Error(apiError(text, response));
      holder.textContent = text;
      if (!location.hash && page.view) history.replaceState(null, "", "#view=" + page.view);
      start();
      serveLinks(text);
    }))
    .catch((error) => loadFailed(error));
}

function apiError(text, response) {
  try {
    return JSON.parse(text).error;
  } catch (ignored) {
    return `${response.status} ${response.statusText}`;
  }
}

function textNode(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text != null) node.textContent = text;
  return node;
}

function link(href, cls, text) {
  const node = textNode("a", cls, text);
  node.setAttribute("href", href);
  return node;
}

function loadFailed(error) {
  const detail = document.getElementById("detail");
  detail.textContent = "";
  const box = textNode("div", "overview");
  box.appendChild(textNode("p", "notice load-error", "This page could not be loaded: " + String(error.message || error)));
  box.appendChild(link("/#/runs", null, "← all runs"));
  detail.appendChild(box);
  document.getElementById("trace-list").textContent = "";
  document.body.dataset.ready = "error";
}

/* A way back to the runs list, and a history link beside each evaluated candidate. */
function serveLinks(text) {
  const brand = document.querySelector("header.top .brand");
  brand.insertBefore(link("/#/runs", "back-link", "← runs"), brand.firstChild);
  let testOf = null;  // trace id -> test id, read once, when the first table shows up
  const decorate = () => {
    const rows = document.querySelectorAll("#detail tr[data-item]:not([data-history])");
    if (rows.length === 0) return;
    if (testOf === null) testOf = new Map(JSON.parse(text).traces.map((t) => [t.id, t.test]));
    const trace = new URLSearchParams(location.hash.slice(1)).get("trace");
    const test = testOf.get(trace);
    for (const row of rows) {
      row.dataset.history = "";
      if (!test) continue;
      const query = new URLSearchParams({ test, item: row.dataset.item });
      row.cells[0].appendChild(link("/#/history?" + query.toString(), "history-link", "history"));
    }
  };
  new MutationObserver(decorate).observe(document.getElementById("detail"), { childList: true, subtree: true });
  decorate();
}
