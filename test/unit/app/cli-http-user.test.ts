/**
 * `--http-user USER:PASS` on `ppproxy dial` (src/app/cli.ts): parsed like
 * `--socks-user` by the same parser, repeatable, listed in the help, and an
 * HTTP listener off loopback without it refuses to start.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseOwn, UsageError } from "../../../src/app/args.js";
import { CLIENT_OPTIONS, main, parseUsers } from "../../../src/app/cli.js";
import { Client } from "../../../src/app/client.js";
import { loadConfig } from "../../../src/config/load.js";
import { freePort } from "./free-port.js";
import { curl, haveCurl } from "../proxy/helpers.js";

test("--http-user: repeatable USER:PASS, the password keeps its colons, inline form too", () => {
  const p = parseOwn(["/dev/ttyS0", "--http-user", "alice:s3cret", "--http-user=bob:pa:ss", "--socks-user", "s:t", "nodetach"], CLIENT_OPTIONS);
  assert.deepEqual(p.rest, ["/dev/ttyS0", "nodetach"]);
  assert.deepEqual(parseUsers(p, "--http-user"), { alice: "s3cret", bob: "pa:ss" });
  assert.deepEqual(parseUsers(p, "--socks-user"), { s: "t" }, "the SOCKS users stay apart");
  assert.equal(parseUsers(parseOwn([], CLIENT_OPTIONS), "--http-user"), undefined);
  assert.deepEqual(parseUsers(parseOwn(["--http-user", "u:"], CLIENT_OPTIONS), "--http-user"), { u: "" }, "an empty password is a password");
});

test("--http-user without a colon or a user is a usage error naming the option, not echoing the value", () => {
  for (const bad of ["nocolonsecret", ":secret"]) {
    assert.throws(
      () => parseUsers(parseOwn(["--http-user", bad], CLIENT_OPTIONS), "--http-user"),
      (e: Error) => e instanceof UsageError && /--http-user: expected USER:PASS/.test(e.message) && !e.message.includes("secret"),
    );
  }
  assert.throws(() => parseOwn(["--http-user"], CLIENT_OPTIONS), /'--http-user' needs a value/);
});

test("ppproxy dial --http-user: bad value exits 2; help lists the option", async () => {
  const err: string[] = [];
  const out: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: {} };
  const code = await main(["dial", "/dev/ttyS9", "--http-user", "nocolon", "--control", "off", "--ppp-dir", "/nonexistent-ppproxy"], io);
  assert.equal(code, 2, err.join("\n"));
  assert.match(err.join("\n"), /--http-user: expected USER:PASS/);
  assert.equal(await main(["help"], io), 0);
  assert.match(out.join("\n"), /--http-user USER:PASS\s+require HTTP Basic auth/);
});

test("ppproxy dial --http off loopback without --http-user refuses to start and says how to fix it", async () => {
  const err: string[] = [];
  const io = { out: () => {}, err: (l: string) => err.push(l), env: {} };
  const code = await main(["dial", "/dev/ttyS9", "--socks", "off", "--http", "0.0.0.0:0", "--control", "off", "--ppp-dir", "/nonexistent-ppproxy"], io);
  assert.equal(code, 1, err.join("\n"));
  assert.match(err.join("\n"), /HTTP proxy listener on 0\.0\.0\.0 is not loopback: .*--http-user USER:PASS/);
});

/** A Client whose line never opens: only its listeners matter here. */
function idleClient(socks: { host: string; port: number } | null, http: { host: string; port: number; users?: Record<string, string> }): Client {
  const config = loadConfig(["noauth"], { role: "dial", readFile: () => undefined, statMode: () => undefined, hostname: "laptop" });
  return new Client({ config, log: () => {}, socks, http, openLine: () => new Promise(() => {}) });
}

test("Client wiring: the HTTP users reach the web server, alone and on a shared SOCKS/HTTP port", async (t) => {
  if (!(await haveCurl())) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const users = { alice: "s3cret" };
  const shared = await freePort();
  for (const [name, socks, http] of [
    ["alone", null, { host: "127.0.0.1", port: 0, users }],
    ["shared", { host: "127.0.0.1", port: shared }, { host: "127.0.0.1", port: shared, users }],
  ] as const) {
    const client = idleClient(socks, http);
    await client.start();
    try {
      const base = `http://${client.status.http}`;
      const none = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", `${base}/api/status`]);
      assert.equal(none.stdout, "401", `${name}: ${none.stderr}`);
      const ok = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "alice:s3cret", `${base}/api/status`]);
      assert.equal(ok.stdout, "200", `${name}: ${ok.stderr}`);
      const proxied = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", base, "http://127.0.0.1:9/"]);
      assert.equal(proxied.stdout, "407", `${name}: ${proxied.stderr}`);
    } finally {
      await client.stop();
    }
  }
});
