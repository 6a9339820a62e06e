// The ownership dashboard: reads the journeys, personas and gaps from /graphql, and follows the
// chosen journey's matrix and health with the `ownershipMatrixUpdates` subscription (graphql-ws,
// reconnecting by itself). Everything it shows is written with textContent, never as HTML.
(function () {
  "use strict";

  const TOKEN_KEY = "persona-graph.dashboard.token";
  const LETTER = { RESPONSIBLE: "R", ACCOUNTABLE: "A", CONSULTED: "C", INFORMED: "I" };
  const WORD = {
    RESPONSIBLE: "Responsible",
    ACCOUNTABLE: "Accountable",
    CONSULTED: "Consulted",
    INFORMED: "Informed",
  };

  const CATALOG = `query DashboardCatalog {
    journeys(first: 100) { nodes { slug name personaKind } }
    personas(first: 100) { nodes { slug name kind journeys { slug } } }
  }`;
  const GAPS = `query DashboardGaps {
    ownershipGaps { journey { slug name } stage { key name position } }
  }`;
  const MATRIX_FIELDS = `
    journey { slug name personaKind }
    stages { key name position }
    rows {
      team { slug name department }
      cells { stageKey responsibility ownership { dri { slug name } note } }
    }
    health {
      stageCount gapCount unstaffedCount handoffCount
      stagesWithoutAccountable { key name position }
      stagesWithoutResponsible { key name position }
      handoffs { from { key name position } to { key name position } fromTeams { name } toTeams { name } }
      teamLoads { team { slug name department } accountable responsible }
    }`;
  const MATRIX = `query DashboardMatrix($journey: String!) {
    ownershipMatrix(journey: $journey) {${MATRIX_FIELDS} }
  }`;
  const MATRIX_UPDATES = `subscription DashboardMatrixUpdates($journey: String!) {
    ownershipMatrixUpdates(journey: $journey) {${MATRIX_FIELDS} }
  }`;
  const CHANGES = `subscription DashboardChanges { catalogChanges { cursor } }`;

  const $ = (id) => document.getElementById(id);
  const state = { journeys: [], personas: [], matrix: null, stopMatrix: null, updates: 0 };

  // --- the API --------------------------------------------------------------------------------

  function token() {
    try {
      return localStorage.getItem(TOKEN_KEY) || "";
    } catch (_) {
      return "";
    }
  }

  async function gql(query, variables) {
    const headers = {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json",
    };
    if (token()) headers.authorization = "Bearer " + token();
    const res = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables: variables || {} }),
    });
    const body = await res.json();
    if (body.errors && body.errors.length) {
      const e = new Error(body.errors[0].message);
      e.code = body.errors[0].extensions && body.errors[0].extensions.code;
      throw e;
    }
    return body.data;
  }

  const client = graphqlWs.createClient({
    url: (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql",
    connectionParams: () => (token() ? { Authorization: "Bearer " + token() } : {}),
    lazy: false,
    keepAlive: 10000,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: (retries) =>
      new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** retries, 8000))),
    on: {
      connecting: () => setStatus("connecting", "Connecting…"),
      connected: () => {
        setStatus("live", "Live: edits show as they are made");
        if (state.wasDisconnected) {
          state.wasDisconnected = false;
          refreshGaps();
        }
      },
      closed: (event) => {
        state.wasDisconnected = true;
        const why = event && event.code === 4403 ? " (the token was refused)" : "";
        setStatus("disconnected", "Disconnected" + why + "; reconnecting…");
      },
    },
  });

  // --- status and errors ----------------------------------------------------------------------

  function setStatus(kind, text) {
    const el = $("status");
    el.className = "status " + kind;
    el.textContent = text;
    document.body.dataset.connection = kind;
  }

  function showError(e) {
    const el = $("error");
    if (!e) {
      el.hidden = true;
      el.textContent = "";
      return;
    }
    el.hidden = false;
    el.textContent = e.code ? `${e.message} (${e.code})` : e.message;
    if (e.code === "UNAUTHENTICATED" || e.code === "FORBIDDEN") $("access").open = true;
  }

  // --- small DOM helpers ----------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  const stageLabel = (s) => `${s.position}. ${s.name}`;
  const department = (d) =>
    d
      .toLowerCase()
      .split("_")
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
      .join(" ");

  // --- the controls ---------------------------------------------------------------------------

  function params() {
    return new URLSearchParams(location.search);
  }

  function setParams(journey, persona) {
    const p = params();
    if (journey) p.set("journey", journey);
    else p.delete("journey");
    if (persona) p.set("persona", persona);
    else p.delete("persona");
    history.replaceState(null, "", location.pathname + "?" + p.toString());
  }

  function fillPersonas() {
    const select = $("persona");
    select.replaceChildren(el("option", { value: "", text: "All personas" }));
    for (const p of state.personas) select.append(el("option", { value: p.slug, text: p.name }));
    select.value = params().get("persona") || "";
    if (select.value !== (params().get("persona") || "")) select.value = "";
  }

  function fillJourneys() {
    const persona = state.personas.find((p) => p.slug === $("persona").value);
    const allowed = persona ? new Set(persona.journeys.map((j) => j.slug)) : null;
    const journeys = state.journeys.filter((j) => !allowed || allowed.has(j.slug));
    const select = $("journey");
    const wanted = select.value || params().get("journey");
    select.replaceChildren(
      ...journeys.map((j) => el("option", { value: j.slug, text: j.name })),
    );
    if (journeys.length === 0) {
      select.append(el("option", { value: "", text: "No journeys" }));
    }
    select.value = journeys.some((j) => j.slug === wanted) ? wanted : journeys[0] ? journeys[0].slug : "";
  }

  // --- the matrix -----------------------------------------------------------------------------

  function follow(journey) {
    if (state.stopMatrix) state.stopMatrix();
    state.stopMatrix = null;
    setParams(journey, $("persona").value);
    if (!journey) {
      render(null);
      return;
    }
    // A first paint from a plain query, then every update from the subscription.
    gql(MATRIX, { journey })
      .then((d) => {
        if ($("journey").value === journey && !state.matrix) render(d.ownershipMatrix);
      })
      .catch(showError);
    state.matrix = null;
    state.stopMatrix = client.subscribe(
      { query: MATRIX_UPDATES, variables: { journey } },
      {
        next: (msg) => {
          if (msg.errors && msg.errors.length) {
            showError({ message: msg.errors[0].message, code: msg.errors[0].extensions && msg.errors[0].extensions.code });
            return;
          }
          if ($("journey").value !== journey) return;
          showError(null);
          state.updates += 1;
          document.body.dataset.updates = String(state.updates);
          render(msg.data.ownershipMatrixUpdates);
        },
        error: (e) => showError(e instanceof Error ? e : { message: "the subscription failed" }),
        complete: () => {},
      },
    );
  }

  function render(matrix) {
    state.matrix = matrix;
    renderHealth(matrix);
    renderMatrix(matrix);
    renderLoads(matrix);
  }

  function renderHealth(m) {
    const box = $("health");
    if (!m) {
      box.replaceChildren();
      return;
    }
    const h = m.health;
    const card = (id, title, count, items, bad) =>
      el(
        "div",
        { class: "card" + (bad && count > 0 ? " bad" : ""), id },
        el("p", { class: "count", text: String(count) }),
        el("p", { class: "title", text: title }),
        items.length ? el("ul", {}, ...items.map((t) => el("li", { text: t }))) : null,
      );
    box.replaceChildren(
      card("health-stages", "stages", h.stageCount, [], false),
      card(
        "health-accountable",
        "without an ACCOUNTABLE owner",
        h.gapCount,
        h.stagesWithoutAccountable.map(stageLabel),
        true,
      ),
      card(
        "health-responsible",
        "without a RESPONSIBLE team",
        h.unstaffedCount,
        h.stagesWithoutResponsible.map(stageLabel),
        true,
      ),
      card(
        "health-handoffs",
        "handoffs between teams",
        h.handoffCount,
        h.handoffs.map(
          (x) =>
            `${x.from.name} → ${x.to.name}: ${x.fromTeams.map((t) => t.name).join(", ")} → ${x.toTeams
              .map((t) => t.name)
              .join(", ")}`,
        ),
        false,
      ),
    );
  }

  function renderMatrix(m) {
    const table = $("matrix");
    if (!m) {
      table.replaceChildren(el("caption", { text: "Choose a journey." }));
      return;
    }
    table.setAttribute("aria-label", `Ownership of the ${m.journey.name} journey: teams by stages`);
    table.dataset.journey = m.journey.slug;
    const head = el(
      "tr",
      {},
      el("th", { scope: "col", text: "Team" }),
      el("th", { scope: "col", text: "Department" }),
      ...m.stages.map((s) =>
        el(
          "th",
          {
            scope: "col",
            "data-stage": s.key,
            class: m.health.stagesWithoutAccountable.some((g) => g.key === s.key) ? "gap" : null,
          },
          stageLabel(s),
        ),
      ),
    );
    const body = m.rows.map((row, r) =>
      el(
        "tr",
        { "data-team": row.team.slug },
        el("th", { scope: "row", text: row.team.name }),
        el("td", { class: "dept", text: department(row.team.department) }),
        ...row.cells.map((c, i) => {
          const stage = m.stages[i];
          const dri = c.ownership && c.ownership.dri ? c.ownership.dri.name : null;
          const what = c.responsibility ? WORD[c.responsibility] : "no responsibility";
          return el(
            "td",
            {
              class: "cell" + (c.responsibility ? " r-" + c.responsibility : " empty"),
              role: "gridcell",
              tabindex: r === 0 && i === 0 ? "0" : "-1",
              "data-stage": c.stageKey,
              "data-row": r,
              "data-col": i,
              "aria-label": `${row.team.name}, ${stageLabel(stage)}: ${what}${dri ? ", DRI " + dri : ""}`,
              title: c.ownership && c.ownership.note ? c.ownership.note : null,
            },
            el("span", { class: "letter", text: c.responsibility ? LETTER[c.responsibility] : "·" }),
            dri ? el("span", { class: "dri", text: dri }) : null,
          );
        }),
      ),
    );
    table.replaceChildren(
      el("caption", { text: `${m.journey.name}: ${m.stages.length} stages, ${m.rows.length} teams` }),
      el("thead", {}, head),
      el("tbody", {}, ...body),
    );
  }

  function renderLoads(m) {
    const box = $("loads");
    if (!m || !m.health.teamLoads.length) {
      box.replaceChildren();
      return;
    }
    box.replaceChildren(
      el("h3", { text: "Team load" }),
      el(
        "table",
        { class: "loads", "aria-label": "Stages each team is accountable or responsible for" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            el("th", { scope: "col", text: "Team" }),
            el("th", { scope: "col", text: "Department" }),
            el("th", { scope: "col", text: "Accountable" }),
            el("th", { scope: "col", text: "Responsible" }),
          ),
        ),
        el(
          "tbody",
          {},
          ...m.health.teamLoads.map((l) =>
            el(
              "tr",
              { "data-team": l.team.slug },
              el("th", { scope: "row", text: l.team.name }),
              el("td", { text: department(l.team.department) }),
              el("td", { text: String(l.accountable) }),
              el("td", { text: String(l.responsible) }),
            ),
          ),
        ),
      ),
    );
  }

  // Arrow keys, Home and End move between the matrix's cells (one tab stop for the grid).
  $("matrix").addEventListener("keydown", (e) => {
    const cell = e.target.closest && e.target.closest("td.cell");
    if (!cell) return;
    let r = Number(cell.dataset.row);
    let c = Number(cell.dataset.col);
    const moves = {
      ArrowRight: () => (c += 1),
      ArrowLeft: () => (c -= 1),
      ArrowDown: () => (r += 1),
      ArrowUp: () => (r -= 1),
      Home: () => (c = 0),
      End: () => (c = Number.MAX_SAFE_INTEGER),
    };
    if (!moves[e.key]) return;
    e.preventDefault();
    moves[e.key]();
    const cells = [...$("matrix").querySelectorAll("td.cell")];
    const rows = Math.max(...cells.map((x) => Number(x.dataset.row))) + 1;
    const cols = Math.max(...cells.map((x) => Number(x.dataset.col))) + 1;
    r = Math.min(Math.max(r, 0), rows - 1);
    c = Math.min(Math.max(c, 0), cols - 1);
    const next = cells.find((x) => Number(x.dataset.row) === r && Number(x.dataset.col) === c);
    if (next) {
      cells.forEach((x) => x.setAttribute("tabindex", "-1"));
      next.setAttribute("tabindex", "0");
      next.focus();
    }
  });

  // --- the gaps across journeys ---------------------------------------------------------------

  let gapsTimer = null;
  function refreshGaps() {
    clearTimeout(gapsTimer);
    gapsTimer = setTimeout(() => {
      gql(GAPS)
        .then((d) => renderGaps(d.ownershipGaps))
        .catch(showError);
    }, 100);
  }

  function renderGaps(gaps) {
    const list = $("gaps");
    if (!gaps.length) {
      list.replaceChildren(el("li", { text: "None: every stage has an ACCOUNTABLE owner." }));
      return;
    }
    const byJourney = new Map();
    for (const g of gaps) {
      const entry = byJourney.get(g.journey.slug) || { journey: g.journey, stages: [] };
      entry.stages.push(g.stage);
      byJourney.set(g.journey.slug, entry);
    }
    list.replaceChildren(
      ...[...byJourney.values()].map(({ journey, stages }) =>
        el(
          "li",
          { "data-journey": journey.slug },
          el("a", { href: "/dashboard?journey=" + encodeURIComponent(journey.slug), text: journey.name }),
          `: ${stages.map(stageLabel).join(", ")}`,
        ),
      ),
    );
  }

  // --- downloads and printing -----------------------------------------------------------------

  function csvField(v) {
    const s = String(v == null ? "" : v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }

  function downloadCsv() {
    const m = state.matrix;
    if (!m) return;
    const lines = [["Team", "Department", ...m.stages.map(stageLabel)]];
    for (const row of m.rows) {
      lines.push([
        row.team.name,
        department(row.team.department),
        ...row.cells.map((c) => {
          if (!c.responsibility) return "";
          const dri = c.ownership && c.ownership.dri ? ` (DRI: ${c.ownership.dri.name})` : "";
          return c.responsibility + dri;
        }),
      ]);
    }
    const text = lines.map((l) => l.map(csvField).join(",")).join("\r\n") + "\r\n";
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    const a = el("a", { href: url, download: `${m.journey.slug}-ownership.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // --- start ----------------------------------------------------------------------------------

  $("csv").addEventListener("click", downloadCsv);
  $("print").addEventListener("click", () => window.print());
  $("persona").addEventListener("change", () => {
    fillJourneys();
    follow($("journey").value);
  });
  $("journey").addEventListener("change", () => follow($("journey").value));
  $("token").value = token();
  $("save-token").addEventListener("click", () => {
    try {
      localStorage.setItem(TOKEN_KEY, $("token").value.trim());
    } catch (_) {
      /* private mode: the token lasts as long as the page */
    }
    location.reload();
  });

  client.subscribe({ query: CHANGES }, { next: refreshGaps, error: () => {}, complete: () => {} });

  gql(CATALOG)
    .then((d) => {
      state.journeys = d.journeys.nodes;
      state.personas = d.personas.nodes;
      fillPersonas();
      fillJourneys();
      follow($("journey").value);
    })
    .catch(showError);
  refreshGaps();
})();
