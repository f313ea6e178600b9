/**
 * Two conveniences around the link: SOCKS5 and HTTP sharing one client port
 * (told apart by the first byte), and the server's --redirect, which exposes
 * a service on the peer as a port on the host (slirp's redir).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { once } from "node:events";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { loadConfig } from "../../../src/config/load.js";
import { createNullModem } from "../../../src/link/null-modem.js";
import { Server } from "../../../src/app/server.js";
import { Client } from "../../../src/app/client.js";
import type { LineUp } from "../../../src/app/ppp-line.js";
import { freePort } from "./free-port.js";

const run = promisify(execFile);
const cfg = (role: "dial" | "serve") => loadConfig(["noauth"], { role, readFile: () => undefined, statMode: () => undefined, hostname: role });


test("SOCKS5 and HTTP on one port; a --redirect reaches a service on the peer", async () => {
  const web = http.createServer((_req, res) => res.end("host web")).listen(0, "127.0.0.1");
  await once(web, "listening");
  const webPort = (web.address() as net.AddressInfo).port;
  const proxyPort = await freePort();
  const redirectPort = await freePort();
  const modem = createNullModem({ baud: 4_000_000 });
  const server = new Server({
    lines: [{ config: cfg("serve") }],
    log: () => {},
    redirects: [`tcp:127.0.0.1:${redirectPort}=7000`],
    openLine: async () => ({ link: modem.a, release: () => {} }),
  });
  const client = new Client({
    config: cfg("dial"),
    log: () => {},
    socks: { host: "127.0.0.1", port: proxyPort },
    http: { host: "127.0.0.1", port: proxyPort },
    // A service on the client's side of the link, port 7000 on its link address.
    exposes: [`7000=127.0.0.1:${webPort}`],
    openLine: async () => ({ link: modem.b, release: () => {} }),
  });
  const up = new Promise<LineUp>((r) => client.once("up", r));
  await server.start();
  await client.start();
  await up;
  assert.equal(client.status.socks, client.status.http);

  const viaSocks = await run("curl", ["-sS", "--max-time", "30", "--socks5", `127.0.0.1:${proxyPort}`, `http://127.0.0.1:${webPort}/`]);
  assert.equal(viaSocks.stdout, "host web");
  const viaHttp = await run("curl", ["-sS", "--max-time", "30", "-x", `http://127.0.0.1:${proxyPort}`, `http://127.0.0.1:${webPort}/`]);
  assert.equal(viaHttp.stdout, "host web");

  // host:redirectPort -> link -> the client's link address port 7000 -> (expose) -> the web server.
  const viaRedirect = await run("curl", ["-sS", "--max-time", "30", `http://127.0.0.1:${redirectPort}/`]);
  assert.equal(viaRedirect.stdout, "host web");

  await client.stop();
  await server.stop();
  modem.close();
  web.close();
});
