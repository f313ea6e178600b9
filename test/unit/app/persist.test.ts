/**
 * A dropped line with `persist`: the client redials after `holdoff`, the
 * server answers again, and a SOCKS request made while the link is down
 * waits for it instead of failing. Without `persist`, requests get REP 3.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { once } from "node:events";
import { SocksClient } from "socks";
import { loadConfig } from "../../../src/config/load.js";
import { createNullModem } from "../../../src/link/null-modem.js";
import { Server } from "../../../src/app/server.js";
import { Client } from "../../../src/app/client.js";
import type { LineUp } from "../../../src/app/ppp-line.js";

const cfg = (role: "dial" | "serve", words: string[]) =>
  loadConfig(["noauth", ...words], { role, readFile: () => undefined, statMode: () => undefined, hostname: role });

async function setup(clientWords: string[]) {
  const web = http.createServer((_req, res) => res.end("through")).listen(0, "127.0.0.1");
  await once(web, "listening");
  const webPort = (web.address() as net.AddressInfo).port;
  const modem = createNullModem({ baud: 2_000_000 });
  const server = new Server({ lines: [{ config: cfg("serve", []) }], log: () => {}, openLine: async () => ({ link: modem.reopen("a"), release: () => {} }) });
  const logs: string[] = [];
  const client = new Client({
    config: cfg("dial", clientWords),
    log: (_l, t) => logs.push(t),
    socks: { host: "127.0.0.1", port: 0 },
    http: null,
    openLine: async () => ({ link: modem.reopen("b"), release: () => {} }),
  });
  await server.start();
  const firstUp = new Promise<LineUp>((r) => client.once("up", r));
  await client.start();
  await firstUp;
  const [host, port] = client.status.socks!.split(":");
  const get = async () => {
    const { socket } = await SocksClient.createConnection({ proxy: { host, port: Number(port), type: 5 }, command: "connect", destination: { host: "127.0.0.1", port: webPort }, timeout: 60_000 });
    let got = "";
    socket.on("data", (d: Buffer) => (got += d));
    socket.write("GET / HTTP/1.0\r\n\r\n");
    await once(socket, "end");
    return got;
  };
  return { web, modem, server, client, logs, get, async stop() { await client.stop(); await server.stop(); modem.close(); web.close(); } };
}

test("persist: a request during the outage waits, then goes through on the redialled link", async () => {
  const s = await setup(["persist", "holdoff", "1"]);
  assert.match(await s.get(), /through$/);
  const down = new Promise((r) => s.client.once("down", r));
  await s.server.stop(); // the server hangs up: LCP Terminate
  await down;
  const pending = s.get(); // made while the link is down
  const server2 = new Server({ lines: [{ config: cfg("serve", []) }], log: () => {}, openLine: async () => ({ link: s.modem.reopen("a"), release: () => {} }) });
  await server2.start();
  assert.match(await pending, /through$/);
  assert.ok(s.logs.some((l) => /Waiting 1 seconds before re-establishing/.test(l)), s.logs.join("\n"));
  await s.client.stop();
  await server2.stop();
  s.modem.close();
  s.web.close();
});

test("without persist: after the link is gone for good, SOCKS answers REP 3 (network unreachable)", async () => {
  const s = await setup([]);
  const exit = new Promise((r) => s.client.once("exit", r));
  await s.server.stop();
  await exit;
  await assert.rejects(s.get(), (e: Error) => /NetworkUnreachable/.test(e.message));
  await s.stop();
});

