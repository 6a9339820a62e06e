// Starts PostGraphile 5 on node:http with graphile.config.mjs; DATABASE_URL and PORT come from
// the environment. The benchmark (benches/load.rs) starts this with the Node.js of this folder.
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import preset from "./graphile.config.mjs";

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.on("error", (e) => {
  console.error(e);
  process.exit(1);
});
await serv.addTo(server);
const port = preset.grafserv.port;
server.listen(port, preset.grafserv.host, () => {
  console.log(`postgraphile listening on http://127.0.0.1:${port}/graphql`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close();
    Promise.resolve(pgl.release()).finally(() => process.exit(0));
  });
}
