// Live updates reach the subscription clients people use, over the real transports of a
// running persona-graph:
//   - graphql-ws (graphql-transport-ws over WebSocket, token in connection_init): catalogChanges
//     delivers an edit made over HTTP; a subscription resumed with `after:` a cursor read
//     before two edits replays exactly those two, in commit order, then goes on live;
//     ownershipMatrixUpdates sends the matrix at once and again after an owner changes;
//   - graphql-sse (GraphQL over Server-Sent Events, distinct connections mode): catalogChanges
//     delivers an edit;
//   - Apollo Client with its GraphQLWsLink: a subscription through Apollo's own API delivers an
//     edit;
//   - a hostile subscription document (too deep) is refused with QUERY_TOO_DEEP over WebSocket.
//
// Usage: PERSONA_GRAPH_TOKEN=pgt_... node subscriptions.mjs http://127.0.0.1:PORT/graphql
// (run.sh starts the server and calls this.)

import { ApolloClient, InMemoryCache, gql } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { createClient as createSseClient } from "graphql-sse";
import { createClient as createWsClient } from "graphql-ws";
import WebSocket from "ws";

const url = process.argv[2];
if (!url || !url.startsWith("http://127.0.0.1:")) {
  console.error("usage: node subscriptions.mjs http://127.0.0.1:PORT/graphql");
  process.exit(2);
}
const wsUrl = url.replace(/^http/, "ws");
const token = process.env.PERSONA_GRAPH_TOKEN;
if (!token) {
  console.error("PERSONA_GRAPH_TOKEN must hold an editor token");
  process.exit(2);
}

const STEP_TIMEOUT_MS = 30_000;
const failures = [];
let passed = 0;

async function check(name, fn) {
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS).unref()),
    ]);
    passed += 1;
    console.log(`ok   - ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL - ${name}\n       ${String(e?.stack ?? e).split("\n").join("\n       ")}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** POSTs a GraphQL request as the editor; the data, or throws with the errors. */
async function gqlHttp(query, variables = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

let counter = 0;
/** Creates a team with a fresh slug; its slug. */
async function createTeam(prefix) {
  counter += 1;
  const slug = `${prefix}-${Date.now()}-${counter}`;
  await gqlHttp(`mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { slug } } }`, {
    input: { slug, name: `Team ${slug}`, department: "PRODUCT" },
  });
  return slug;
}

/** The events of a subscription, as a queue one can wait on. */
function collector() {
  const items = [];
  let wake = null;
  return {
    push(item) {
      items.push(item);
      if (wake) wake();
    },
    async take(n, ms = STEP_TIMEOUT_MS) {
      const deadline = Date.now() + ms;
      while (items.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) return null;
        await new Promise((resolve) => {
          wake = resolve;
          setTimeout(resolve, left).unref();
        });
      }
      return items.splice(0, n);
    },
    items,
  };
}

const CHANGES = `subscription($after: String, $subjects: [AuditSubjectType!]) {
  catalogChanges(after: $after, subjects: $subjects) {
    cursor subjectType subjectKey action actor version committedAt
  }
}`;

function wsClient() {
  return createWsClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
  });
}

/** Subscribes with graphql-ws; a collector of `data`, and the unsubscribe function. */
function subscribeWs(client, query, variables) {
  const got = collector();
  const errors = [];
  const stop = client.subscribe(
    { query, variables },
    {
      next: (r) => (r.errors ? errors.push(r.errors) : got.push(r.data)),
      error: (e) => errors.push(e),
      complete: () => {},
    },
  );
  return { got, errors, stop };
}

/** Waits until the server has the subscription open (a subscription without `after:` starts
 * from the moment the server opens it): edits until one is delivered. */
async function settled(sub, prefix) {
  for (;;) {
    const slug = await createTeam(prefix);
    for (;;) {
      const got = await sub.got.take(1, 1000);
      if (!got) break;
      if (got[0].catalogChanges?.subjectKey === slug) return slug;
    }
  }
}

await check("graphql-ws: catalogChanges delivers an edit made over HTTP, with its cursor and actor", async () => {
  const client = wsClient();
  const sub = subscribeWs(client, CHANGES, { subjects: ["TEAM"] });
  try {
    await settled(sub, "ws-warmup");
    const slug = await createTeam("ws-live");
    const [d] = await sub.got.take(1);
    const c = d.catalogChanges;
    assert(c.subjectKey === slug, `expected ${slug}, got ${JSON.stringify(c)}`);
    assert(c.subjectType === "TEAM" && c.action === "createTeam", JSON.stringify(c));
    assert(c.actor === "browser-checks" && c.version === 1, JSON.stringify(c));
    assert(typeof c.cursor === "string" && c.cursor.length > 0, "a cursor");
    assert(sub.errors.length === 0, JSON.stringify(sub.errors));
  } finally {
    sub.stop();
    await client.dispose();
  }
});

await check("graphql-ws: resuming after a cursor replays exactly the changes after it, in order, then goes on live", async () => {
  const { changeCursor } = await gqlHttp(`{ changeCursor }`);
  const first = await createTeam("ws-replay-a");
  const second = await createTeam("ws-replay-b");
  const client = wsClient();
  const sub = subscribeWs(client, CHANGES, { after: changeCursor, subjects: ["TEAM"] });
  try {
    const replayed = (await sub.got.take(2)).map((d) => d.catalogChanges.subjectKey);
    assert(JSON.stringify(replayed) === JSON.stringify([first, second]), `replayed ${JSON.stringify(replayed)}`);
    const third = await createTeam("ws-replay-c");
    const [d] = await sub.got.take(1);
    assert(d.catalogChanges.subjectKey === third, `live ${JSON.stringify(d)}`);
    // Nothing twice: the collector holds nothing else.
    await new Promise((r) => setTimeout(r, 200));
    assert(sub.got.items.length === 0, `extra events ${JSON.stringify(sub.got.items)}`);
  } finally {
    sub.stop();
    await client.dispose();
  }
});

await check("graphql-ws: ownershipMatrixUpdates sends the matrix at once, then again after an owner changes", async () => {
  const client = wsClient();
  const sub = subscribeWs(
    client,
    `subscription { ownershipMatrixUpdates(journey: "dev-journey") {
       stages { key }
       rows { team { slug } cells { stageKey responsibility } }
     } }`,
    {},
  );
  try {
    const [first] = await sub.got.take(1);
    const m = first.ownershipMatrixUpdates;
    assert(m.stages.length > 0, JSON.stringify(m));
    const stage = m.stages[m.stages.length - 1].key;
    const team = await createTeam("ws-matrix");
    await gqlHttp(
      `mutation($input: AssignStageOwnerInput!) { assignStageOwner(input: $input) { ownership { responsibility } } }`,
      { input: { journey: "dev-journey", stage, team, responsibility: "CONSULTED" } },
    );
    for (;;) {
      const [d] = await sub.got.take(1);
      const row = d.ownershipMatrixUpdates.rows.find((r) => r.team.slug === team);
      if (!row) continue;
      const cell = row.cells.find((c) => c.stageKey === stage);
      assert(cell.responsibility === "CONSULTED", JSON.stringify(row));
      break;
    }
    assert(sub.errors.length === 0, JSON.stringify(sub.errors));
  } finally {
    sub.stop();
    await client.dispose();
  }
});

await check("graphql-ws: a subscription nested too deep is refused with QUERY_TOO_DEEP", async () => {
  const client = wsClient();
  const query = `subscription { ownershipMatrixUpdates(journey: "dev-journey") { journey { stages { journey { stages { journey { stages { journey { stages { journey { stages { journey { stages { journey { stages { journey { slug } } } } } } } } } } } } } } } } }`;
  try {
    const outcome = await new Promise((resolve) => {
      client.subscribe({ query }, {
        next: (r) => resolve(r),
        error: (e) => resolve({ errors: Array.isArray(e) ? e : [e] }),
        complete: () => resolve({}),
      });
    });
    const codes = (outcome.errors ?? []).map((e) => e.extensions?.code);
    assert(codes.includes("QUERY_TOO_DEEP"), `got ${JSON.stringify(outcome)}`);
  } finally {
    await client.dispose();
  }
});

await check("graphql-sse: catalogChanges over Server-Sent Events delivers an edit", async () => {
  const client = createSseClient({
    url,
    headers: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  const got = collector();
  const errors = [];
  const stop = client.subscribe(
    { query: CHANGES, variables: { subjects: ["TEAM"] } },
    { next: (r) => (r.errors ? errors.push(r.errors) : got.push(r.data)), error: (e) => errors.push(e), complete: () => {} },
  );
  try {
    await settled({ got }, "sse-warmup");
    const slug = await createTeam("sse-live");
    const [d] = await got.take(1);
    assert(d.catalogChanges.subjectKey === slug && d.catalogChanges.action === "createTeam", JSON.stringify(d));
    assert(errors.length === 0, JSON.stringify(errors));
  } finally {
    stop();
    client.dispose();
  }
});

await check("Apollo Client: a subscription through GraphQLWsLink delivers an edit", async () => {
  const wsc = wsClient();
  const apollo = new ApolloClient({ link: new GraphQLWsLink(wsc), cache: new InMemoryCache() });
  const got = collector();
  const errors = [];
  const sub = apollo
    .subscribe({ query: gql(CHANGES), variables: { subjects: ["TEAM"] } })
    .subscribe({ next: (r) => (r.error ? errors.push(r.error) : got.push(r.data)), error: (e) => errors.push(e) });
  try {
    await settled({ got }, "apollo-warmup");
    const slug = await createTeam("apollo-live");
    const [d] = await got.take(1);
    assert(d.catalogChanges.subjectKey === slug, JSON.stringify(d));
    assert(errors.length === 0, JSON.stringify(errors));
  } finally {
    sub.unsubscribe();
    await wsc.dispose();
  }
});

console.log(`\n${passed} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
