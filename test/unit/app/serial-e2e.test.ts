/**
 * Real serial devices: `ppproxy nullmodem` makes two ptys joined at 115200
 * 8N1; `ppproxy serve` answers on one through serialport, `ppproxy dial`
 * calls on the other, and curl fetches through the client's SOCKS5 proxy.
 * Then the null-modem is stopped: both ends must notice the pulled cable.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile, execFileSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createHash } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { SeededRng } from "../../../stack/util/rng.js";

const run = promisify(execFile);
const BIN = ["--import", "tsx", join(import.meta.dirname, "../../../bin/ppproxy.ts")];
const hasSocat = (() => {
  try {
    execFileSync("sh", ["-c", "command -v socat"]);
    return true;
  } catch {
    return false;
  }
})();
const skip = hasSocat ? false : "socat is not installed (bash .ci/setup.sh installs it)";

const body = Buffer.from(new SeededRng(5).fill(new Uint8Array(40_000)));
const sha = createHash("sha256").update(body).digest("hex");
let dir: string;
let web: http.Server;
let webPort: number;
const procs: Record<string, ChildProcess> = {};
const logs: Record<string, string> = { nm: "", serve: "", dial: "" };

function start(name: string, args: string[]): void {
  const child = spawn(process.execPath, [...BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d) => (logs[name] += d));
  child.stderr!.on("data", (d) => (logs[name] += d));
  procs[name] = child;
}

async function waitFor(what: () => boolean, label: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error(`${label} not seen within ${ms} ms; logs:\n${JSON.stringify(logs, null, 1)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "ppproxy-serial-"));
  web = http.createServer((_req, res) => res.end(body)).listen(0, "127.0.0.1");
  await once(web, "listening");
  webPort = (web.address() as net.AddressInfo).port;
  const [a, b] = [join(dir, "ttyA"), join(dir, "ttyB")];
  start("nm", ["nullmodem", a, b, "--speed", "115200"]);
  await waitFor(() => existsSync(b), "the null-modem's ptys", 60_000);
  start("serve", ["serve", a, "115200", "192.168.7.1:192.168.7.2", "noauth", "local", "lcp-echo-interval", "1", "lcp-echo-failure", "3", "--ppp-dir", dir]);
  start("dial", ["dial", b, "115200", "local", "lcp-echo-interval", "1", "lcp-echo-failure", "3", "--ppp-dir", dir, "--socks", "127.0.0.1:0", "--http", "off", "--control", "off"]);
  await waitFor(() => /SOCKS5 proxy on/.test(logs.dial), "the client's link", 90_000);
});

after(async () => {
  for (const c of Object.values(procs)) {
    if (c.exitCode === null) {
      c.kill("SIGINT");
      await Promise.race([once(c, "exit"), new Promise((r) => setTimeout(r, 5000))]);
      c.kill("SIGKILL");
    }
  }
  web?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("curl through SOCKS5 over two real ptys at 115200 8N1", { skip }, async () => {
  const socks = /SOCKS5 proxy on (\S+)/.exec(logs.dial)![1];
  const { stdout } = await run("curl", ["-sS", "--max-time", "60", "--socks5-hostname", socks, `http://localhost:${webPort}/`], { encoding: "buffer", maxBuffer: 1 << 22 });
  assert.equal(createHash("sha256").update(stdout).digest("hex"), sha);
});

test("a pulled cable: both ends see the line go and say so in pppd's words", { skip }, async () => {
  procs.nm.kill("SIGINT");
  await waitFor(() => /Connection terminated\./.test(logs.serve) && /Connection terminated\./.test(logs.dial), "both ends terminating", 60_000);
  assert.match(logs.serve + logs.dial, /Modem hangup|No response to 3 echo-requests|Serial link appears to be disconnected/);
});
