/**
 * Stack figures (not a test): run with `node --import tsx test/bench/stack-bench.ts`.
 *  1. bulk throughput between two NodeStacks joined in one process (MB/s),
 *     and the same through the bare sans-I/O cores (no streams, no event loop);
 *  2. memory per idle connection;
 *  3. 1,000 concurrent connections opened, used (1 KiB echoed) and closed.
 * BENCH_MB (default 64) sets the bulk size.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { once } from "node:events";
import { NodeStack, type TcpSocket } from "../../stack/node/node-stack.js";
import { SeededRng } from "../../stack/util/rng.js";
import { ManualClock } from "../../stack/util/time.js";
import { parseIp4 } from "../../stack/util/addr.js";
import { joinStacks } from "../unit/stack-e2e/memory-link.js";
import { BulkSide, makeHost } from "../unit/stack-e2e/tcp-app.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const A = "10.200.5.1";
const B = "10.200.5.2";
const MB = Number(process.env.BENCH_MB ?? 64);

/** The default SYN queue (128 per listener) would make 1000 simultaneous connects wait for SYN retransmissions. */
const tcp = { limits: { maxHalfOpenPerListener: 2048, maxHalfOpen: 4096 } };

function pair(mtu = 1500) {
  const a = new NodeStack({ address: A, rng: new SeededRng(1), mtu, tcp });
  const b = new NodeStack({ address: B, rng: new SeededRng(2), mtu, tcp });
  const link = joinStacks(a, b);
  return { a, b, link, close: () => (link.close(), a.close(), b.close()) };
}

interface Rate {
  wall: number;
  /** MB per CPU-second (user + system) of this process: steadier than wall time on a shared machine. */
  cpu: number;
}

function rate(bytes: number, t0: number, c0: NodeJS.CpuUsage): Rate {
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall: bytes / 1e6 / (ms / 1000), cpu: bytes / 1e6 / ((c.user + c.system) / 1e6) };
}

async function bulk(mtu: number): Promise<Rate> {
  const p = pair(mtu);
  const srv = p.b.listen(9000);
  const total = MB * 1024 * 1024;
  const done = new Promise<number>((resolve) => {
    srv.on("connection", (s: TcpSocket) => {
      let n = 0;
      s.on("data", (d: Buffer) => (n += d.length));
      s.on("end", () => resolve(n));
    });
  });
  const c = p.a.connect({ host: B, port: 9000 });
  await once(c, "connect");
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!c.write(chunk)) return void c.once("drain", pump);
      }
      c.end();
      resolve();
    };
    pump();
  });
  const got = await done;
  const r = rate(total, t0, c0);
  if (got !== total) throw new Error(`bulk: received ${got} of ${total}`);
  srv.close();
  p.close();
  return r;
}

function coreBulk(mtu: number): Rate {
  const clock = new ManualClock(0);
  const ia = parseIp4(A)!;
  const ib = parseIp4(B)!;
  const a = makeHost(ia, 11, mtu);
  const b = makeHost(ib, 12, mtu);
  const total = MB * 1024 * 1024;
  const data = new Uint8Array(total).fill(0x5a);
  b.tcp.listen(ib, 80);
  const ca = a.tcp.connect({ localAddress: ia, host: ib, port: 80 }, 0);
  const sa = new BulkSide(ca, data, clock);
  let sb: BulkSide | undefined;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  // Zero-delay wire: move datagrams until both are done; jump to timers when idle.
  for (let i = 0; i < 50_000_000; i++) {
    for (let e = a.tcp.pollEvent(); e; e = a.tcp.pollEvent());
    for (let e = b.tcp.pollEvent(); e; e = b.tcp.pollEvent()) if (e.type === "accept") sb = new BulkSide(e.conn, new Uint8Array(0), clock);
    sa.step();
    sb?.step();
    let moved = false;
    for (let t = a.ip.pollTransmit(clock.now()); t; t = a.ip.pollTransmit(clock.now())) (b.ip.handleInput(t.packet, clock.now()), (moved = true));
    for (let t = b.ip.pollTransmit(clock.now()); t; t = b.ip.pollTransmit(clock.now())) (a.ip.handleInput(t.packet, clock.now()), (moved = true));
    if (sb?.eof && sa.eof) break;
    if (!moved) {
      const next = [a.ip.pollTimeout(), b.ip.pollTimeout()].filter((x): x is number => x !== undefined).sort((x, y) => x - y)[0];
      if (next === undefined) break;
      clock.set(next);
      a.ip.handleTimeout(clock.now());
      b.ip.handleTimeout(clock.now());
    }
  }
  const r = rate(total, t0, c0);
  if (sb?.received !== total) throw new Error(`core bulk: received ${sb?.received} of ${total}`);
  return r;
}

async function idleMemory(n: number): Promise<number> {
  const p = pair();
  const srv = p.b.listen(9100);
  const accepted: TcpSocket[] = [];
  srv.on("connection", (s: TcpSocket) => accepted.push(s));
  gc();
  const before = process.memoryUsage().heapUsed;
  const clients: TcpSocket[] = [];
  for (let i = 0; i < n; i++) clients.push(p.a.connect({ host: B, port: 9100 }));
  await Promise.all(clients.map((c) => once(c, "connect")));
  while (accepted.length < n) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 100));
  gc();
  const after = process.memoryUsage().heapUsed;
  for (const c of clients) c.destroy();
  for (const s of accepted) s.destroy();
  srv.close();
  p.close();
  // Both ends live in this process: each connection costs two sockets + two TCBs.
  return (after - before) / n;
}

async function manyConnections(n: number): Promise<{ ms: number; ok: number }> {
  const p = pair();
  const srv = p.b.listen(9200, { backlog: n });
  srv.on("connection", (s: TcpSocket) => s.pipe(s));
  const payload = Buffer.alloc(1024, 0x42);
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: n }, async () => {
      const c = p.a.connect({ host: B, port: 9200 });
      await once(c, "connect");
      const parts: Buffer[] = [];
      c.on("data", (d: Buffer) => parts.push(d));
      const ended = once(c, "end");
      c.end(payload);
      await ended;
      return Buffer.concat(parts).equals(payload) ? 1 : 0;
    }),
  );
  const ms = performance.now() - t0;
  srv.close();
  p.close();
  return { ms, ok: results.reduce((x: number, y: number) => x + y, 0) };
}

const f = (x: number) => x.toFixed(1);
const fr = (r: Rate) => `${f(r.wall)} MB/s wall, ${f(r.cpu)} MB per CPU-second`;
console.log(`stack bench (node ${process.version}, ${MB} MiB bulk, load average ${(await import("node:os")).loadavg()[0].toFixed(1)})`);
console.log(`  bulk, two NodeStacks in one process, MTU 1500:  ${fr(await bulk(1500))}`);
console.log(`  bulk, two NodeStacks in one process, MTU 9000:  ${fr(await bulk(9000))}`);
console.log(`  bulk, bare sans-I/O cores (IP+TCP), MTU 1500:   ${fr(coreBulk(1500))}`);
console.log(`  memory per idle connection (both ends, 1000):   ${f((await idleMemory(1000)) / 1024)} KiB`);
const many = await manyConnections(1000);
console.log(`  1000 concurrent connections open+echo 1 KiB+close: ${f(many.ms)} ms (${many.ok}/1000 exact)`);
