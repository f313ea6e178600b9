/**
 * Basic authentication on the HTTP proxy, gateway and pages (proxy/http-auth.ts
 * through web.ts, http-proxy.ts and shared-port.ts), over the loopback test
 * LinkNet, driven by curl and raw sockets. Every refusal is followed by a good
 * request on the same server: it keeps serving.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { LoopbackNet } from "./loopback-net.js";
import { startWebFixture, closeWebFixture, type WebFixture } from "./web-fixture.js";
import { RawClient, curl, collectLog } from "./helpers.js";
import { startWebServer, type WebServer } from "../../../proxy/web.js";
import { startHttpProxy } from "../../../proxy/http-proxy.js";
import { startSharedPort } from "../../../proxy/shared-port.js";
import { createDnsClient } from "../../../proxy/dns-client.js";
import { BasicAuth, decodeBasic, BASIC_CHALLENGE } from "../../../proxy/http-auth.js";

const USERS = { alice: "s3cret", bob: "pa:ss:with:colons" };
const PASSWORDS = Object.values(USERS);

let net: LoopbackNet;
let web: WebServer;
let target: WebFixture["target"];
let echo: WebFixture["echo"];
let curlOk = false;
const logged = collectLog();

let fixture: WebFixture;

before(async () => {
  fixture = await startWebFixture({ users: USERS, log: logged.log });
  ({ net, web, target, echo, curlOk } = fixture);
});

after(() => closeWebFixture(fixture));

const proxyUrl = () => `http://127.0.0.1:${web.port}`;
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** A good proxied GET: the server still serves after whatever came before. */
async function assertServes(): Promise<void> {
  const r = await curl(["-x", proxyUrl(), "--proxy-user", "alice:s3cret", `http://web.test:${target.port}/still`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).url, "/still");
}

/** Status line, headers (lower-case names) and body of a raw response. */
function parseRaw(text: string): { status: number; headers: Map<string, string>; body: string } {
  const [head, ...rest] = text.split("\r\n\r\n");
  const [statusLine, ...lines] = head.split("\r\n");
  const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()] as [string, string]));
  return { status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n") };
}

/** One raw request on its own connection; the whole response (the server closes or we time out). */
async function rawRequest(text: string): Promise<ReturnType<typeof parseRaw>> {
  const c = new RawClient(web.port);
  c.send(text);
  const out = await c.readToEnd(1500);
  c.destroy();
  return parseRaw(out.toString());
}

test("decodeBasic / BasicAuth: RFC 7617 forms, malformed ones refused with a reason", () => {
  const auth = new BasicAuth(USERS);
  assert.equal(auth.enabled, true);
  assert.deepEqual(auth.check(`Basic ${b64("alice:s3cret")}`), { ok: true, user: "alice" });
  assert.deepEqual(auth.check(`basic   ${b64("bob:pa:ss:with:colons")}`), { ok: true, user: "bob" }, "scheme is case-insensitive; password keeps its colons");
  assert.deepEqual(auth.check(`Basic ${b64("alice:s3cret").replace(/=+$/, "")}`).ok, true, "missing padding is accepted");
  assert.match((auth.check(`Basic ${b64("alice:wrong")}`) as { reason: string }).reason, /wrong password for user "alice"/);
  assert.match((auth.check(`Basic ${b64("mallory:s3cret")}`) as { reason: string }).reason, /unknown user "mallory"/);
  assert.match((auth.check(`Basic ${b64("alice:s3cre")}`) as { reason: string }).reason, /wrong password/, "a prefix of the password is wrong");
  assert.match((auth.check(`Basic ${b64("alice:s3cret!")}`) as { reason: string }).reason, /wrong password/, "a longer password is wrong");
  assert.match((auth.check(`Basic ${b64("alice")}`) as { reason: string }).reason, /no ':'/);
  assert.match((auth.check("Basic !!notbase64!!") as { reason: string }).reason, /not base64/);
  assert.match((auth.check("Basic abcde") as { reason: string }).reason, /not base64/, "4n+1 characters cannot be base64");
  assert.match((auth.check(`Bearer ${b64("alice:s3cret")}`) as { reason: string }).reason, /unsupported scheme "Bearer"/);
  assert.match((auth.check("Basic") as { reason: string }).reason, /malformed/);
  assert.match((auth.check(undefined) as { reason: string }).reason, /no credentials/);
  // UTF-8 credentials (RFC 7617 §2.1 charset="UTF-8").
  const utf = new BasicAuth({ "jürgen": "pässwörd" });
  assert.equal(utf.check(`Basic ${b64("jürgen:pässwörd")}`).ok, true);
  assert.equal(new BasicAuth({}).enabled, false);
  assert.equal(new BasicAuth({}).check(undefined).ok, true, "no users: no authentication");
  assert.deepEqual(decodeBasic(`Basic ${b64("a:b:c")}`), { userPass: "a:b:c" });
});

test("curl -x --proxy-user: GET goes through; the origin never sees Proxy-Authorization", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  for (const [user, pass] of Object.entries(USERS)) {
    const r = await curl(["-x", proxyUrl(), "--proxy-user", `${user}:${pass}`, `http://web.test:${target.port}/p?u=${user}`]);
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout);
    assert.equal(seen.url, `/p?u=${user}`);
    assert.equal(seen.headers["proxy-authorization"], undefined, "Proxy-Authorization leaked upstream");
    assert.equal(seen.headers["authorization"], undefined);
    assert.doesNotMatch(JSON.stringify(seen), new RegExp(b64(`${user}:${pass}`).replace(/[+/=]/g, "\\$&")));
  }
});

test("curl -x: POST with a body and --proxy-user goes through", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const r = await curl(["-x", proxyUrl(), "--proxy-user", "bob:pa:ss:with:colons", "--data-binary", "@-", `http://web.test:${target.port}/post`], "hello body");
  assert.equal(r.code, 0, r.stderr);
  const seen = JSON.parse(r.stdout);
  assert.equal(seen.method, "POST");
  assert.equal(seen.body, "hello body");
});

test("no credentials -> 407 with Proxy-Authenticate: Basic realm=\"ppproxy\"; then a good request", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const r = await curl(["-i", "-x", proxyUrl(), `http://web.test:${target.port}/noauth`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^HTTP\/1\.1 407 Proxy Authentication Required\r\n/);
  assert.match(r.stdout, /\r\nproxy-authenticate: Basic realm="ppproxy"\r\n/i);
  assert.match(r.stdout, /needs a user name and password/);
  assert.doesNotMatch(r.stdout, /x-target/i, "the origin was reached");
  await assertServes();
});

test("wrong password / unknown user -> 407; then a good request", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  for (const cred of ["alice:nope", "mallory:s3cret", "alice:", "bob:pa:ss"]) {
    const r = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", proxyUrl(), "--proxy-user", cred, `http://web.test:${target.port}/wrong`]);
    assert.equal(r.stdout, "407", `${cred}: ${r.stderr}`);
    await assertServes();
  }
});

test("malformed Proxy-Authorization (bad base64, no colon, other scheme, empty) -> 407, never a crash", async () => {
  const headers = ["Basic !!!***", `Basic ${b64("alicenocolon")}`, "Basic a", `Digest username="alice"`, "Basic", "", `Basic ${b64("alice:s3cret")} extra`];
  for (const h of headers) {
    const res = await rawRequest(`GET http://web.test:${target.port}/bad HTTP/1.1\r\nHost: web.test\r\nProxy-Authorization: ${h}\r\nConnection: close\r\n\r\n`);
    assert.equal(res.status, 407, `header ${JSON.stringify(h)}`);
    assert.equal(res.headers.get("proxy-authenticate"), BASIC_CHALLENGE);
    await assertServes();
  }
});

test("a refused request leaves the keep-alive connection usable for the retry", async () => {
  const c = new RawClient(web.port);
  c.send(`POST http://web.test:${target.port}/ka HTTP/1.1\r\nHost: web.test\r\nContent-Length: 5\r\n\r\nhello`);
  const first = (await c.read(12)).toString();
  assert.equal(first, "HTTP/1.1 407");
  c.send(`GET http://web.test:${target.port}/ka2 HTTP/1.1\r\nHost: web.test\r\nProxy-Authorization: Basic ${b64("alice:s3cret")}\r\nConnection: close\r\n\r\n`);
  const rest = (await c.readToEnd()).toString();
  const second = rest.slice(rest.indexOf("HTTP/1.1 ", 1));
  assert.match(second, /^HTTP\/1\.1 200 /);
  assert.match(second, /"url":"\/ka2"/);
  c.destroy();
});

test("curl -p -x --proxy-user: CONNECT tunnel goes through", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const before = web.proxy.stats.get("tunnels");
  const r = await curl(["-p", "-x", proxyUrl(), "--proxy-user", "alice:s3cret", `http://web.test:${target.port}/tunnelled`]);
  assert.equal(r.code, 0, r.stderr);
  const seen = JSON.parse(r.stdout);
  assert.equal(seen.url, "/tunnelled");
  assert.equal(seen.headers["proxy-authorization"], undefined, "the CONNECT credentials went into the tunnel");
  assert.equal(web.proxy.stats.get("tunnels"), before + 1);
});

test("curl -p -x with a wrong password: the CONNECT is refused with 407, no tunnel", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const before = web.proxy.stats.get("tunnels");
  const r = await curl(["-p", "-x", proxyUrl(), "--proxy-user", "alice:bad", "-w", "%{http_connect}", `http://web.test:${target.port}/t`]);
  assert.notEqual(r.code, 0, "curl should fail on a refused CONNECT");
  assert.equal(r.stdout, "407", r.stderr);
  assert.equal(web.proxy.stats.get("tunnels"), before);
  await assertServes();
});

test("raw CONNECT without / with bad credentials: 407 before any tunnel (the far end sees nothing); then a good one", async () => {
  const peersBefore = echo.seenPeers.length;
  for (const extra of ["", `Proxy-Authorization: Basic ${b64("alice:bad")}\r\n`, "Proxy-Authorization: Basic %%%\r\n"]) {
    const res = await rawRequest(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nHost: 127.0.0.1:${echo.port}\r\n${extra}\r\nearly`);
    assert.equal(res.status, 407, JSON.stringify(extra));
    assert.equal(res.headers.get("proxy-authenticate"), 'Basic realm="ppproxy"');
    assert.equal(res.headers.get("connection"), "close");
    assert.equal(res.body, "407 Proxy Authentication Required: this proxy needs a user name and password (curl --proxy-user USER:PASS)\n");
  }
  assert.equal(echo.seenPeers.length, peersBefore, "a refused CONNECT dialled the far end");
  const c = new RawClient(web.port);
  c.send(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nHost: 127.0.0.1:${echo.port}\r\nProxy-Authorization: Basic ${b64("alice:s3cret")}\r\n\r\nearly`);
  const expected = "HTTP/1.1 200 Connection Established\r\nVia: 1.1 ppproxy\r\n\r\nearly";
  assert.equal((await c.read(expected.length)).toString(), expected);
  c.sock.end();
  assert.equal((await c.readToEnd()).toString(), "bye");
  assert.equal(echo.seenPeers.length, peersBefore + 1);
});

test("gateway /gw/: 401 + WWW-Authenticate without Authorization, 200 with; Authorization is not forwarded", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const gw = `${proxyUrl()}/gw/web.test:${target.port}/page?x=1`;
  const none = await curl(["-i", gw]);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /^HTTP\/1\.1 401 Unauthorized\r\n/);
  assert.match(none.stdout, /\r\nwww-authenticate: Basic realm="ppproxy"\r\n/i);
  assert.doesNotMatch(none.stdout, /x-target/i);
  // Proxy-Authorization is the wrong header for a browser talking to us directly.
  const wrongHeader = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", `Proxy-Authorization: Basic ${b64("alice:s3cret")}`, gw]);
  assert.equal(wrongHeader.stdout, "401");
  const bad = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "alice:nope", gw]);
  assert.equal(bad.stdout, "401");
  const ok = await curl(["-u", "alice:s3cret", gw]);
  assert.equal(ok.code, 0, ok.stderr);
  const seen = JSON.parse(ok.stdout);
  assert.equal(seen.url, "/page?x=1");
  assert.equal(seen.headers["authorization"], undefined, "our Authorization leaked to the origin");
});

test("pages: /, /api/status and unknown paths are 401 without credentials, 200 (404) with", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  for (const path of ["/", "/api/status", "/nope"]) {
    const r = await curl(["-i", `${proxyUrl()}${path}`]);
    assert.match(r.stdout, /^HTTP\/1\.1 401 /, path);
    assert.match(r.stdout, /\r\nwww-authenticate: Basic realm="ppproxy"\r\n/i, path);
    assert.doesNotMatch(r.stdout, /link|"http"/, `${path}: the 401 body shows the status`);
  }
  const s = await curl(["-u", "bob:pa:ss:with:colons", `${proxyUrl()}/api/status`]);
  assert.equal(s.code, 0, s.stderr);
  const body = JSON.parse(s.stdout);
  assert.equal(body.link.up, true);
  assert.ok(body.http["status 401"] >= 3, JSON.stringify(body.http));
  assert.ok(body.http["status 407"] >= 1, JSON.stringify(body.http));
  const page = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "alice:s3cret", `${proxyUrl()}/`]);
  assert.equal(page.stdout, "200");
  const missing = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "alice:s3cret", `${proxyUrl()}/nope`]);
  assert.equal(missing.stdout, "404");
});

test("refusals are logged with the reason and user, never the password or the header", () => {
  const refused = logged.lines.filter((l) => / -> 40[17]$/.test(l));
  assert.ok(refused.some((l) => /wrong password for user "alice" -> 407$/.test(l)), refused.join("\n"));
  assert.ok(refused.some((l) => /unknown user "mallory" -> 407$/.test(l)), refused.join("\n"));
  assert.ok(refused.some((l) => /CONNECT 127\.0\.0\.1:\d+ from 127\.0\.0\.1: no credentials -> 407$/.test(l)), refused.join("\n"));
  assert.ok(refused.some((l) => /GET \/api\/status from 127\.0\.0\.1: no credentials -> 401$/.test(l)), refused.join("\n"));
  for (const line of logged.lines) {
    for (const p of [...PASSWORDS, "nope", "bad"]) assert.ok(!line.includes(`:${p}`), `password in log: ${line}`);
    assert.doesNotMatch(line, /Basic [A-Za-z0-9+/]{4,}/, `credentials in log: ${line}`);
  }
});

test("off loopback without HTTP users: refuses to start, naming --http-user", async () => {
  for (const start of [
    () => startWebServer(net, { host: "0.0.0.0", port: 0 }),
    () => startHttpProxy(net, { host: "0.0.0.0", port: 0 }),
    () => startSharedPort(net, { host: "0.0.0.0", port: 0, socks: { users: { a: "b" } } }),
  ]) {
    await assert.rejects(start(), (e: Error & { code?: string }) => {
      assert.equal(e.code, "EUSAGE");
      assert.match(e.message, /not loopback/);
      assert.match(e.message, /--http-user USER:PASS/);
      return true;
    });
  }
});

test("standalone startHttpProxy with users: 407 without, 200 with", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const resolver = createDnsClient(net, { port: net.dnsPort, timeoutMs: 300, attempts: 1 });
  const p = await startHttpProxy(net, { port: 0, resolver, users: { carol: "x" } });
  try {
    const url = `http://web.test:${target.port}/alone`;
    const no = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", `http://127.0.0.1:${p.port}`, url]);
    assert.equal(no.stdout, "407");
    const yes = await curl(["-x", `http://127.0.0.1:${p.port}`, "--proxy-user", "carol:x", url]);
    assert.equal(yes.code, 0, yes.stderr);
    assert.equal(JSON.parse(yes.stdout).url, "/alone");
  } finally {
    await p.close();
  }
});

test("shared port: the HTTP side asks for the HTTP users, the SOCKS side for the SOCKS users", async (t) => {
  if (!curlOk) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const resolver = createDnsClient(net, { port: net.dnsPort, timeoutMs: 300, attempts: 1 });
  const shared = await startSharedPort(net, { port: 0, socks: { resolver, users: { sock: "sp" } }, web: { resolver, users: { web: "wp" } } });
  try {
    const url = `http://web.test:${target.port}/shared`;
    const proxy = `http://127.0.0.1:${shared.port}`;
    const none = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, url]);
    assert.equal(none.stdout, "407");
    const socksCreds = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, "--proxy-user", "sock:sp", url]);
    assert.equal(socksCreds.stdout, "407", "SOCKS users are not HTTP users");
    const http = await curl(["-x", proxy, "--proxy-user", "web:wp", url]);
    assert.equal(http.code, 0, http.stderr);
    assert.equal(JSON.parse(http.stdout).url, "/shared");
    const socks = await curl(["--socks5-hostname", `127.0.0.1:${shared.port}`, "--proxy-user", "sock:sp", url]);
    assert.equal(socks.code, 0, socks.stderr);
    assert.equal(JSON.parse(socks.stdout).url, "/shared");
    const socksWrong = await curl(["--socks5-hostname", `127.0.0.1:${shared.port}`, "--proxy-user", "web:wp", url]);
    assert.notEqual(socksWrong.code, 0, "HTTP users are not SOCKS users");
  } finally {
    await shared.close();
  }
});
