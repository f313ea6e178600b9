/**
 * The HTTP proxy's pure parts (proxy/http-proxy.ts): target parsing,
 * hop-by-hop header removal, Via, gateway Location rewriting, status mapping;
 * and dial.ts's target resolution (loopback = the peer, IPv6 rules).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  forwardRequestHeaders,
  forwardResponseHeaders,
  parseAuthority,
  parseTarget,
  rewriteLocation,
  statusForError,
} from "../../../proxy/http-proxy.js";
import { resolveTarget } from "../../../proxy/dial.js";
import { codedError } from "../../../proxy/log.js";
import type { LinkNet } from "../../../proxy/link-net.js";

test("parseTarget: absolute-form, gateway form, and the malformed", () => {
  const a = parseTarget("http://Example.test:8080/p?q=1");
  assert.ok(!("error" in a));
  assert.equal(a.url.href, "http://example.test:8080/p?q=1");
  assert.equal(a.gateway, false);
  const g = parseTarget("/gw/host.test:81/a/b?c=d");
  assert.ok(!("error" in g));
  assert.equal(g.url.href, "http://host.test:81/a/b?c=d");
  assert.equal(g.gateway, true);
  const bare = parseTarget("/gw/host.test");
  assert.ok(!("error" in bare) && bare.url.href === "http://host.test/");
  const q = parseTarget("/gw/host.test?x=1");
  assert.ok(!("error" in q) && q.url.href === "http://host.test/?x=1");
  for (const bad of ["https://x.test/", "ftp://x.test/", "/gw/", "/gw/a@b.test/", "/other", "http://exa mple/"])
    assert.ok("error" in parseTarget(bad), bad);
});

test("request headers: hop-by-hop and Connection-listed removed, Host replaced, Via appended", () => {
  const out = forwardRequestHeaders(
    ["Host", "wrong", "Connection", "close, X-Secret", "X-Secret", "1", "Keep-Alive", "5", "TE", "trailers", "Proxy-Authorization", "Basic x",
      "Proxy-Connection", "keep-alive", "Transfer-Encoding", "chunked", "Upgrade", "h2c", "Expect", "100-continue", "Via", "1.0 other", "Accept", "*/*"],
    "real.test:81",
  );
  assert.deepEqual(out, ["host", "real.test:81", "Accept", "*/*", "via", "1.0 other, 1.1 ppproxy"]);
});

test("response headers: hop-by-hop removed, Via added, gateway Location rewritten", () => {
  const target = new URL("http://site.test:8080/x");
  const out = forwardResponseHeaders(
    { "content-type": "text/html", connection: "keep-alive, x-hop", "x-hop": "1", "keep-alive": "timeout=5", "transfer-encoding": "chunked", location: "http://site.test:8080/next?a=1", "set-cookie": ["a=1", "b=2"] },
    target,
  );
  assert.deepEqual(out, { "content-type": "text/html", location: "/gw/site.test:8080/next?a=1", "set-cookie": ["a=1", "b=2"], via: "1.1 ppproxy" });
  assert.equal(rewriteLocation("/root/rel", target), "/gw/site.test:8080/root/rel");
  assert.equal(rewriteLocation("http://elsewhere.test/", target), "http://elsewhere.test/");
  assert.equal(rewriteLocation("https://site.test:8080/", target), "https://site.test:8080/");
  assert.equal(rewriteLocation("relative/path", target), "relative/path");
  assert.equal(forwardResponseHeaders({ location: "http://site.test:8080/" }, undefined).location, "http://site.test:8080/", "no rewrite outside the gateway");
});

test("CONNECT authority and status mapping", () => {
  assert.deepEqual(parseAuthority("example.test:443"), { host: "example.test", port: 443 });
  assert.deepEqual(parseAuthority("[::ffff:10.0.0.1]:22"), { host: "[::ffff:10.0.0.1]", port: 22 });
  for (const bad of ["example.test", "example.test:0", "example.test:70000", "/path:1", "a:b:1"]) assert.equal(parseAuthority(bad), undefined, bad);
  assert.equal(statusForError(codedError("ECONNREFUSED", "x")), 502);
  assert.equal(statusForError(codedError("ECONNRESET", "x")), 502);
  assert.equal(statusForError(codedError("ETIMEDOUT", "x")), 504);
  assert.equal(statusForError(codedError("UND_ERR_HEADERS_TIMEOUT", "x")), 504);
});

test("resolveTarget: loopback means the peer; IPv6 only when v4-mapped; names go to the resolver", async () => {
  const net = { peerAddress: "192.168.7.1" } as LinkNet;
  const asked: string[] = [];
  const resolver = { resolve4: async (n: string) => (asked.push(n), "198.51.100.7") };
  assert.equal(await resolveTarget("127.0.0.1", net, resolver), "192.168.7.1");
  assert.equal(await resolveTarget("127.8.9.10", net, resolver), "192.168.7.1");
  assert.equal(await resolveTarget("LOCALHOST", net, resolver), "192.168.7.1");
  assert.equal(await resolveTarget("[::1]", net, resolver), "192.168.7.1");
  assert.equal(await resolveTarget("::ffff:127.0.0.1", net, resolver), "192.168.7.1");
  assert.equal(await resolveTarget("::ffff:10.0.0.9", net, resolver), "10.0.0.9");
  assert.equal(await resolveTarget("10.0.0.9", net, resolver), "10.0.0.9");
  assert.equal(await resolveTarget("far.test", net, resolver), "198.51.100.7");
  assert.deepEqual(asked, ["far.test"]);
  await assert.rejects(resolveTarget("2001:db8::1", net, resolver), { code: "EAFNOSUPPORT" });
  await assert.rejects(resolveTarget("localhost", { peerAddress: undefined } as LinkNet, resolver), { code: "ENETUNREACH" });
});
