#!/usr/bin/env bash
# Browser and protocol checks against the real binary: builds persona-graph, starts it on a free
# port over a temporary SQLite database (seeded at start-up), waits for /health, then runs
#   graphiql-offline.mjs    headless Chromium, network cut off: GraphiQL loads, runs, shows docs
#   graphql-http-audit.mjs  the official GraphQL-over-HTTP audit (fails on MUST failures)
#   clients.mjs             graphql-request, urql and Apollo Client run queries, mutations (with
#                           an editor token made by `persona-graph token create`) and GET queries,
#                           and surface BAD_USER_INPUT and UNAUTHENTICATED through their own APIs
#   subscriptions.mjs       graphql-ws, graphql-sse and Apollo Client's GraphQLWsLink receive live
#                           changes (resumed from a cursor, and ownership matrix updates)
#   dashboard.mjs           headless Chromium, network cut off: the landing page and /dashboard
#                           (the buyer journey's letters in the right cells, its health, the
#                           gaps, a live edit, reconnecting, keyboard, CSV, persona filter,
#                           narrow and print layouts); screenshots in $ARTIFACTS_DIR
# and stops the server. Needs cargo, node/npm and /usr/bin/chromium (or CHROMIUM=...).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
screenshot="${SCREENSHOT:-/tmp/graphiql.png}"

echo "--- building persona-graph"
(cd "$root" && cargo build --bin persona-graph)

echo "--- installing the browser-test packages (npm ci)"
(cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

tmp="$(mktemp -d)"
server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap stop_server EXIT

# A port the kernel just handed out and released: free unless something races for it, in which
# case the server fails to bind and the wait below reports it.
port="$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')"
base="http://127.0.0.1:$port"

echo "--- creating an editor token for the clients' mutations"
editor_token="$(DATABASE_URL="sqlite://$tmp/persona-graph.db?mode=rwc" RUST_LOG=warn \
  "$target_dir/debug/persona-graph" token create --name browser-checks --role editor)"

echo "--- starting persona-graph on $base (SQLite in $tmp)"
# The log exists before the server starts, so the wait below can never open it too early.
: >"$tmp/server.log"
DATABASE_URL="sqlite://$tmp/persona-graph.db?mode=rwc" BIND="127.0.0.1:$port" SEED="${SEED:-always}" RUST_LOG="${RUST_LOG:-info}" LOG_FORMAT=text \
  "$target_dir/debug/persona-graph" serve >"$tmp/server.log" 2>&1 &
server_pid=$!

# The server logs "listening on" once its socket is bound: wait for that line (60 s at most;
# at once if the server dies, since tail stops with it).
if ! timeout 60 grep -q -m1 "listening on" <(tail --pid="$server_pid" -n +1 -f "$tmp/server.log"); then
  echo "persona-graph did not start listening; its log:" >&2
  cat "$tmp/server.log" >&2
  exit 1
fi

status=0
echo "--- GraphiQL in headless Chromium, network cut off"
node "$here/graphiql-offline.mjs" "$base" "$screenshot" || status=1

echo "--- GraphQL-over-HTTP audit (graphql-http)"
node "$here/graphql-http-audit.mjs" "$base/graphql" || status=1

echo "--- GraphQL clients (graphql-request, urql, Apollo Client)"
PERSONA_GRAPH_TOKEN="$editor_token" node "$here/clients.mjs" "$base/graphql" || status=1

echo "--- subscription clients (graphql-ws, graphql-sse, Apollo Client over WebSocket)"
PERSONA_GRAPH_TOKEN="$editor_token" node "$here/subscriptions.mjs" "$base/graphql" || status=1

echo "--- the ownership dashboard in headless Chromium, network cut off (edits the catalog: last)"
ARTIFACTS_DIR="${ARTIFACTS_DIR:-$target_dir/artifacts}" PERSONA_GRAPH_TOKEN="$editor_token" \
  node "$here/dashboard.mjs" "$base" || status=1

if [[ "$status" -ne 0 ]]; then
  echo "--- server log" >&2
  cat "$tmp/server.log" >&2
fi
exit "$status"
