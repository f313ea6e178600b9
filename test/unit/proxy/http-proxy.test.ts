/**
 * HTTP proxy + gateway + status pages (proxy/web.ts over http-proxy.ts),
 * over the loopback test LinkNet, driven by curl and raw sockets.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import nodeNet from "node:net";
import type { LoopbackNet } from "./loopback-net.js";
import { startWebFixture, closeWebFixture, type WebFixture } from "./web-fixture.js";
import { RawClient, curl, collectLog } from "./helpers.js";
import type { WebServer } from "../../../proxy/web.js";

let net: LoopbackNet;
let web: WebServer;
let target: WebFixture["target"];
let echo: WebFixture["echo"];
let curlOk = false;
const logged = collectLog();

let fixture: WebFixture;

before(async () => {
  fixture = await startWebFixture({ log: logged.log });
  ({ net, web, target, echo, curlOk } = fixture);
});

after(() => closeWebFixture(fixture));

const proxyUrl = () => `http://127.0.0.1:${web.port}`;

async function assertServes(): Promise<void> {
  const r = await curl(["-x", proxyUrl(), `http://web.test:${target.port}/still`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).url, "/still");
}

test("curl -x: GET absolute-form, hop-by-hop removed, Via added both ways", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const r = await curl([
    "-i",
    "-x",
    proxyUrl(),
    "-H",
    "Proxy-Authorization: Basic c2VjcmV0",
    "-H",
    "Connection: keep-alive, X-Drop-Me",
    "-H",
    "X-Drop-Me: 1",
    "-H",
    "X-Keep-Me: 2",
    `http://web.test:${target.port}/path?q=1`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const [head, body] = r.stdout.split("\r\n\r\n");
  assert.match(head, /^HTTP\/1\.1 200/);
  assert.match(head, /\r\nvia: 1\.1 ppproxy/i);
  const seen = JSON.parse(body);
  assert.equal(seen.url, "/path?q=1");
  assert.equal(seen.headers.host, `web.test:${target.port}`);
  assert.equal(seen.headers["x-keep-me"], "2");
  assert.equal(seen.headers["x-drop-me"], undefined);
  assert.equal(seen.headers["proxy-authorization"], undefined);
  assert.equal(seen.headers["proxy-connection"], undefined);
  assert.equal(seen.headers.via, "1.1 ppproxy");
});

test("curl -x: POST with a streamed (chunked) body and a large one with Expect: 100-continue", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const small = "line one\nline two\n";
  const a = await curl(["-x", proxyUrl(), "-H", "Transfer-Encoding: chunked", "--data-binary", "@-", `http://web.test:${target.port}/post`], small);
  assert.equal(a.code, 0, a.stderr);
  const seenA = JSON.parse(a.stdout);
  assert.equal(seenA.method, "POST");
  assert.equal(seenA.body, small);
  const big = "x".repeat(300_000);
  const b = await curl(["-x", proxyUrl(), "-X", "PUT", "--data-binary", "@-", `http://web.test:${target.port}/put`], big);
  assert.equal(b.code, 0, b.stderr);
  const seenB = JSON.parse(b.stdout);
  assert.equal(seenB.method, "PUT");
  assert.equal(seenB.body.length, big.length);
  assert.equal(seenB.headers.expect, undefined);
});

test("curl -x: other methods (HEAD, DELETE, OPTIONS, PATCH) pass through", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const head = await curl(["-I", "-x", proxyUrl(), `http://web.test:${target.port}/h`]);
  assert.equal(head.code, 0, head.stderr);
  assert.match(head.stdout, /^HTTP\/1\.1 200/);
  assert.match(head.stdout, /x-target: yes/i);
  for (const m of ["DELETE", "OPTIONS", "PATCH"]) {
    const r = await curl(["-X", m, "-x", proxyUrl(), `http://web.test:${target.port}/m`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).method, m);
  }
});

test("curl -p -x: CONNECT tunnel", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const r = await curl(["-p", "-x", proxyUrl(), `http://web.test:${target.port}/tunnelled`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).url, "/tunnelled");
  assert.ok(web.proxy.stats.get("tunnels") >= 1);
});

test("CONNECT: bytes after the request head go through; half-close both ways", async () => {
  const c = new RawClient(web.port);
  c.send(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nHost: 127.0.0.1:${echo.port}\r\n\r\nearly`);
  const expected = "HTTP/1.1 200 Connection Established\r\nVia: 1.1 ppproxy\r\n\r\nearly";
  assert.equal((await c.read(expected.length)).toString(), expected);
  c.sock.end();
  assert.equal((await c.readToEnd()).toString(), "bye");
});

test("gateway: /gw/HOST:PORT/PATH?query fetches over the link; Location rewritten", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const r = await curl([`${proxyUrl()}/gw/web.test:${target.port}/some/page?x=1&y=2`]);
  assert.equal(r.code, 0, r.stderr);
  const seen = JSON.parse(r.stdout);
  assert.equal(seen.url, "/some/page?x=1&y=2");
  assert.equal(seen.headers.host, `web.test:${target.port}`);
  const redir = await curl(["-i", `${proxyUrl()}/gw/web.test:${target.port}/redirect`]);
  assert.match(redir.stdout, /^HTTP\/1\.1 302/);
  assert.match(redir.stdout, new RegExp(`\\r\\nlocation: /gw/web\\.test:${target.port}/landed\\?x=1\\r\\n`, "i"));
  const follow = await curl(["-L", `${proxyUrl()}/gw/web.test:${target.port}/redirect`]);
  assert.equal(JSON.parse(follow.stdout).url, "/landed?x=1");
});

test("fastify pages: /api/status JSON and / HTML", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const s = await curl([`${proxyUrl()}/api/status`]);
  const status = JSON.parse(s.stdout);
  assert.equal(status.link.up, true);
  assert.equal(status.link.peerAddress, "127.0.0.1");
  assert.deepEqual(status.app, { line: "test" });
  assert.ok(status.http.forwarded >= 1);
  const page = await curl([`${proxyUrl()}/`]);
  assert.match(page.stdout, /<h1>ppproxy: link up<\/h1>/);
});

test("error: malformed HTTP request -> 400, server still serves", async () => {
  const c = new RawClient(web.port);
  c.send("THIS IS NOT HTTP\r\n\r\n");
  const got = (await c.readToEnd()).toString();
  assert.match(got, /^HTTP\/1\.1 400/);
  await assertServes();
});

test("error: https:// absolute-form and a bad gateway host -> 400", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const c = new RawClient(web.port);
  c.send(`GET https://web.test/ HTTP/1.1\r\nHost: web.test\r\n\r\n`);
  assert.match((await c.read(12)).toString(), /^HTTP\/1\.1 400/);
  c.destroy();
  const r = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", `${proxyUrl()}/gw/`]);
  assert.equal(r.stdout, "400");
});

test("error: connection refused -> 502 naming ECONNREFUSED (request and CONNECT); server still serves", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const tmp = nodeNet.createServer();
  await new Promise<void>((r) => tmp.listen(0, "127.0.0.1", r));
  const closedPort = (tmp.address() as nodeNet.AddressInfo).port;
  await new Promise<void>((r) => tmp.close(() => r()));
  const r = await curl(["-i", "-x", proxyUrl(), `http://127.0.0.1:${closedPort}/`]);
  assert.match(r.stdout, /^HTTP\/1\.1 502/);
  assert.match(r.stdout, /ECONNREFUSED/);
  const c = new RawClient(web.port);
  c.send(`CONNECT 127.0.0.1:${closedPort} HTTP/1.1\r\n\r\n`);
  const resp = (await c.readToEnd()).toString();
  assert.match(resp, /^HTTP\/1\.1 502/);
  assert.match(resp, /ECONNREFUSED/);
  await assertServes();
});

test("error: unresolvable name -> 502; timeout -> 504; link down for good -> 502", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const a = await curl(["-i", "-x", proxyUrl(), `http://nowhere.test/`]);
  assert.match(a.stdout, /^HTTP\/1\.1 502/);
  assert.match(a.stdout, /ENOTFOUND/);
  net.zone.set("slow.test", "127.0.0.9");
  net.failConnect.set("127.0.0.9", "ETIMEDOUT");
  const b = await curl(["-i", "-x", proxyUrl(), `http://slow.test/`]);
  net.failConnect.delete("127.0.0.9");
  assert.match(b.stdout, /^HTTP\/1\.1 504/);
  net.setUp(false, { persist: false });
  const d = await curl(["-i", "-x", proxyUrl(), `http://web.test:${target.port}/down`]);
  net.setUp(true);
  assert.match(d.stdout, /^HTTP\/1\.1 502/);
  assert.match(d.stdout, /ENETDOWN/);
  await assertServes();
});

test("a client that goes away abandons the upstream request", async () => {
  const http = await import("node:http");
  let upstreamClosed!: () => void;
  const closed = new Promise<void>((r) => (upstreamClosed = r));
  let arrived!: () => void;
  const gotRequest = new Promise<void>((r) => (arrived = r));
  const slow = http.createServer((req) => {
    arrived();
    req.socket.on("close", upstreamClosed); // never answers
  });
  await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
  const port = (slow.address() as nodeNet.AddressInfo).port;
  try {
    const c = new RawClient(web.port);
    c.send(`GET http://127.0.0.1:${port}/slow HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    await gotRequest;
    c.destroy();
    await closed;
    for (let i = 0; i < 400 && web.proxy.stats.get("client went away") === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(web.proxy.stats.get("client went away"), 1);
  } finally {
    slow.close();
  }
  await assertServes();
});
