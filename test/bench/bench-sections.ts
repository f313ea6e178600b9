/**
 * The benchmark's measured sections (not a test): (a) bulk over the paced
 * emulator vs ZMODEM, (b) compressible files with Deflate on/off, (c) ping
 * latency idle and under bulk load, (d) unthrottled throughput and CPU cost,
 * (e) start-up and short requests. Each returns Figures; run.ts prints them
 * and gives each section its deadline. Everything stays on loopback and
 * in-process links or local ptys.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNullModem, type NullModem } from "../../src/link/null-modem.js";
import { startPtyNullModem } from "../../src/link/pty-null-modem.js";
import { openLink, type Link } from "../../src/link/link.js";
import type { PppLine } from "../../src/app/ppp-line.js";
import type { Client } from "../../src/app/client.js";
import { SERVER_ADDR, directLinkPair, socksFetch, startFileServer, startRig, type Rig } from "./bench-rig.js";
import { foxFile, percentile, proseFile, randomFile, sleep, withDeadline } from "./bench-data.js";
import { SeededRng } from "../../stack/util/rng.js";
import { ensureLrzsz, zmodemTransfer } from "./zmodem.js";

export interface Figure {
  section: string;
  name: string;
  /** undefined: not measured (see note). */
  value: number | undefined;
  unit: string;
  /** Human-readable target, e.g. ">= 98 %". */
  target?: string;
  pass?: boolean;
  note?: string;
}

export interface BenchOptions {
  speed: number;
  quick: boolean;
  root: string;
  /** Sections selected (a..e); (c)'s loaded pings ride on (a)'s bulk transfer. */
  only: Set<string>;
  log: (line: string) => void;
  /** Register a close for whatever a section starts, so run.ts can stop it when the section's deadline passes. */
  track: (close: () => Promise<void> | void) => void;
}

/** The client's current PppLine (private in Client; the bench reads its session counters). */
function clientLine(c: Client): PppLine | undefined {
  return (c as unknown as { line?: PppLine }).line;
}

/** The server's TCP counters for its (only) call (Server keeps its calls private; the bench reads the stack's counters). */
function serverTcpStats(rig: Rig): Record<string, number> {
  const calls = (rig.server as unknown as { calls?: Set<{ line: PppLine }> }).calls;
  const line = calls ? [...calls][0]?.line : undefined;
  return line?.stack.stats() ?? {};
}

/** "Deflate ... compression enabled" from either end's log, or "no CCP". */
function ccpState(rig: Rig): string {
  const l = rig.logs.find((x) => /compression enabled/i.test(x));
  return l ? l.replace(/^[CS] \w+: /, "") : "no CCP";
}

function lineRate(speed: number): number {
  return speed / 10; // 8N1: 10 bits per byte
}

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

/** Start a rig on the paced emulator and wait for IPCP. */
async function pacedRig(opts: BenchOptions, words: string[] = [], bitErrorRate = 0, seed = 1): Promise<{ rig: Rig; modem: NullModem; upMs: number; close(): Promise<void> }> {
  const modem = createNullModem({ baud: opts.speed, names: ["nullmodem:a", "nullmodem:b"], bitErrorRate, rng: new SeededRng(seed) });
  const rig = await startRig(modem, words);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await rig.stop();
    modem.close();
  };
  opts.track(close);
  const { ms } = await withDeadline(rig.up, 30_000, "IPCP up").catch(async (e: Error) => {
    await close();
    throw e;
  });
  return { rig, modem, upMs: ms, close };
}

async function pingSeries(client: Client, count: number, gapMs: number): Promise<{ rtts: number[]; lost: number }> {
  const rtts: number[] = [];
  let lost = 0;
  for (let seq = 1; seq <= count; seq++) {
    try {
      const r = await client.net.ping(SERVER_ADDR, { seq, timeoutMs: 3000 });
      rtts.push(r.rtt);
    } catch {
      lost++;
    }
    await sleep(gapMs);
  }
  return { rtts, lost };
}

/** Under load: one ping every `gapMs` without waiting for the last (queues grow past any sane timeout), each given `timeoutMs`. */
async function pingWhile(client: Client, gapMs: number, timeoutMs: number, stop: () => boolean): Promise<{ rtts: number[]; lost: number }> {
  const rtts: number[] = [];
  let lost = 0;
  const pending: Promise<void>[] = [];
  for (let seq = 1; seq <= 5000 && !stop(); seq++) {
    pending.push(
      client.net.ping(SERVER_ADDR, { seq, timeoutMs }).then(
        (r) => void rtts.push(r.rtt),
        () => void lost++,
      ),
    );
    await sleep(gapMs);
  }
  await Promise.all(pending);
  return { rtts, lost };
}

function pingFigures(label: string, r: { rtts: number[]; lost: number }, target95?: number): Figure[] {
  const p50 = percentile(r.rtts, 0.5);
  const p95 = percentile(r.rtts, 0.95);
  return [
    { section: "c", name: `ping RTT p50, ${label}`, value: p50 === undefined ? undefined : round(p50), unit: "ms", note: `${r.rtts.length} replies, ${r.lost} lost${r.lost ? " (lost = no reply within the timeout; percentiles are of replies)" : ""}; max ${r.rtts.length ? round(Math.max(...r.rtts)) : "—"} ms` },
    {
      section: "c",
      name: `ping RTT p95, ${label}`,
      value: p95 === undefined ? undefined : round(p95),
      unit: "ms",
      target: target95 === undefined ? undefined : `< ${target95} ms`,
      pass: target95 === undefined || p95 === undefined ? undefined : p95 < target95,
    },
  ];
}

/** (a) bulk and (c) latency over the paced emulator, then (a)'s ZMODEM reference. */
export async function sectionBulk(opts: BenchOptions, out: Figure[]): Promise<void> {
  const size = opts.quick ? 256 * 1024 : 1024 * 1024;
  const rate = lineRate(opts.speed);
  const bulk = randomFile(size);
  const files = await startFileServer(
    new Map([
      ["bulk", bulk],
      ["half", bulk.subarray(0, size / 2)],
    ]),
  );
  opts.track(files.close);
  const p = await pacedRig(opts);
  try {
    const client = p.rig.client;
    if (opts.only.has("c")) {
      opts.log(`(c) idle pings over ${opts.speed} bit/s`);
      out.push(...pingFigures("idle", await pingSeries(client, opts.quick ? 8 : 20, 100)));
    }
    /** One fetch of `path` (n bytes), optionally with pings every `pingGapMs`; goodput and the wire counters around it. */
    const runBulk = async (path: string, n: number, pingGapMs?: number) => {
      const st0 = clientLine(client)!.session.stats;
      const before = { rx: st0.rxBytes, tx: st0.txBytes, frames: st0.rxFrames, wire: p.modem.stats().ab.bytesDelivered };
      const tcp0 = serverTcpStats(p.rig);
      let done = false;
      const fetch = socksFetch(p.rig.socksPort, files.port, path, n, (n / rate) * 3000 + 60_000).finally(() => (done = true));
      const pings = pingGapMs ? pingWhile(client, pingGapMs, 15_000, () => done) : Promise.resolve(undefined);
      const r = await fetch;
      const loaded = await pings;
      const st = clientLine(client)!.session.stats;
      const tcp1 = serverTcpStats(p.rig);
      const goodput = r.bytes / (r.totalMs / 1000);
      const frames = st.rxFrames - before.frames;
      return {
        r,
        loaded,
        goodput,
        pct: (100 * goodput) / rate,
        wire: p.modem.stats().ab.bytesDelivered - before.wire,
        frames,
        rxPerFrame: (st.rxBytes - before.rx) / Math.max(1, frames),
        acks: st.txBytes - before.tx,
        d: (k: string): number => (tcp1[k] ?? 0) - (tcp0[k] ?? 0),
      };
    };
    let goodput = 0;
    if (opts.only.has("a")) {
      opts.log(`(a) bulk: ${size} random bytes through SOCKS over the emulator at ${opts.speed} bit/s`);
      const m = await runBulk("bulk", size);
      goodput = m.goodput;
      const { r, pct, wire, d } = m;
      out.push({ section: "a", name: "bulk goodput, ours (SOCKS → PPP → masquerade → HTTP)", value: round(pct), unit: "% of line", target: ">= 98 %", pass: pct >= 98, note: `${round(goodput, 0)} B/s, ${round(r.totalMs / 1000)} s for ${size} B; default words: ${ccpState(p.rig)}` });
      out.push({ section: "a", name: "  wire bytes server→client / payload", value: round(wire / size, 4), unit: "ratio", note: `${wire} B on the wire; ${m.frames} frames, ${round(m.rxPerFrame, 0)} B/frame` });
      out.push({ section: "a", name: "  server TCP bytes retransmitted / payload", value: round((100 * d("tcp.retransmit-bytes")) / size, 2), unit: "%", note: `${d("tcp.retransmit-bytes")} B; RTO fired ${d("tcp.rto")}×, fast retransmit ${d("tcp.fast-retransmit")}× (the line itself loses nothing)` });
      out.push({ section: "a", name: "  line busy (wire bytes / (time × line rate))", value: round((100 * wire) / ((r.totalMs / 1000) * rate)), unit: "%", note: `client→server ${m.acks} B (ACKs); MTU ${p.rig.client.status.up?.mtu}` });
    }
    if (opts.only.has("c")) {
      // A separate transfer: ping traffic takes line time (about 3 % at 4 pings/s), which must not count against (a).
      const half = size / 2;
      opts.log(`(c) pings every 250 ms during a ${half} B bulk transfer`);
      const m = await runBulk("half", half, 250);
      const figs = pingFigures("under bulk load", m.loaded!, 300);
      figs[1].note = `bulk goodput meanwhile ${round(m.pct)} % of line (target > 90 %), ${half} B; RTO ${m.d("tcp.rto")}×, retransmitted ${m.d("tcp.retransmit-bytes")} B`;
      if (figs[1].pass !== undefined) figs[1].pass = figs[1].pass && m.pct > 90 && m.loaded!.lost === 0;
      out.push(...figs);
    }
    await p.close(); // before ZMODEM: one paced line at a time
    if (!opts.only.has("a")) return; // --only c: the bulk transfer was only the load

    const missing = ensureLrzsz();
    if (missing) {
      out.push({ section: "a", name: "bulk goodput, ZMODEM (lrzsz over pty null-modem)", value: undefined, unit: "% of line", note: `skipped: ${missing}` });
      return;
    }
    opts.log(`(a) ZMODEM: the same ${size} bytes by sz/rz over two ptys at ${opts.speed} bit/s`);
    try {
      const z = await zmodemTransfer(bulk, opts.speed, (size / rate) * 3000 + 60_000);
      const zg = z.bytes / (z.ms / 1000);
      const zpct = (100 * zg) / rate;
      out.push({ section: "a", name: "bulk goodput, ZMODEM (lrzsz over pty null-modem)", value: round(zpct), unit: "% of line", note: `${round(zg, 0)} B/s, ${round(z.ms / 1000)} s; wire/payload ${round(z.wireBytes / z.bytes, 4)}` });
      out.push({ section: "a", name: "ours / ZMODEM", value: round(goodput / zg, 3), unit: "ratio", target: "> 1", pass: goodput > zg });
    } catch (e) {
      out.push({ section: "a", name: "bulk goodput, ZMODEM (lrzsz over pty null-modem)", value: undefined, unit: "% of line", note: `failed: ${(e as Error).message}` });
    }
  } finally {
    await p.close();
    await files.close();
  }
}

/** (b) the fox file and real text, Deflate off (noccp) and on (default words). */
export async function sectionCompress(opts: BenchOptions, out: Figure[]): Promise<void> {
  const rate = lineRate(opts.speed);
  const fox = foxFile(262_144);
  const prose = proseFile(opts.root, opts.quick ? 256 * 1024 : 1024 * 1024);
  const files = await startFileServer(
    new Map([
      ["fox", fox],
      ["prose", prose.data],
    ]),
  );
  opts.track(files.close);
  const targets: Record<string, number> = { fox: 12, prose: 3 };
  try {
    for (const mode of ["off", "on"] as const) {
      const p = await pacedRig(opts, mode === "off" ? ["noccp"] : []);
      try {
        const ccpLine = p.rig.logs.find((l) => /compression enabled/i.test(l));
        if (mode === "off" && ccpLine) opts.log(`(b) warning: noccp given but the log says "${ccpLine}"`);
        for (const [name, data] of [
          ["fox", fox],
          ["prose", prose.data],
        ] as const) {
          const label = `${name} (${data.length} B${name === "prose" ? `, ${prose.origin}` : ""}), Deflate ${mode}`;
          if (mode === "on" && !ccpLine) {
            out.push({ section: "b", name: label, value: undefined, unit: "× line", target: `>= ${targets[name]}×`, note: "n/a: CCP not negotiated" });
            continue;
          }
          opts.log(`(b) ${label}`);
          const wire0 = p.modem.stats().ab.bytesDelivered;
          const r = await socksFetch(p.rig.socksPort, files.port, name, data.length, (data.length / rate) * 3000 + 60_000);
          const x = data.length / (r.totalMs / 1000) / rate;
          const wire = p.modem.stats().ab.bytesDelivered - wire0;
          out.push({
            section: "b",
            name: label,
            value: round(x, 2),
            unit: "× line",
            target: mode === "on" ? `>= ${targets[name]}×` : undefined,
            pass: mode === "on" ? x >= targets[name] : undefined,
            note: `${round(r.totalMs / 1000)} s; wire/payload ${round(wire / data.length, 3)}${mode === "on" ? `; ${ccpLine!.replace(/^C \w+: /, "")}` : ""}`,
          });
        }
      } finally {
        await p.close();
      }
    }
  } finally {
    await files.close();
  }
}

/** One unthrottled transfer through the whole path over `links`; MB/s and CPU s/MB. */
async function unthrottled(opts: BenchOptions, links: { a: Link; b: Link }, size: number, label: string, out: Figure[], target?: number, extra?: () => string, words: string[] = []): Promise<void> {
  const files = await startFileServer(new Map([["bulk", randomFile(size)]]));
  opts.track(files.close);
  const rig = await startRig(links, words);
  opts.track(rig.stop);
  try {
    await withDeadline(rig.up, 30_000, "IPCP up");
    // The first transfers run while V8 is still compiling and tiering up the hot path (they get faster
    // for two or three runs); the first is reported, UNTHROTTLED_WARMUPS are not timed, then
    // UNTHROTTLED_RUNS more are timed and the median is the figure (the machine is shared).
    const runs: Array<{ mbps: number; cpuPerMb: number; user: number; system: number; s: number }> = [];
    for (let k = 0; k < UNTHROTTLED_WARMUPS + UNTHROTTLED_RUNS; k++) {
      const cpu0 = process.cpuUsage();
      const r = await socksFetch(rig.socksPort, files.port, "bulk", size, 120_000);
      const cpu = process.cpuUsage(cpu0);
      const mb = size / 1e6;
      runs.push({ mbps: mb / (r.totalMs / 1000), cpuPerMb: (cpu.user + cpu.system) / 1e6 / mb, user: cpu.user / 1e6, system: cpu.system / 1e6, s: r.totalMs / 1000 });
    }
    const cold = runs[0];
    runs.splice(0, UNTHROTTLED_WARMUPS);
    const med = [...runs].sort((x, y) => x.mbps - y.mbps)[Math.floor(runs.length / 2)];
    const all = runs.map((x) => round(x.mbps, 1)).join(", ");
    out.push({ section: "d", name: `unthrottled, ${label}`, value: round(med.mbps, 2), unit: "MB/s", target: target ? `>= ${target} MB/s` : undefined, pass: target ? med.mbps >= target : undefined, note: `median of ${runs.length} × ${size} B after ${UNTHROTTLED_WARMUPS} warm-up (${all}); first (cold JIT) ${round(cold.mbps, 1)}; ${ccpState(rig)}${extra ? `; ${extra()}` : ""}` });
    out.push({ section: "d", name: `  CPU per MB, ${label} (whole process)`, value: round(med.cpuPerMb, 3), unit: "CPU s/MB", note: `user ${round(med.user, 2)} s, sys ${round(med.system, 2)} s for ${round(med.s, 2)} s; first ${round(cold.cpuPerMb, 3)}` });
  } finally {
    await rig.stop();
    await files.close();
  }
}

/** Untimed warm-up transfers per (d) row (the first is reported as the cold figure), then timed ones. */
const UNTHROTTLED_WARMUPS = 2;
const UNTHROTTLED_RUNS = 3;

/** (d) in-process with no pacing (a direct pair and the emulator at 1 Gbit/s), and two ptys at 1 Gbit/s. */
export async function sectionUnthrottled(opts: BenchOptions, out: Figure[]): Promise<void> {
  const size = opts.quick ? 8 * 1024 * 1024 : 32 * 1024 * 1024;
  opts.log(`(d) unthrottled in-process, direct link pair, ${size} B`);
  const direct = directLinkPair();
  try {
    await unthrottled(opts, direct, size, "in-process direct pair", out, 50);
  } catch (e) {
    out.push({ section: "d", name: "unthrottled, in-process direct pair", value: undefined, unit: "MB/s", target: ">= 50 MB/s", pass: false, note: `failed: ${(e as Error).message}` });
  } finally {
    direct.close();
  }
  opts.log(`(d) unthrottled in-process, direct link pair, noccp, ${size} B`);
  const direct2 = directLinkPair();
  try {
    await unthrottled(opts, direct2, size, "in-process direct pair, noccp", out, 50, undefined, ["noccp"]);
  } catch (e) {
    out.push({ section: "d", name: "unthrottled, in-process direct pair, noccp", value: undefined, unit: "MB/s", target: ">= 50 MB/s", pass: false, note: `failed: ${(e as Error).message}` });
  } finally {
    direct2.close();
  }
  opts.log(`(d) unthrottled in-process, emulator at 1 Gbit/s with a 1 MiB FIFO`);
  const modem = createNullModem({ baud: 1e9, fifoBytes: 1 << 20 });
  try {
    await unthrottled(opts, modem, size / 2, "in-process emulator 1 Gbit/s", out);
  } catch (e) {
    out.push({ section: "d", name: "unthrottled, in-process emulator 1 Gbit/s", value: undefined, unit: "MB/s", note: `failed: ${(e as Error).message}` });
  } finally {
    modem.close();
  }
  opts.log(`(d) unthrottled over two ptys (socat) at 1 Gbit/s`);
  const dir = mkdtempSync(join(tmpdir(), "ppproxy-bench-pty-"));
  try {
    const nm = await startPtyNullModem({ baud: 1e9, fifoBytes: 1 << 20, paths: [join(dir, "ttyA"), join(dir, "ttyB")] });
    opts.track(nm.close);
    try {
      const a = await openLink({ device: nm.paths[0], speed: 115200, local: true });
      const b = await openLink({ device: nm.paths[1], speed: 115200, local: true });
      // A pty has no real speed: the line behind it runs at 1 Gbit/s. Say so, or the driver paces to the termios 115200.
      for (const l of [a, b]) Object.defineProperty(l, "bitsPerSecond", { value: 1e9 });
      await unthrottled(opts, { a, b }, size / 4, "pty pair (socat) 1 Gbit/s", out, undefined, () => `rx overrun ${nm.stats().rxOverrun.join("/")} B`);
    } finally {
      await nm.close();
    }
  } catch (e) {
    out.push({ section: "d", name: "unthrottled, pty pair (socat) 1 Gbit/s", value: undefined, unit: "MB/s", note: `failed: ${(e as Error).message}` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * (n) line noise: the bulk transfer of (a) over the emulator flipping bits
 * at a given rate (each flip costs a frame: bad FCS), with VJ + Deflate as
 * by default, and without VJ. Goodput as % of the line rate, from the
 * start of the request (the link comes up under the same noise). The bit
 * errors are seeded, so a run is repeatable up to timing.
 */
export async function sectionNoise(opts: BenchOptions, out: Figure[]): Promise<void> {
  const size = opts.quick ? 128 * 1024 : 256 * 1024;
  const rate = opts.speed / 10;
  const files = await startFileServer(new Map([["bulk", randomFile(size)]]));
  opts.track(files.close);
  try {
    for (const ber of [3e-6, 1e-5]) {
      for (const words of [[], ["novj"]]) {
        const label = `BER ${ber}${words.length ? ", novj" : ""}`;
        opts.log(`(n) ${size} B through SOCKS at ${opts.speed} bit/s, ${label}`);
        const p = await pacedRig(opts, words, ber, 7);
        try {
          const r = await socksFetch(p.rig.socksPort, files.port, "bulk", size, (size / rate) * 20_000 + 60_000);
          const pct = (100 * (size / (r.totalMs / 1000))) / rate;
          const st = p.modem.stats();
          const flips = st.ab.bitsFlipped + st.ba.bitsFlipped;
          out.push({ section: "n", name: `bulk under noise, ${label}`, value: round(pct, 1), unit: "% of line", note: `${size} B in ${round(r.totalMs / 1000, 1)} s; ${flips} bits flipped (each a lost frame)` });
        } finally {
          await p.close();
        }
      }
    }
  } finally {
    await files.close();
  }
}

/** (e) start to IPCP Opened at the line rate, then N sequential short HTTP requests through SOCKS. */
export async function sectionStartup(opts: BenchOptions, out: Figure[]): Promise<void> {
  const n = opts.quick ? 20 : 100;
  const body = randomFile(100);
  const files = await startFileServer(new Map([["small", body]]));
  opts.track(files.close);
  try {
    opts.log(`(e) start-up and ${n} sequential requests at ${opts.speed} bit/s`);
    const p = await pacedRig(opts);
    try {
      out.push({ section: "e", name: "start → IPCP Opened (client 'up')", value: round(p.upMs, 0), unit: "ms", note: "LCP + PAP + IPCP (+ CCP) at the line rate" });
      const times: number[] = [];
      const t0 = performance.now();
      for (let i = 0; i < n; i++) times.push((await socksFetch(p.rig.socksPort, files.port, "small", body.length, 30_000)).totalMs);
      const total = performance.now() - t0;
      out.push({ section: "e", name: `${n} sequential HTTP requests via SOCKS (new connection each)`, value: round(total / 1000, 2), unit: "s total" });
      out.push({ section: "e", name: "  per request, mean / p95", value: round(total / n, 0), unit: "ms", note: `p95 ${round(percentile(times, 0.95)!, 0)} ms, min ${round(Math.min(...times), 0)} ms` });
    } finally {
      await p.close();
    }
  } finally {
    await files.close();
  }
}
