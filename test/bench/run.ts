/**
 * `npm run bench`: the figures ppproxy is judged by, printed as one table
 * (each figure with its unit and target) and, with `--json FILE`, written as
 * JSON. Sections (see test/bench/README.md):
 *   a  bulk goodput over the emulated 115200 line vs ZMODEM (lrzsz)
 *   b  compressible files, Deflate on/off
 *   c  ping RTT idle and under bulk load
 *   d  unthrottled throughput and CPU per MB
 *   e  start-up time and 100 short requests
 *   m  the micro-benchmarks (stack-bench, tcp-bench, compress-bench, hdlc-bench) as child processes
 * Options: --quick, --only a,c,..., --speed BPS, --json FILE.
 * Every section has a deadline and reports "timeout" rather than hanging.
 * Not a test: run with `npm run bench` or `node --import tsx test/bench/run.ts`.
 */
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DeadlineError, withDeadline } from "./bench-data.js";
import { sectionBulk, sectionCompress, sectionNoise, sectionStartup, sectionUnthrottled, type BenchOptions, type Figure } from "./bench-sections.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const ALL = ["a", "b", "c", "d", "e", "n", "m"];

function usage(msg?: string): never {
  if (msg) console.error(`bench: ${msg}`);
  console.error("usage: npm run bench -- [--quick] [--only a,b,c,d,e,m] [--speed BPS] [--json FILE]");
  process.exit(2);
}

function parseArgs(argv: string[]): { quick: boolean; only: Set<string>; speed: number; json?: string } {
  const o = { quick: false, only: new Set(ALL), speed: 115200, json: undefined as string | undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = (): string => argv[++i] ?? usage(`${a} needs a value`);
    if (a === "--quick") o.quick = true;
    else if (a === "--only") {
      const list = val().split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
      for (const s of list) if (!ALL.includes(s)) usage(`--only: unknown section "${s}" (known: ${ALL.join(",")})`);
      o.only = new Set(list);
    } else if (a === "--speed") {
      o.speed = Number(val());
      if (!Number.isFinite(o.speed) || o.speed < 300 || o.speed > 1e9) usage(`--speed: "${argv[i]}" is not a line rate in bit/s (300..1e9)`);
    } else if (a === "--json") o.json = val();
    else if (a === "--help" || a === "-h") usage();
    else usage(`unknown option "${a}"`);
  }
  return o;
}

/** Run one micro-benchmark as a child with a timeout; its output (or error) as text. Never throws. */
function runChild(file: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<string> {
  return new Promise((resolveOut) => {
    if (!existsSync(file)) return resolveOut("(not present)");
    const child = spawn(process.execPath, ["--import", "tsx", file, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      out += `\n[timeout after ${timeoutMs / 1000} s: killed]`;
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolveOut(`${out}\n[failed to start: ${e.message}]`);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolveOut(code === 0 ? out : `${out}\n[exited ${code ?? signal}]`);
    });
  });
}

function fmtValue(f: Figure): string {
  if (f.value === undefined) return "—";
  return f.value.toLocaleString("en-US", { maximumFractionDigits: 4 });
}

function printTable(figs: Figure[]): void {
  const rows = figs.map((f) => [f.section, f.name, fmtValue(f), f.unit, f.target ?? "", f.pass === undefined ? "" : f.pass ? "PASS" : "FAIL", f.note ?? ""]);
  const head = ["", "figure", "value", "unit", "target", "", "notes"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  w[6] = 0; // notes run on
  const line = (r: string[]): string => r.map((c, i) => (i === 2 ? c.padStart(w[i]) : c.padEnd(w[i]))).join("  ").trimEnd();
  console.log(line(head));
  console.log(line(w.map((n) => "-".repeat(n))));
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (s: string): void => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
  let closers: Array<() => Promise<void> | void> = [];
  const opts: BenchOptions = { speed: args.speed, quick: args.quick, root: ROOT, only: args.only, log, track: (c) => void closers.push(c) };
  const rate = args.speed / 10;
  console.log(`ppproxy bench — line ${args.speed} bit/s 8N1 = ${rate} B/s${args.quick ? " — QUICK (smaller files, fewer pings)" : ""} — node ${process.version}`);
  const figures: Figure[] = [];
  const errors: string[] = [];
  const scale = args.speed / 115200; // paced sections take longer on slower lines
  // BENCH_DEADLINE_SCALE multiplies every section deadline (e.g. 0.01 to see the timeout path, 3 on a crowded machine).
  const dScale = Number(process.env.BENCH_DEADLINE_SCALE ?? 1) || 1;
  const sections: Array<{ id: string; title: string; run: (o: BenchOptions, out: Figure[]) => Promise<void>; deadlineMs: number; when: boolean }> = [
    { id: "a", title: "bulk (+ loaded pings)", run: sectionBulk, deadlineMs: ((args.quick ? 150 : 420) * 1000) / Math.min(1, scale), when: args.only.has("a") || args.only.has("c") },
    { id: "b", title: "compressible", run: sectionCompress, deadlineMs: ((args.quick ? 150 : 360) * 1000) / Math.min(1, scale), when: args.only.has("b") },
    { id: "d", title: "unthrottled", run: sectionUnthrottled, deadlineMs: (args.quick ? 90 : 180) * 1000, when: args.only.has("d") },
    { id: "n", title: "line noise", run: sectionNoise, deadlineMs: ((args.quick ? 300 : 600) * 1000) / Math.min(1, scale), when: args.only.has("n") },
    { id: "e", title: "start-up", run: sectionStartup, deadlineMs: ((args.quick ? 60 : 150) * 1000) / Math.min(1, scale), when: args.only.has("e") },
  ];
  const t0 = performance.now();
  for (const s of sections) {
    if (!s.when) continue;
    const out: Figure[] = [];
    try {
      await withDeadline(s.run(opts, out), s.deadlineMs * dScale, `section ${s.id} (${s.title})`);
    } catch (e) {
      const msg = (e as Error).message;
      errors.push(msg);
      out.push({ section: s.id, name: `section ${s.title}`, value: undefined, unit: "", note: e instanceof DeadlineError ? `timeout (${msg})` : `error: ${msg}` });
      log(msg);
      // Stop what the section left running (each close bounded), so it does not load the next section.
      for (const c of closers.reverse()) await withDeadline(Promise.resolve().then(c), 6000, "cleanup").catch(() => undefined);
    }
    closers = [];
    // Keep (a)'s figures when only (c) was asked for: the loaded pings need (a)'s transfer as context.
    figures.push(...out);
  }

  const micro: Record<string, string> = {};
  if (args.only.has("m")) {
    const q = args.quick;
    const benches: Array<[string, string[], Record<string, string>]> = [
      ["stack-bench.ts", [], { BENCH_MB: q ? "4" : "16" }],
      ["tcp-bench.ts", [q ? "8" : "32"], {}],
      ["compress-bench.ts", [q ? "0.25" : "1"], {}],
      ["hdlc-bench.ts", [q ? "4" : "16"], {}],
    ];
    for (const [name, a, env] of benches) {
      log(`(m) ${name}`);
      micro[name] = (await runChild(join(HERE, name), a, env, (q ? 60 : 120) * 1000)).trimEnd();
    }
  }

  console.log("");
  printTable(figures);
  for (const [name, text] of Object.entries(micro)) {
    console.log(`\n## micro-benchmark ${name}\n${text}`);
  }
  const wall = (performance.now() - t0) / 1000;
  console.log(`\nbench finished in ${wall.toFixed(0)} s${errors.length ? `; ${errors.length} section(s) failed: ${errors.join("; ")}` : ""}`);
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ date: new Date().toISOString(), speed: args.speed, lineRateBps: rate, quick: args.quick, node: process.version, figures, micro, errors, wallSeconds: wall }, null, 2) + "\n");
    console.log(`figures written to ${args.json}`);
  }
  // Sections that timed out may leave timers and sockets behind: exit explicitly.
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
