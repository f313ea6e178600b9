/**
 * The commands as users run them, each a real process: `ppproxy serve` on a
 * TCP "serial line", `ppproxy dial` to it with the HOWTO's options files,
 * then `ppproxy ping` and `ppproxy fetch` through the running client's
 * control socket, and curl through its SOCKS5 proxy.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createHash } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { SeededRng } from "../../../stack/util/rng.js";
import { freePort } from "./free-port.js";

const run = promisify(execFile);
const BIN = ["--import", "tsx", join(import.meta.dirname, "../../../bin/ppproxy.ts")];
const body = Buffer.from(new SeededRng(11).fill(new Uint8Array(200_000)));
const sha = createHash("sha256").update(body).digest("hex");

let dir: string;
let web: http.Server;
let webPort: number;
let server: ChildProcess;
let client: ChildProcess;
let socksPort: number;
const logs: string[] = [];


function start(args: string[], name: string): ChildProcess {
  const child = spawn(process.execPath, [...BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const add = (d: Buffer) => logs.push(...String(d).split(/(?<=\n)/).map((l) => `${name}: ${l}`));
  child.stdout!.on("data", add);
  child.stderr!.on("data", add);
  return child;
}

/** Run a test body; on failure the error carries both processes' logs. */
function withLogs(fn: () => Promise<void> | void): () => Promise<void> {
  return async () => {
    try {
      await fn();
    } catch (err) {
      (err as Error).message += `\n--- ppproxy logs ---\n${logs.join("")}`;
      throw err;
    }
  };
}

async function waitForLog(re: RegExp, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!re.test(logs.join(""))) {
    if (Date.now() > deadline) throw new Error(`no ${re} within ${ms} ms; log:\n${logs.join("")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ppproxy-cli-"));
  const srvDir = join(dir, "server-ppp");
  const cliDir = join(dir, "client-ppp");
  mkdirSync(srvDir);
  mkdirSync(cliDir);
  // The HOWTO's server and client files.
  writeFileSync(join(srvDir, "options"), "auth\nasyncmap 0\n");
  writeFileSync(join(srvDir, "pap-secrets"), "# client server secret IP\nzaphod * gargleBlaster *\n");
  chmodSync(join(srvDir, "pap-secrets"), 0o600);
  writeFileSync(join(cliDir, "options"), "user zaphod\n");
  writeFileSync(join(cliDir, "pap-secrets"), "zaphod * gargleBlaster\n");
  chmodSync(join(cliDir, "pap-secrets"), 0o600);
  web = http.createServer((req, res) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (!range) return res.end(body);
    const from = Number(range[1]);
    res.writeHead(206, { "content-range": `bytes ${from}-${body.length - 1}/${body.length}` }).end(body.subarray(from));
  }).listen(0, "127.0.0.1");
  await once(web, "listening");
  webPort = (web.address() as net.AddressInfo).port;
  const line = await freePort();
  socksPort = await freePort();
  server = start(["serve", `tcp-listen://127.0.0.1:${line}`, "192.168.7.1:192.168.7.2", "--ppp-dir", srvDir], "serve");
  await waitForLog(/Waiting for calls/, 30_000);
  client = start(
    ["dial", `tcp://127.0.0.1:${line}`, "nodetach", "--ppp-dir", cliDir, "--socks", `127.0.0.1:${socksPort}`, "--http", "127.0.0.1:0", "--http-user", "fetcher:s3cret", "--control", join(dir, "ctl.sock")],
    "dial",
  );
  await waitForLog(/SOCKS5 proxy on/, 30_000);
});

after(async () => {
  for (const c of [client, server]) {
    if (c && c.exitCode === null) {
      c.kill("SIGINT");
      await Promise.race([once(c, "exit"), new Promise((r) => setTimeout(r, 5000))]);
      c.kill("SIGKILL");
    }
  }
  web?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("both ends log pppd's lines: PAP as the HOWTO's zaphod, the HOWTO's addresses", withLogs(() => {
  const all = logs.join("");
  assert.match(all, /serve: .*PAP peer authentication succeeded for zaphod/);
  assert.match(all, /dial: .*local  IP address 192\.168\.7\.2/);
  assert.match(all, /dial: .*remote IP address 192\.168\.7\.1/);
  assert.doesNotMatch(all, /gargleBlaster/);
}));

test("ppproxy ping through the running client prints ping(8) lines", withLogs(async () => {
  const { stdout } = await run(process.execPath, [...BIN, "ping", "-c", "3", "-i", "0.2", "--control", join(dir, "ctl.sock"), "192.168.7.1"], { timeout: 60_000 });
  assert.match(stdout, /^PING 192\.168\.7\.1 \(192\.168\.7\.1\) 56\(84\) bytes of data\.$/m);
  assert.match(stdout, /^64 bytes from 192\.168\.7\.1: icmp_seq=3 ttl=\d+ time=[\d.]+ ms$/m);
  assert.match(stdout, /3 packets transmitted, 3 received, 0% packet loss/);
}));

test("ppproxy fetch through the running client writes the file and checks its sha256", withLogs(async () => {
  const out = join(dir, "blob.bin");
  await run(process.execPath, [...BIN, "fetch", `http://127.0.0.1:${webPort}/blob`, "-o", out, "--sha256", sha, "--control", join(dir, "ctl.sock")], { timeout: 120_000 });
  assert.equal(createHash("sha256").update(readFileSync(out)).digest("hex"), sha);
}));

test("ppproxy fetch resumes a partial file with Range", withLogs(async () => {
  const out = join(dir, "partial.bin");
  writeFileSync(out, body.subarray(0, 50_000));
  const { stderr } = await run(process.execPath, [...BIN, "fetch", `http://127.0.0.1:${webPort}/blob`, "-o", out, "--sha256", sha, "--control", join(dir, "ctl.sock")], { timeout: 120_000 });
  assert.match(stderr, /resuming .* at byte 50000/);
  assert.equal(createHash("sha256").update(readFileSync(out)).digest("hex"), sha);
}));

test("a wrong sha256 is an error with exit code 1", withLogs(async () => {
  const out = join(dir, "bad.bin");
  await assert.rejects(
    run(process.execPath, [...BIN, "fetch", `http://127.0.0.1:${webPort}/blob`, "-o", out, "--sha256", "00".repeat(32), "--control", join(dir, "ctl.sock")], { timeout: 120_000 }),
    (e: { code: number; stderr: string }) => e.code === 1 && /sha256 mismatch/.test(e.stderr),
  );
}));

test("curl through the dialled client's SOCKS5 proxy", withLogs(async () => {
  const { stdout } = await run("curl", ["-sS", "--max-time", "60", "--socks5-hostname", `127.0.0.1:${socksPort}`, `http://localhost:${webPort}/`], { encoding: "buffer", maxBuffer: 1 << 22 });
  assert.equal(createHash("sha256").update(stdout).digest("hex"), sha);
}));
