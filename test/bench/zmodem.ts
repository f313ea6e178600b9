/**
 * Benchmark helper (not a test): send one file by ZMODEM (Debian's lrzsz,
 * `sz -b` / `rz -b -y`) across two real ptys joined by ppproxy's pty
 * null-modem (src/link/pty-null-modem.ts) at a given line rate, the
 * reference our own bulk figure is compared with. Installs lrzsz with
 * apt-get when running as root and it is missing.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { startPtyNullModem } from "../../src/link/pty-null-modem.js";

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** sz/rz present (installing lrzsz as root if needed)? Returns a reason when not. */
export function ensureLrzsz(): string | undefined {
  if (have("sz") && have("rz")) return undefined;
  if (process.getuid?.() === 0 && have("apt-get")) {
    spawnSync("apt-get", ["install", "-y", "lrzsz"], { stdio: "ignore", timeout: 120_000 });
    if (have("sz") && have("rz")) return undefined;
  }
  return "lrzsz missing";
}

export interface ZmodemResult {
  bytes: number;
  ms: number;
  /** Bytes that crossed the emulated wire, sender → receiver. */
  wireBytes: number;
}

/** Send `data` by ZMODEM over a pty null-modem at `baud`; rejects on a bad copy or after `timeoutMs`. */
export async function zmodemTransfer(data: Uint8Array, baud: number, timeoutMs: number): Promise<ZmodemResult> {
  const dir = mkdtempSync(join(tmpdir(), "ppproxy-bench-zm-"));
  const sendDir = join(dir, "send");
  const recvDir = join(dir, "recv");
  spawnSync("mkdir", ["-p", sendDir, recvDir]);
  const file = join(sendDir, "bulk.bin");
  writeFileSync(file, data);
  const nm = await startPtyNullModem({ baud, paths: [join(dir, "ttyA"), join(dir, "ttyB")] });
  const fds: number[] = [];
  const procs: ReturnType<typeof spawn>[] = [];
  try {
    const fdA = openSync(nm.paths[0], "r+");
    const fdB = openSync(nm.paths[1], "r+");
    fds.push(fdA, fdB);
    const t0 = performance.now();
    const run = (cmd: string, args: string[], fd: number, cwd: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const p = spawn(cmd, args, { cwd, stdio: [fd, fd, "pipe"] });
        procs.push(p);
        let err = "";
        p.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
        p.on("error", reject);
        p.on("exit", (code) => (code === 0 ? resolve(performance.now()) : reject(new Error(`${cmd} exited ${code}: ${err.trim().slice(-300)}`))));
      });
    // rz often lingers after the session (waiting for sz's "OO"); the transfer is done when sz exits with "Transfer complete".
    const rz = run("rz", ["-b", "-y"], fdB, recvDir);
    rz.catch(() => undefined);
    const sz = run("sz", ["-b", "bulk.bin"], fdA, sendDir);
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs).unref());
    const tEnd = await Promise.race([sz, timeout]);
    await Promise.race([rz.catch(() => undefined), new Promise((r) => setTimeout(r, 1500))]);
    const ms = tEnd - t0;
    const got = readFileSync(join(recvDir, "bulk.bin"));
    const want = createHash("sha256").update(data).digest("hex");
    if (createHash("sha256").update(got).digest("hex") !== want) throw new Error(`received file differs (${got.length} of ${data.length} bytes)`);
    return { bytes: data.length, ms, wireBytes: nm.stats().ab.bytesDelivered };
  } finally {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    for (const fd of fds) closeSync(fd);
    await nm.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
