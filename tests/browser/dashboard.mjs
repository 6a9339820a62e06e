// The ownership dashboard in headless Chromium with the network cut off (every request that
// leaves 127.0.0.1 is aborted and counted): the landing page links it; /dashboard?journey=
// buyer-journey shows the seed's letters in the right cells and the journey's health; the gaps
// list names dev-journey's Advocate and Expand; an edit made through the API shows without a
// reload; the page says when it is disconnected and reconnects by itself; keyboard moves
// between cells; the CSV download, the persona filter, a narrow screen and the print layout
// work. Screenshots go to $ARTIFACTS_DIR (default /tmp/persona-graph-artifacts).
//
// Usage: PERSONA_GRAPH_TOKEN=<editor token> node dashboard.mjs http://127.0.0.1:PORT
// (run.sh starts the server and calls this.)

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

const base = process.argv[2];
const token = process.env.PERSONA_GRAPH_TOKEN;
const artifacts = process.env.ARTIFACTS_DIR ?? "/tmp/persona-graph-artifacts";
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const STEP_TIMEOUT_MS = 30_000;

if (!base || !base.startsWith("http://127.0.0.1:") || !token) {
  console.error("usage: PERSONA_GRAPH_TOKEN=<editor token> node dashboard.mjs http://127.0.0.1:PORT");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

// The buyer journey's RACI map as the seed file gives it: one letter per stage in stage order
// (`·` where the team has none), as tests/api/dashboards.rs has it.
const BUYER = {
  "account-executives": "C R A R A I · R A",
  "brand-comms": "R · · · · · · · ·",
  "customer-engineering": "· I R A C C · · ·",
  "digital-success": "· · · · I R R · ·",
  "exec-team": "· C · · · · · · ·",
  "growth-marketing": "R · · · · · · · ·",
  "product-management": "I · · C · · C I ·",
  "product-marketing": "A C C · · · I C I",
  "professional-services": "· · · · · R · · ·",
  sdr: "· A · · · · · · ·",
  "technical-advisors": "· · I I I A A A R",
};

const blocked = [];
const pageErrors = [];
const failures = [];
let passed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   - ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL - ${name}\n       ${String(e?.message ?? e).split("\n").join("\n       ")}`);
  }
}

async function gql(query, variables = {}) {
  const res = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).hostname === "127.0.0.1") return route.continue();
    blocked.push(url);
    return route.abort("internetdisconnected");
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on("pageerror", (e) => pageErrors.push(String(e)));

  await check("the landing page links the dashboard, GraphiQL and the SDL", async () => {
    const resp = await page.goto(`${base}/`);
    if (resp?.status() !== 200) throw new Error(`GET / answered ${resp?.status()}`);
    for (const href of ["/dashboard", "/graphiql", "/schema.graphql"]) {
      if ((await page.locator(`a[href="${href}"]`).count()) !== 1) throw new Error(`no link to ${href}`);
    }
  });

  // Subscriptions pass through the test, which can cut them as a network drop would.
  const sockets = [];
  await page.routeWebSocket(/\/graphql$/, (ws) => {
    const server = ws.connectToServer();
    sockets.push({ ws, server });
  });

  const rows = "#matrix[data-journey='buyer-journey'] tbody tr";
  await check("a deep link renders the buyer journey's matrix, and is timed", async () => {
    const started = Date.now();
    await page.goto(`${base}/dashboard?journey=buyer-journey`, { waitUntil: "domcontentloaded" });
    await page.locator(rows).first().waitFor();
    const ms = Date.now() - started;
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      return { domContentLoaded: Math.round(nav.domContentLoadedEventEnd), load: Math.round(nav.loadEventEnd) };
    });
    console.log(`       matrix shown ${ms} ms after navigation began (DOMContentLoaded ${timing.domContentLoaded} ms, load ${timing.load} ms)`);
    if ((await page.locator("#journey").inputValue()) !== "buyer-journey") throw new Error("the journey select is not on buyer-journey");
  });

  await check("each team's row has the seed's RACI letter in each stage's cell", async () => {
    const got = await page.$$eval(rows, (trs) =>
      Object.fromEntries(
        trs.map((tr) => [tr.dataset.team, [...tr.querySelectorAll("td.cell .letter")].map((c) => c.textContent).join(" ")]),
      ),
    );
    const want = JSON.stringify(BUYER, null, 1);
    if (JSON.stringify(got, null, 1) !== want) throw new Error(`got ${JSON.stringify(got, null, 1)}\nwant ${want}`);
    const stages = await page.$$eval("#matrix thead th[data-stage]", (ths) => ths.map((t) => t.dataset.stage));
    if (stages[0] !== "problem-awareness" || stages[8] !== "renew") throw new Error(`stage order: ${stages}`);
    // The DRI is printed in its cell, and each cell says what it is to a screen reader.
    const validate = page.locator("tr[data-team='customer-engineering'] td[data-stage='validate']");
    if (!(await validate.innerText()).includes("CE manager")) throw new Error("the validate DRI is missing");
    const label = await validate.getAttribute("aria-label");
    if (!/Customer Engineering, 4\. Validate: Accountable, DRI CE manager/.test(label)) throw new Error(`aria-label: ${label}`);
    const dept = await page.locator("tr[data-team='sdr'] td.dept").innerText();
    if (dept !== "Sales") throw new Error(`sdr's department: ${dept}`);
  });

  await check("the journey's health: no gap, one unstaffed stage, six handoffs, the loads", async () => {
    const count = (id) => page.locator(`#${id} .count`).innerText();
    const figures = [await count("health-accountable"), await count("health-responsible"), await count("health-handoffs")];
    if (figures.join(",") !== "0,1,6") throw new Error(`health figures: ${figures}`);
    if (!(await page.locator("#health-responsible li").innerText()).includes("Commit")) throw new Error("Commit is not listed as unstaffed");
    const top = await page.locator("#loads tbody tr").first().innerText();
    if (!/Account Executives\s+Sales\s+3\s+3/.test(top)) throw new Error(`first load row: ${top}`);
  });

  await check("the gaps across journeys name dev-journey's Advocate and Expand", async () => {
    const gap = page.locator("#gaps li[data-journey='dev-journey']");
    await gap.waitFor();
    const text = await gap.innerText();
    if (!text.includes("Advocate and Expand")) throw new Error(`gap entry: ${text}`);
    if ((await page.locator("#gaps li").count()) !== 1) throw new Error("more gaps than the seed has");
  });

  await page.screenshot({ path: join(artifacts, "dashboard-buyer-journey.png"), fullPage: true });

  await check("an edit made through the API shows without a reload, within a second", async () => {
    await page.waitForFunction(() => document.body.dataset.connection === "live");
    const before = Number(await page.evaluate(() => document.body.dataset.updates || "0"));
    const started = Date.now();
    await gql(
      `mutation { assignStageOwner(input: { journey: "buyer-journey", stage: "commit", team: "professional-services", responsibility: RESPONSIBLE }) { ownership { id } } }`,
    );
    const cell = page.locator("tr[data-team='professional-services'] td[data-stage='commit'] .letter");
    await page.waitForFunction(
      (n) => Number(document.body.dataset.updates || "0") > n &&
        document.querySelector("tr[data-team='professional-services'] td[data-stage='commit'] .letter")?.textContent === "R",
      before,
    );
    const ms = Date.now() - started;
    console.log(`       the edit showed ${ms} ms after the mutation was sent`);
    if ((await cell.innerText()) !== "R") throw new Error("the cell did not change");
    if ((await page.locator("#health-responsible .count").innerText()) !== "0") throw new Error("the health did not follow");
    if (ms > 1000) throw new Error(`took ${ms} ms`);
  });

  await check("the page says when it is disconnected and reconnects by itself", async () => {
    const open = sockets.splice(0);
    if (open.length === 0) throw new Error("the page has no WebSocket open");
    for (const { ws, server } of open) {
      await ws.close({ code: 1012, reason: "cut by the test" });
      await server.close();
    }
    await page.waitForFunction(() => document.body.dataset.connection !== "live", null, { timeout: 10_000 });
    const during = await page.locator("#status").innerText();
    await page.waitForFunction(() => document.body.dataset.connection === "live", null, { timeout: 20_000 });
    console.log(`       after the cut the page showed "${during}", then reconnected`);
    // And still follows edits once back.
    await gql(`mutation { removeStageOwner(input: { journey: "buyer-journey", stage: "commit", team: "professional-services" }) { deletedId } }`);
    await page.waitForFunction(
      () => document.querySelector("tr[data-team='professional-services'] td[data-stage='commit'] .letter")?.textContent === "·",
    );
  });

  await check("arrow keys move between cells", async () => {
    await page.locator("#matrix td.cell[data-row='0'][data-col='0']").focus();
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowDown");
    const at = await page.evaluate(() => [document.activeElement.dataset.row, document.activeElement.dataset.col].join(","));
    if (at !== "1,1") throw new Error(`focus at ${at}`);
  });

  await check("the matrix downloads as CSV", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#csv").click()]);
    if (download.suggestedFilename() !== "buyer-journey-ownership.csv") throw new Error(download.suggestedFilename());
    const text = await readFile(await download.path(), "utf8");
    const lines = text.trim().split(/\r\n/);
    if (!lines[0].startsWith("Team,Department,1. Problem awareness,2. Engage")) throw new Error(lines[0]);
    const ce = lines.find((l) => l.startsWith("Customer Engineering,"));
    if (!ce?.includes("ACCOUNTABLE (DRI: CE manager)")) throw new Error(`CE row: ${ce}`);
    if (lines.length !== 1 + Object.keys(BUYER).length) throw new Error(`${lines.length} lines`);
  });

  await check("the persona filter narrows the journeys to the persona's", async () => {
    await page.locator("#persona").selectOption("dev");
    await page.locator("#matrix[data-journey='dev-journey']").waitFor();
    const options = await page.$$eval("#journey option", (os) => os.map((o) => o.value));
    if (options.join(",") !== "dev-journey") throw new Error(`journeys for dev: ${options}`);
    if (!page.url().includes("journey=dev-journey") || !page.url().includes("persona=dev")) throw new Error(page.url());
    if ((await page.locator("#health-accountable .count").innerText()) !== "1") throw new Error("dev-journey's gap is not counted");
    await page.screenshot({ path: join(artifacts, "dashboard-dev-journey.png"), fullPage: true });
  });

  await check("a narrow screen scrolls the matrix, not the page", async () => {
    await page.setViewportSize({ width: 380, height: 800 });
    await page.goto(`${base}/dashboard?journey=buyer-journey`);
    await page.locator(rows).first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await page.screenshot({ path: join(artifacts, "dashboard-narrow.png"), fullPage: true });
    if (overflow > 1) {
      const wide = await page.evaluate(() =>
        [...document.querySelectorAll("body *")]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest(".matrix-wrap"))
          .slice(0, 5)
          .map((e) => `${e.tagName}#${e.id}.${e.className}`),
      );
      throw new Error(`the page is ${overflow} px wider than the screen: ${wide.join(", ")}`);
    }
  });

  await check("the print layout hides the controls", async () => {
    await page.setViewportSize({ width: 1200, height: 1000 });
    await page.emulateMedia({ media: "print" });
    const shown = await page.locator("#controls").isVisible();
    await page.screenshot({ path: join(artifacts, "dashboard-print.png"), fullPage: true });
    await page.emulateMedia({ media: "screen" });
    if (shown) throw new Error("the controls print");
  });

  await check("no request left 127.0.0.1", async () => {
    if (blocked.length > 0) throw new Error(`${blocked.length} blocked:\n${blocked.join("\n")}`);
  });
  await check("the page raised no script error", async () => {
    if (pageErrors.length > 0) throw new Error(pageErrors.join("\n"));
  });
  console.log(`screenshots in ${artifacts}`);
} finally {
  await browser.close();
}

console.log(`dashboard: ${passed} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
