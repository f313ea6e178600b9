/**
 * Bulk TCP throughput of stack/tcp in-process: two TcpLayers joined by a
 * zero-latency in-memory link on a ManualClock, one direction, a few MTUs.
 * Prints MB/s of payload delivered (wall clock). Not a test; run with
 *   node --import tsx test/bench/tcp-bench.ts [MiB]
 */
import { TcpLayer } from "../../stack/tcp/tcp-layer.js";
import { ManualClock } from "../../stack/util/time.js";
import { SeededRng } from "../../stack/util/rng.js";
import { parseIp4 } from "../../stack/util/addr.js";

const A = parseIp4("10.0.0.1")!;
const B = parseIp4("10.0.0.2")!;
const MIB = Number(process.argv[2] ?? 200);

function run(mtu: number, congestion: "reno" | "cubic"): number {
  const clock = new ManualClock(0);
  const limits = { sendBuffer: 1 << 20, recvBuffer: 1 << 20 };
  const a = new TcpLayer({ rng: new SeededRng(1), mtu, limits, congestion });
  const b = new TcpLayer({ rng: new SeededRng(2), mtu, limits, congestion });
  b.listen(B, 80);
  const ca = a.connect({ localAddress: A, host: B, port: 80 }, clock.now());
  let cb: ReturnType<TcpLayer["connect"]> | undefined;
  const total = MIB * 1024 * 1024;
  const chunk = new Uint8Array(256 * 1024).fill(0x5a);
  let sent = 0;
  let received = 0;
  const t0 = performance.now();
  while (received < total) {
    let moved = false;
    for (let d = a.pollTransmit(); d; d = a.pollTransmit()) {
      b.input(d.src, d.dst, d.payload, clock.now());
      moved = true;
    }
    for (let d = b.pollTransmit(); d; d = b.pollTransmit()) {
      a.input(d.src, d.dst, d.payload, clock.now());
      moved = true;
    }
    for (let e = b.pollEvent(); e; e = b.pollEvent()) if (e.type === "accept") cb = e.conn;
    while (a.pollEvent());
    while (sent < total) {
      const n = ca.send(chunk.subarray(0, Math.min(chunk.length, total - sent)), clock.now());
      if (n === 0) break;
      sent += n;
      moved = true;
    }
    if (cb) for (let d = cb.read(1 << 20); d; d = cb.read(1 << 20)) received += d.length;
    if (!moved) {
      const t = [a.pollTimeout(), b.pollTimeout()].filter((x): x is number => x !== undefined);
      clock.set(t.length ? Math.min(...t) : clock.now() + 1);
      a.handleTimeout(clock.now());
      b.handleTimeout(clock.now());
    }
  }
  const secs = (performance.now() - t0) / 1000;
  return total / 1e6 / secs;
}

for (const [mtu, cc] of [[1500, "reno"], [1500, "cubic"], [9000, "reno"], [65535, "reno"]] as const) {
  run(mtu, cc); // warm-up
  console.log(`mtu ${String(mtu).padStart(5)} ${cc.padEnd(5)}: ${run(mtu, cc).toFixed(1)} MB/s (${MIB} MiB, one core, in-process)`);
}

// The Node adapter on top: TcpSocket -> TcpSocket through stream.pipeline.
{
  const { NodePair } = await import("../unit/tcp/node-harness.js");
  const { Readable, Writable } = await import("node:stream");
  const { pipeline } = await import("node:stream/promises");
  const total = Math.min(MIB, 64) * 1024 * 1024;
  const p = new NodePair(1, { sendBuffer: 1 << 20, recvBuffer: 1 << 20 });
  const server = p.nb.listen(parseIp4("10.0.0.2")!, 80);
  let received = 0;
  server.on("connection", (s) => {
    pipeline(s, new Writable({ write: (c: Buffer, _e, cb) => ((received += c.length), cb()) })).catch(() => {});
  });
  const c = p.na.connect({ localAddress: A, host: B, port: 80 });
  const chunk = Buffer.alloc(64 * 1024, 1);
  async function* gen() {
    for (let sent = 0; sent < total; sent += chunk.length) yield chunk;
  }
  const t0 = performance.now();
  pipeline(Readable.from(gen()), c).catch(() => {});
  await p.until(() => received >= total, 3_600_000);
  const secs = (performance.now() - t0) / 1000;
  console.log(`TcpSocket pipeline, mtu 1500: ${(total / 1e6 / secs).toFixed(1)} MB/s (${total >> 20} MiB)`);
}
