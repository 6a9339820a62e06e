// The official GraphQL-over-HTTP audit (graphql-http's auditServer) against a running
// persona-graph. Prints every audit; fails when a MUST audit fails. SHOULD/MAY results that do
// not pass are reported as warnings and notices, as the audit itself grades them.
//
// Usage: node graphql-http-audit.mjs http://127.0.0.1:PORT/graphql
// (run.sh starts the server and calls this.)

import { auditServer } from "graphql-http";

const url = process.argv[2];
if (!url || !url.startsWith("http://127.0.0.1:")) {
  console.error("usage: node graphql-http-audit.mjs http://127.0.0.1:PORT/graphql");
  process.exit(2);
}

const results = await auditServer({ url });
const counts = { ok: 0, error: 0, warn: 0, notice: 0 };
for (const r of results) {
  counts[r.status] += 1;
  const mark = { ok: "ok  ", error: "FAIL", warn: "warn", notice: "note" }[r.status];
  console.log(`${mark} - ${r.name}`);
  if (r.status !== "ok") {
    let body = "";
    try {
      body = await r.response.text();
    } catch {
      // The audit may already have read the body.
    }
    console.log(`       ${r.reason}`);
    console.log(`       status ${r.response.status}, content-type ${r.response.headers.get("content-type")}`);
    if (body) console.log(`       body ${body.slice(0, 300)}`);
  }
}
console.log(
  `audit: ${results.length} audits, ${counts.ok} ok, ${counts.error} MUST failures, ` +
    `${counts.warn} SHOULD warnings, ${counts.notice} notices`,
);
console.log(`graphql-http-audit: ${counts.ok + counts.warn + counts.notice} passed, ${counts.error} failed`);
process.exit(counts.error === 0 ? 0 : 1);
