/**
 * The Node adapter (stack/node/tcp-socket.ts, tcp-node.ts): TcpSocket pairs
 * over two TcpLayers on a ManualClock — pipeline with backpressure, a slow
 * reader closing the window, end/destroy semantics and error codes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { NodePair } from "./node-harness.js";
import { A, B } from "./harness.js";
import type { TcpSocket } from "../../../stack/node/tcp-socket.js";
import { SeededRng } from "../../../stack/util/rng.js";

function randomChunks(seed: number, total: number, chunk = 32 * 1024): Buffer[] {
  const r = new SeededRng(seed);
  const out: Buffer[] = [];
  for (let done = 0; done < total; done += chunk) {
    const b = Buffer.alloc(Math.min(chunk, total - done));
    for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(r.u32(), i);
    out.push(b);
  }
  return out;
}

function sha(chunks: Buffer[]): string {
  const h = createHash("sha256");
  for (const c of chunks) h.update(c);
  return h.digest("hex");
}

test("TcpSocket: pipeline 4 MiB each way with sha256, then FIN both ways", async () => {
  const p = new NodePair(11);
  const server = p.nb.listen(B, 80);
  const got: { a: Buffer[]; b: Buffer[] } = { a: [], b: [] };
  const dataA = randomChunks(1, 4 << 20);
  const dataB = randomChunks(2, 4 << 20);
  let serverDone = false;
  let clientDone = false;
  server.on("connection", (s: TcpSocket) => {
    s.allowHalfOpen = true; // each side finishes its own stream after the other's FIN
    s.on("data", (d: Buffer) => got.b.push(d));
    s.on("end", () => (serverDone = true));
    pipeline(Readable.from(dataB), s).catch((e) => assert.fail(e));
  });
  const c = p.na.connect({ localAddress: A, host: B, port: 80 });
  c.allowHalfOpen = true;
  let connected = false;
  c.on("connect", () => (connected = true));
  c.on("data", (d: Buffer) => got.a.push(d));
  c.on("end", () => (clientDone = true));
  pipeline(Readable.from(dataA), c).catch((e) => assert.fail(e));
  assert.ok(await p.until(() => serverDone && clientDone));
  assert.ok(connected);
  assert.equal(sha(got.b), sha(dataA));
  assert.equal(sha(got.a), sha(dataB));
  assert.equal(c.remoteAddress, "10.0.0.2");
  assert.equal(c.remotePort, 80);
  assert.equal(c.localAddress, "10.0.0.1");
});

test("TcpSocket: a slow reader shrinks the advertised window to zero and write() returns false", async () => {
  const p = new NodePair(12, { recvBuffer: 64 * 1024, sendBuffer: 64 * 1024 });
  const server = p.nb.listen(B, 81);
  let srv: TcpSocket | undefined;
  server.on("connection", (s: TcpSocket) => {
    srv = s;
    s.pause();
  });
  const c = p.na.connect({ localAddress: A, host: B, port: 81 });
  await p.until(() => srv !== undefined);
  const chunk = Buffer.alloc(16 * 1024, 7);
  let sawFalse = false;
  let writes = 0;
  // fill: receive buffer (64K) + send buffer (64K) + the stream's high-water mark
  for (let i = 0; i < 20; i++) {
    writes++;
    if (!c.write(chunk)) {
      sawFalse = true;
      break;
    }
  }
  await p.until(() => false, 5_000);
  assert.ok(sawFalse, "write() must return false once the buffers are full");
  assert.ok(p.windowsFromB.includes(0), "the paused reader must advertise a zero window");
  // now read everything: the window reopens and the writer drains
  let received = 0;
  srv!.on("data", (d: Buffer) => (received += d.length));
  srv!.resume();
  await p.until(() => received === writes * chunk.length, 60_000);
  assert.equal(received, writes * chunk.length);
});

test("TcpSocket: ECONNREFUSED from a RST to our SYN", async () => {
  const p = new NodePair(13);
  const c = p.na.connect({ localAddress: A, host: B, port: 9 });
  let err: NodeJS.ErrnoException | undefined;
  c.on("error", (e) => (err = e));
  await p.until(() => err !== undefined);
  assert.equal(err?.code, "ECONNREFUSED");
  assert.equal(err?.syscall, "connect");
});

test("TcpSocket: ETIMEDOUT when every SYN is lost (retransmission give-up)", async () => {
  const p = new NodePair(14, { synRetries: 3 });
  p.filter = () => false;
  const t0 = p.clock.now();
  const c = p.na.connect({ localAddress: A, host: B, port: 80 });
  let err: NodeJS.ErrnoException | undefined;
  c.on("error", (e) => (err = e));
  await p.until(() => err !== undefined);
  assert.equal(err?.code, "ETIMEDOUT");
  // 1 + 2 + 4 s of backoff, then the last wait of 8 s
  assert.equal(p.clock.now() - t0, 1000 + 2000 + 4000 + 8000);
});

test("TcpSocket: destroy() sends RST and the peer sees ECONNRESET", async () => {
  const p = new NodePair(15);
  const server = p.nb.listen(B, 82);
  let srv: TcpSocket | undefined;
  server.on("connection", (s: TcpSocket) => (srv = s));
  const c = p.na.connect({ localAddress: A, host: B, port: 82 });
  await p.until(() => srv !== undefined);
  let err: NodeJS.ErrnoException | undefined;
  srv!.on("error", (e) => (err = e));
  srv!.resume();
  c.destroy();
  await p.until(() => err !== undefined);
  assert.equal(err?.code, "ECONNRESET");
  assert.equal(p.la.stats()["tcp.connections"], 0);
  assert.equal(p.lb.stats()["tcp.connections"], 0);
});

test("TcpSocket: end() sends FIN after queued data (even while connecting); the peer still sends after our FIN", async () => {
  const p = new NodePair(16);
  const server = p.nb.listen(B, 83);
  let srvEnded = false;
  server.on("connection", (s: TcpSocket) => {
    s.resume();
    s.on("end", () => {
      srvEnded = true;
      s.end("bye after your FIN");
    });
  });
  const c = p.na.connect({ localAddress: A, host: B, port: 83 });
  const chunks: Buffer[] = [];
  let closed = false;
  c.on("data", (d: Buffer) => chunks.push(d));
  c.on("close", () => (closed = true));
  c.end("hello");
  await p.until(() => closed);
  assert.ok(srvEnded);
  assert.equal(Buffer.concat(chunks).toString(), "bye after your FIN");
});

test("TcpForwarder: accept() completes the handshake; reject('rst') refuses; maxInFlight caps pending SYNs", async () => {
  const p = new NodePair(17);
  const reqs: { dst: string; dstPort: number; accept: () => TcpSocket; reject: (h: "rst") => void }[] = [];
  p.nb.setForwarder((r) => reqs.push(r), { maxInFlight: 2 });
  const c1 = p.na.connect({ localAddress: A, host: B, port: 1000 });
  const c2 = p.na.connect({ localAddress: A, host: B, port: 1001 });
  const c3 = p.na.connect({ localAddress: A, host: B, port: 1002 });
  let c1ok = false;
  let c2err: NodeJS.ErrnoException | undefined;
  c1.on("connect", () => (c1ok = true));
  c2.on("error", (e) => (c2err = e));
  c3.on("error", () => {});
  await p.until(() => reqs.length === 2);
  assert.equal(p.lb.stats()["tcp.forward.drop-in-flight"], 1);
  const s1 = reqs[0].accept();
  reqs[1].reject("rst");
  await p.until(() => c1ok && c2err !== undefined);
  assert.equal(c2err?.code, "ECONNREFUSED");
  assert.equal(s1.localPort, 1000);
  c1.destroy();
  c3.destroy();
});

test("NodeTcp.close(): sockets error with ECONNRESET, the peer gets a RST, servers close", async () => {
  const p = new NodePair(18);
  const server = p.nb.listen(B, 84);
  let srv: TcpSocket | undefined;
  server.on("connection", (s: TcpSocket) => (srv = s));
  const c = p.na.connect({ localAddress: A, host: B, port: 84 });
  await p.until(() => srv !== undefined);
  let cErr: NodeJS.ErrnoException | undefined;
  let sErr: NodeJS.ErrnoException | undefined;
  let serverClosed = false;
  c.on("error", (e) => (cErr = e));
  srv!.on("error", (e) => (sErr = e));
  srv!.resume();
  server.on("close", () => (serverClosed = true));
  p.nb.close();
  await p.until(() => cErr !== undefined && sErr !== undefined && serverClosed);
  assert.equal(sErr?.code, "ECONNRESET");
  assert.equal(cErr?.code, "ECONNRESET", "the RST reached the other side");
  assert.equal(p.lb.stats()["tcp.connections"], 0);
});

for (const seed of [21, 22, 23]) {
  test(`TcpSocket: pipeline 1 MiB each way over a link dropping 3% (seed ${seed})`, async () => {
    const p = new NodePair(seed);
    const rng = new SeededRng(seed);
    p.filter = () => rng.next() >= 0.03;
    const server = p.nb.listen(B, 90);
    const got: { a: Buffer[]; b: Buffer[] } = { a: [], b: [] };
    const dataA = randomChunks(seed, 1 << 20);
    const dataB = randomChunks(seed + 100, 1 << 20);
    let ends = 0;
    server.on("connection", (s: TcpSocket) => {
      s.allowHalfOpen = true; // net semantics: without it, the peer's FIN ends our writing too
      s.on("data", (d: Buffer) => got.b.push(d));
      s.on("end", () => ends++);
      pipeline(Readable.from(dataB), s).catch(() => {});
    });
    const c = p.na.connect({ localAddress: A, host: B, port: 90 });
    c.allowHalfOpen = true;
    c.on("data", (d: Buffer) => got.a.push(d));
    c.on("end", () => ends++);
    pipeline(Readable.from(dataA), c).catch(() => {});
    assert.ok(await p.until(() => ends === 2), `seed ${seed}: did not finish`);
    assert.equal(sha(got.b), sha(dataA), `seed ${seed}`);
    assert.equal(sha(got.a), sha(dataB), `seed ${seed}`);
  });
}
