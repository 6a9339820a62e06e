// GraphiQL works with the network cut off: headless Chromium opens /graphiql of a running
// persona-graph, every request that leaves 127.0.0.1 is aborted (and counted: any is a failure),
// the default query runs and shows seed data, and the documentation explorer lists `Query`.
//
// Usage: node graphiql-offline.mjs http://127.0.0.1:PORT [screenshot.png]
// (run.sh starts the server and calls this.)

import { chromium } from "playwright-core";

const base = process.argv[2];
const screenshot = process.argv[3] ?? process.env.SCREENSHOT ?? "/tmp/graphiql.png";
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const STEP_TIMEOUT_MS = 30_000;

if (!base || !base.startsWith("http://127.0.0.1:")) {
  console.error("usage: node graphiql-offline.mjs http://127.0.0.1:PORT [screenshot.png]");
  process.exit(2);
}

const blocked = [];
const local = [];
const pageErrors = [];
const failures = [];
let passed = 0;

/** Runs one named check; a failure is recorded and the next checks still run. */
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

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  // The cut: only the service under test is reachable. Aborted requests are what GraphiQL
  // would have fetched from the internet (a CDN, fonts, ...), so each one is a failure.
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).hostname === "127.0.0.1") {
      local.push(url);
      return route.continue();
    }
    blocked.push(url);
    return route.abort("internetdisconnected");
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on("pageerror", (e) => pageErrors.push(String(e)));

  await check("the page loads and GraphiQL mounts its query editor", async () => {
    const resp = await page.goto(`${base}/graphiql`, { waitUntil: "load" });
    if (resp?.status() !== 200) throw new Error(`GET /graphiql answered ${resp?.status()}`);
    await page.locator(".graphiql-query-editor .CodeMirror").first().waitFor({ state: "visible" });
    const editor = await page.locator(".graphiql-query-editor").first().innerText();
    if (!editor.includes("ownershipMatrix")) throw new Error(`the default tab is not the example:\n${editor}`);
  });

  await check("the default query runs and shows the seed catalog's buyer journey", async () => {
    await page.locator(".graphiql-execute-button").first().click();
    // CodeMirror renders only the lines in view, so the whole result is read from the editor
    // instance GraphiQL mounted on the result window.
    const handle = await page.waitForFunction(() => {
      const cm = document.querySelector(".graphiql-response .result-window .CodeMirror")?.CodeMirror;
      const text = cm?.getValue() ?? "";
      return text.trim().startsWith("{") ? text : null;
    });
    const result = JSON.parse(await handle.jsonValue());
    if (result.errors) throw new Error(`the query answered errors:\n${JSON.stringify(result.errors, null, 2)}`);
    const matrix = result.data.ownershipMatrix;
    if (matrix.journey.name !== "Buyer journey") throw new Error(`journey ${matrix.journey.name}`);
    if (matrix.stages.length === 0 || matrix.rows.length === 0) throw new Error("the matrix is empty");
    for (const row of matrix.rows) {
      if (row.cells.length !== matrix.stages.length) throw new Error(`${row.team.name}: one cell per stage expected`);
    }
    // And a person sees it: the journey's name is on screen in the result pane.
    await page.locator(".graphiql-response").getByText("Buyer journey").first().waitFor({ state: "visible" });
  });

  await check("the documentation explorer opens, lists Query and shows its documented fields", async () => {
    await page.getByRole("button", { name: "Show Documentation Explorer" }).click();
    const docs = page.locator(".graphiql-doc-explorer").first();
    await docs.waitFor({ state: "visible" });
    const query = docs.locator("a.graphiql-doc-explorer-type-name").getByText("Query", { exact: true }).first();
    await query.waitFor({ state: "visible" });
    await query.click();
    await docs.getByText("ownershipMatrix", { exact: true }).first().waitFor({ state: "visible" });
    await docs.getByText("Who owns each stage of a journey", { exact: false }).first().waitFor({ state: "visible" });
  });

  await page.screenshot({ path: screenshot, fullPage: false });
  console.log(`screenshot: ${screenshot}`);

  await check("the second example tab runs ownershipGaps", async () => {
    await page.getByText("OwnershipGaps", { exact: true }).first().click();
    // GraphiQL works out the tab's operation name 100 ms (debounced) after the editor changes;
    // running before that would send the previous tab's name.
    await page.waitForFunction(
      () => document.querySelector(".graphiql-query-editor .CodeMirror")?.CodeMirror?.operationName === "OwnershipGaps",
    );
    await page.locator(".graphiql-execute-button").first().click();
    const handle = await page.waitForFunction(() => {
      const cm = document.querySelector(".graphiql-response .result-window .CodeMirror")?.CodeMirror;
      const text = cm?.getValue() ?? "";
      return text.includes('"ownershipGaps"') || text.includes('"errors"') ? text : null;
    });
    const result = JSON.parse(await handle.jsonValue());
    if (result.errors || !Array.isArray(result.data?.ownershipGaps)) {
      throw new Error(`unexpected result:\n${JSON.stringify(result, null, 2).slice(0, 2000)}`);
    }
    console.log(`       ${result.data.ownershipGaps.length} stages without an accountable owner`);
  });

  await check("no request left 127.0.0.1", async () => {
    if (blocked.length > 0) throw new Error(`${blocked.length} blocked:\n${blocked.join("\n")}`);
  });
  await check("the page raised no script error", async () => {
    if (pageErrors.length > 0) throw new Error(pageErrors.join("\n"));
  });
  console.log(`requests to 127.0.0.1: ${local.length}; blocked requests: ${blocked.length}`);
} finally {
  await browser.close();
}

console.log(`graphiql-offline: ${passed} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
