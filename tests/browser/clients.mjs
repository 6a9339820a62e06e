// Widely used GraphQL client libraries work against a running persona-graph: graphql-request,
// urql (@urql/core) and Apollo Client (@apollo/client, core with its HttpLink) each run, through
// their own public API over the real HTTP endpoint,
//   - the dashboard query (ownershipMatrix of buyer-journey: 9 stages, the account-executives row),
//   - ownershipGaps (exactly dev-journey/advocate-expand),
//   - createTeam with variables (as an editor: the token in PERSONA_GRAPH_TOKEN), read back
//     with team(slug:),
//   - createTeam without a token, which each client must surface as UNAUTHENTICATED,
//   - createTeam with an empty name, which each client must surface as an error whose
//     extensions.code is BAD_USER_INPUT (and the same for a variable of the wrong enum value),
//   - a query sent with GET, where the client can (graphql-request `method: "GET"`, urql
//     `preferGetMethod`, Apollo `useGETForQueries`).
// Every request goes through a recording fetch, so a check also asserts the HTTP method the
// client used and a failure prints the requests and responses it saw.
//
// Usage: PERSONA_GRAPH_TOKEN=pgt_... node clients.mjs http://127.0.0.1:PORT/graphql
// (run.sh starts the server and calls this.)

import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { Client as UrqlClient, fetchExchange } from "@urql/core";
import { ClientError, GraphQLClient } from "graphql-request";

const url = process.argv[2];
if (!url || !url.startsWith("http://127.0.0.1:")) {
  console.error("usage: node clients.mjs http://127.0.0.1:PORT/graphql");
  process.exit(2);
}

const token = process.env.PERSONA_GRAPH_TOKEN;
if (!token) {
  console.error("PERSONA_GRAPH_TOKEN must hold an editor token (persona-graph token create --role editor)");
  process.exit(2);
}
const EDITOR = { authorization: `Bearer ${token}` };

const STEP_TIMEOUT_MS = 30_000;
const failures = [];
let passed = 0;

/** Runs one named check; a failure is recorded and the next checks still run. */
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
    console.log(`FAIL - ${name}\n       ${String(e?.message ?? e).split("\n").join("\n       ")}`);
  }
}

// --- what the service answers for the seed catalog

const MATRIX = `query Matrix {
  ownershipMatrix(journey: "buyer-journey") {
    stages { key }
    rows { team { slug } cells { stageKey responsibility } }
  }
}`;
const GAPS = `query Gaps { ownershipGaps { journey { slug } stage { key } } }`;
const CREATE_TEAM = `mutation CreateTeam($input: CreateTeamInput!) {
  createTeam(input: $input) { team { id slug name department description version } }
}`;
const TEAM = `query Team($slug: String!) { team(slug: $slug) { id slug name department description version } }`;

const BUYER_STAGES = [
  "problem-awareness", "engage", "qualify", "validate", "commit", "onboard", "adopt", "nurture-expand", "renew",
];
// src/catalog/handbook-catalog.yaml: account-executives across the buyer journey.
const ACCOUNT_EXECUTIVES = {
  "problem-awareness": "CONSULTED",
  engage: "RESPONSIBLE",
  qualify: "ACCOUNTABLE",
  validate: "RESPONSIBLE",
  commit: "ACCOUNTABLE",
  onboard: "INFORMED",
  adopt: null,
  "nurture-expand": "RESPONSIBLE",
  renew: "ACCOUNTABLE",
};

function assertMatrix(data) {
  const matrix = data?.ownershipMatrix;
  if (!matrix) throw new Error(`no ownershipMatrix in ${JSON.stringify(data)}`);
  const keys = matrix.stages.map((s) => s.key);
  if (keys.length !== 9) throw new Error(`${keys.length} stages, 9 expected: ${keys.join(", ")}`);
  if (keys.join() !== BUYER_STAGES.join()) throw new Error(`stages ${keys.join(", ")}`);
  const row = matrix.rows.find((r) => r.team.slug === "account-executives");
  if (!row) throw new Error(`no account-executives row among ${matrix.rows.map((r) => r.team.slug).join(", ")}`);
  const got = Object.fromEntries(row.cells.map((c) => [c.stageKey, c.responsibility]));
  if (JSON.stringify(got) !== JSON.stringify(ACCOUNT_EXECUTIVES)) {
    throw new Error(`account-executives cells ${JSON.stringify(got)}, expected ${JSON.stringify(ACCOUNT_EXECUTIVES)}`);
  }
}

function assertGaps(data) {
  const gaps = (data?.ownershipGaps ?? []).map((g) => `${g.journey.slug}/${g.stage.key}`);
  if (gaps.join() !== "dev-journey/advocate-expand") {
    throw new Error(`gaps ${JSON.stringify(gaps)}, expected exactly ["dev-journey/advocate-expand"]`);
  }
}

// --- a fetch that records what each client sent and got

function recordingFetch(log) {
  return async (input, init = {}) => {
    const method = (init.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const href = input instanceof Request ? input.url : String(input);
    const entry = { method, url: href, body: typeof init.body === "string" ? init.body : undefined };
    log.push(entry);
    const response = await fetch(input, init);
    entry.status = response.status;
    entry.contentType = response.headers.get("content-type");
    entry.response = await response.clone().text();
    return response;
  };
}

/** The exchanges a check saw, for its failure message. */
function describe(log) {
  return log
    .map((e) => {
      const target = e.method === "GET" ? decodeURIComponent(e.url) : e.url;
      return `${e.method} ${target}${e.body ? `\n  body ${e.body}` : ""}\n  -> ${e.status} ${e.contentType}\n  ${String(e.response).slice(0, 600)}`;
    })
    .join("\n");
}

/** Runs fn with a fresh request log; the requests it made must all use `method`. */
async function expecting(client, method, fn) {
  client.log.length = 0;
  try {
    await fn();
  } catch (e) {
    throw new Error(`${e?.name ?? "Error"}: ${e?.message ?? e}\nrequests:\n${describe(client.log)}`);
  }
  const methods = client.log.map((e) => e.method);
  if (methods.length === 0) throw new Error("the client sent no request");
  if (methods.some((m) => m !== method)) throw new Error(`sent ${methods.join(", ")}, ${method} expected\nrequests:\n${describe(client.log)}`);
}

/** The client must reject `run()` with GraphQL errors (from `errorsOf`) that include BAD_USER_INPUT, naming `pathHint` if given. */
async function expectBadUserInput(client, run, pathHint) {
  return expectCode(client, run, "BAD_USER_INPUT", pathHint);
}

/** The client must reject `run()` with GraphQL errors (from `errorsOf`) that include `code`, naming `pathHint` if given. */
async function expectCode(client, run, code, pathHint) {
  let error;
  let data;
  let threw = false;
  try {
    data = await run();
  } catch (e) {
    threw = true;
    error = e;
  }
  if (!threw) throw new Error(`no error surfaced; data ${JSON.stringify(data)}\nrequests:\n${describe(client.log)}`);
  const errors = client.errorsOf(error);
  if (!errors) {
    throw new Error(`the client surfaced ${error?.name}: ${error?.message}, not GraphQL errors\nrequests:\n${describe(client.log)}`);
  }
  const codes = errors.map((e) => e?.extensions?.code);
  if (!codes.includes(code)) {
    throw new Error(`extensions.code ${JSON.stringify(codes)}, ${code} expected: ${JSON.stringify(errors)}\nrequests:\n${describe(client.log)}`);
  }
  const message = errors.map((e) => e.message).join(" | ");
  if (pathHint && !message.includes(pathHint) && !JSON.stringify(errors).includes(pathHint)) {
    throw new Error(`the error does not name ${pathHint}: ${JSON.stringify(errors)}`);
  }
  return message;
}

// --- the clients, each made with the HTTP headers it sends and behind the same small interface:
//   query(doc, variables)  -> data (POST);  getQuery(doc, variables) -> data (GET), or absent;
//   mutate(doc, variables) -> data;         errorsOf(error) -> GraphQL errors, or null

function graphqlRequestClient(headers) {
  const log = [];
  const post = new GraphQLClient(url, { fetch: recordingFetch(log), headers });
  const get = new GraphQLClient(url, { method: "GET", fetch: recordingFetch(log), headers });
  return {
    name: "graphql-request",
    log,
    query: (doc, variables) => post.request(doc, variables),
    getQuery: (doc, variables) => get.request(doc, variables),
    mutate: (doc, variables) => post.request(doc, variables),
    errorsOf: (e) => (e instanceof ClientError ? e.response.errors ?? null : null),
  };
}

function urqlClient(headers) {
  const log = [];
  // @urql/core 6 sends queries with GET by default when the URL is short enough
  // ("within-url-limit"): this client is pinned to POST and the GET one forces GET.
  const options = {
    url,
    exchanges: [fetchExchange],
    fetch: recordingFetch(log),
    fetchOptions: { headers },
    requestPolicy: "network-only",
  };
  const post = new UrqlClient({ ...options, preferGetMethod: false });
  const get = new UrqlClient({ ...options, preferGetMethod: "force" });
  const unwrap = async (pending) => {
    const result = await pending.toPromise();
    if (result.error) throw result.error;
    return result.data;
  };
  return {
    name: "urql",
    log,
    query: (doc, variables) => unwrap(post.query(doc, variables)),
    getQuery: (doc, variables) => unwrap(get.query(doc, variables)),
    mutate: (doc, variables) => unwrap(post.mutation(doc, variables)),
    // A CombinedError; graphQLErrors holds GraphQLError instances with their extensions.
    errorsOf: (e) => (e?.name === "CombinedError" && e.graphQLErrors?.length ? e.graphQLErrors : null),
  };
}

function apolloClient(headers) {
  const log = [];
  const make = (useGETForQueries) =>
    new ApolloClient({
      link: new HttpLink({ uri: url, fetch: recordingFetch(log), useGETForQueries, headers }),
      cache: new InMemoryCache(),
    });
  const post = make(false);
  const get = make(true);
  const run = async (client, doc, variables) =>
    (await client.query({ query: gql(doc), variables, fetchPolicy: "network-only" })).data;
  return {
    name: "Apollo Client",
    log,
    query: (doc, variables) => run(post, doc, variables),
    getQuery: (doc, variables) => run(get, doc, variables),
    mutate: async (doc, variables) => (await post.mutate({ mutation: gql(doc), variables })).data,
    errorsOf: (e) => (CombinedGraphQLErrors.is(e) ? e.errors : null),
    stop: () => {
      post.stop();
      get.stop();
    },
  };
}

const run = Date.now().toString(36);

for (const make of [graphqlRequestClient, urqlClient, apolloClient]) {
  const client = make(EDITOR);
  const anonymous = make({});
  const label = (check) => `${client.name}: ${check}`;
  const slug = `clients-${client.name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${run}`;

  await check(label("ownershipMatrix(buyer-journey): 9 stages, the account-executives row (POST)"), () =>
    expecting(client, "POST", async () => assertMatrix(await client.query(MATRIX))),
  );

  await check(label("ownershipGaps: exactly dev-journey/advocate-expand (POST)"), () =>
    expecting(client, "POST", async () => assertGaps(await client.query(GAPS))),
  );

  await check(label(`createTeam with variables (${slug}), read back with team(slug:)`), () =>
    expecting(client, "POST", async () => {
      const input = { slug, name: `Clients check ${client.name}`, department: "ENGINEERING", description: "made by clients.mjs" };
      const created = (await client.mutate(CREATE_TEAM, { input }))?.createTeam?.team;
      for (const [k, v] of Object.entries(input)) {
        if (created?.[k] !== v) throw new Error(`created ${k}: ${JSON.stringify(created?.[k])}, sent ${JSON.stringify(v)}`);
      }
      if (created.version !== 1 || !created.id) throw new Error(`created ${JSON.stringify(created)}`);
      const read = (await client.query(TEAM, { slug }))?.team;
      if (JSON.stringify(read, Object.keys(created)) !== JSON.stringify(created, Object.keys(created))) {
        throw new Error(`read back ${JSON.stringify(read)}, created ${JSON.stringify(created)}`);
      }
    }),
  );

  await check(label("createTeam without a token surfaces extensions.code UNAUTHENTICATED"), () =>
    expecting(anonymous, "POST", async () => {
      const input = { slug: `${slug}-anonymous`, name: "Anonymous", department: "ENGINEERING" };
      await expectCode(anonymous, () => anonymous.mutate(CREATE_TEAM, { input }), "UNAUTHENTICATED", "token");
      // And nothing was created; reads need no token.
      const read = await anonymous.query(TEAM, { slug: `${slug}-anonymous` });
      if (read?.team !== null) throw new Error(`the refused team exists: ${JSON.stringify(read)}`);
    }),
  );

  await check(label("createTeam with an empty name surfaces extensions.code BAD_USER_INPUT"), () =>
    expecting(client, "POST", async () => {
      const input = { slug: `${slug}-empty`, name: "", department: "ENGINEERING" };
      await expectBadUserInput(client, () => client.mutate(CREATE_TEAM, { input }), "name");
      // And nothing was created.
      const read = await client.query(TEAM, { slug: `${slug}-empty` });
      if (read?.team !== null) throw new Error(`the rejected team exists: ${JSON.stringify(read)}`);
    }),
  );

  await check(label("a variable with an unknown enum value surfaces extensions.code BAD_USER_INPUT"), () =>
    expecting(client, "POST", async () => {
      const input = { slug: `${slug}-enum`, name: "Bad department", department: "NOT_A_DEPARTMENT" };
      await expectBadUserInput(client, () => client.mutate(CREATE_TEAM, { input }));
    }),
  );

  if (client.getQuery) {
    await check(label("the dashboard query sent with GET"), () =>
      expecting(client, "GET", async () => {
        assertMatrix(await client.getQuery(MATRIX));
        if (!client.log[0].url.includes("?")) throw new Error(`GET without a query string: ${client.log[0].url}`);
      }),
    );
    await check(label("a query with variables sent with GET reads the created team"), () =>
      expecting(client, "GET", async () => {
        const team = (await client.getQuery(TEAM, { slug }))?.team;
        if (team?.slug !== slug) throw new Error(`team ${JSON.stringify(team)}`);
      }),
    );
  }

  client.stop?.();
  anonymous.stop?.();
}

console.log(`clients: ${passed} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
