/**
 * The embedded default, started the way the README says (`npm start`, the
 * built program), carries curl through SOCKS5 and through the HTTP proxy to
 * the demo site at the far end's loopback. Ports are moved off the defaults so
 * that a demo the user is running does not collide.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "../../..");
const built = existsSync(join(ROOT, "dist/bin/ppproxy.js"));


let child: ChildProcess | undefined;
after(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      /* already gone */
    }
    await Promise.race([once(child, "exit"), new Promise((r) => setTimeout(r, 10_000))]);
  }
});

test("npm start: curl through SOCKS5 and the HTTP proxy reaches the demo site", { skip: built ? false : "dist/ is not built: `npm install` builds it (the prepare script)" }, async () => {
  const [socks, httpPort, site] = [await freePort(), await freePort(), await freePort()];
  child = spawn("npm", ["start", "--", "--socks", `127.0.0.1:${socks}`, "--http", `127.0.0.1:${httpPort}`, "--site-port", String(site), "--no-status"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const deadline = Date.now() + 90_000;
  while (!/Ctrl-C stops it/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the demo did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(out, /link up at 115200 bit\/s 8N1/);
  const viaSocks = await run("curl", ["-sS", "--max-time", "60", "--socks5-hostname", `127.0.0.1:${socks}`, `http://127.0.0.1:${site}/`]);
  assert.match(viaSocks.stdout, /Hello from the far end of the null-modem/);
  const viaHttp = await run("curl", ["-sS", "--max-time", "60", "-x", `http://127.0.0.1:${httpPort}`, `http://localhost:${site}/`]);
  assert.match(viaHttp.stdout, /Hello from the far end of the null-modem/);
  // Ctrl-C on a terminal signals the whole process group: npm and the program it runs.
  // 'close' waits for the pipes, which the demo holds until it has stopped.
  const closed = once(child, "close");
  process.kill(-child.pid!, "SIGINT");
  const [code, signal] = (await closed) as [number | null, string | null];
  assert.ok(code === 0 || signal === "SIGINT", `exit ${code} ${signal}`);
  assert.match(out, /ppproxy demo: stopping/);
  assert.doesNotMatch(out, /Error|error:/, `Ctrl-C stops it cleanly:\n${out}`);
});
