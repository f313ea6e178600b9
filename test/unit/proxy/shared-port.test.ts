/**
 * SOCKS5 and HTTP on one port (proxy/shared-port.ts): the first byte picks
 * the server. Real clients: curl --socks5-hostname, curl -x, the socks
 * package; loopback only.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { SocksClient } from "socks";
import { LoopbackNet } from "./loopback-net.js";
import { RawClient, startHttpTarget, startEchoServer, curl, haveCurl } from "./helpers.js";
import { startSharedPort, type SharedPortServer } from "../../../proxy/shared-port.js";
import { createDnsClient } from "../../../proxy/dns-client.js";

let net: LoopbackNet;
let shared: SharedPortServer;
let target: Awaited<ReturnType<typeof startHttpTarget>>;
let echo: Awaited<ReturnType<typeof startEchoServer>>;

before(async () => {
  net = await LoopbackNet.create();
  target = await startHttpTarget();
  echo = await startEchoServer();
  net.zone.set("web.test", "127.0.0.1");
  const resolver = createDnsClient(net, { port: net.dnsPort });
  shared = await startSharedPort(net, { port: 0, socks: { resolver }, web: { resolver } });
});

after(async () => {
  await shared.close();
  target.server.close();
  echo.server.close();
  net.close();
});

test("one port: SOCKS5 (socks package and curl) and HTTP (curl -x, CONNECT, status page)", async (t) => {
  const { socket } = await SocksClient.createConnection({
    proxy: { host: "127.0.0.1", port: shared.port, type: 5 },
    command: "connect",
    destination: { host: "127.0.0.1", port: echo.port },
  });
  socket.write("shared");
  assert.equal(await new Promise<string>((res) => socket.once("data", (d) => res(d.toString()))), "shared");
  socket.destroy();

  // An HTTP request split so that the sniffed first byte arrives alone.
  const raw = new RawClient(shared.port);
  raw.send("G");
  await new Promise((r) => setTimeout(r, 20));
  raw.send(`ET http://web.test:${target.port}/split HTTP/1.1\r\nHost: web.test:${target.port}\r\nConnection: close\r\n\r\n`);
  const resp = (await raw.readToEnd()).toString();
  assert.match(resp, /^HTTP\/1\.1 200/);
  assert.match(resp, /"url":"\/split"/);

  if (!(await haveCurl())) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const a = await curl(["--socks5-hostname", `127.0.0.1:${shared.port}`, `http://web.test:${target.port}/s`]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(JSON.parse(a.stdout).url, "/s");
  const b = await curl(["-x", `http://127.0.0.1:${shared.port}`, `http://web.test:${target.port}/h`]);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(JSON.parse(b.stdout).url, "/h");
  const c = await curl(["-p", "-x", `http://127.0.0.1:${shared.port}`, `http://web.test:${target.port}/c`]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(JSON.parse(c.stdout).url, "/c");
  const s = await curl([`http://127.0.0.1:${shared.port}/api/status`]);
  assert.equal(JSON.parse(s.stdout).link.up, true);
  assert.ok(shared.stats.get("socks") >= 2 && shared.stats.get("http") >= 4, JSON.stringify(shared.stats.snapshot()));
});
