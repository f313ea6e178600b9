/**
 * stack/tcp buffers and bookkeeping against simple models: the receive ring
 * with out-of-order placement (random segment order, random reads, growth),
 * the send ring, sequence arithmetic across the 2^32 wrap, and the SACK
 * scoreboard's IsLost/pipe/NextSeg (RFC 6675).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RecvBuffer } from "../../../stack/tcp/recv-buffer.js";
import { SendBuffer } from "../../../stack/tcp/send-buffer.js";
import { SackScoreboard } from "../../../stack/tcp/sack-scoreboard.js";
import { seqAdd, seqDiff, seqGt, seqLt } from "../../../stack/tcp/seq.js";
import { SeededRng } from "../../../stack/util/rng.js";

test("seq: comparisons and arithmetic wrap modulo 2^32", () => {
  assert.equal(seqAdd(0xffffffff, 2), 1);
  assert.equal(seqDiff(1, 0xffffffff), 2);
  assert.ok(seqLt(0xfffffff0, 0x10));
  assert.ok(seqGt(0x10, 0xfffffff0));
  assert.ok(!seqLt(5, 5));
});

for (const seed of [1, 2, 3, 4, 5]) {
  test(`RecvBuffer: out-of-order segments reassemble exactly (seed ${seed})`, () => {
    const rng = new SeededRng(seed);
    const cap = 8192 + rng.below(60000);
    const rb = new RecvBuffer(cap, 1000);
    const stream = rng.fill(new Uint8Array(300_000));
    let nxt = 0; // stream offset of RCV.NXT
    const out: number[] = [];
    let guard = 0;
    while (out.length < stream.length && guard++ < 1_000_000) {
      // a segment somewhere in the window, possibly overlapping what we have
      const free = rb.free;
      if (free > 0) {
        const off = rng.below(Math.min(free, 4000));
        const len = 1 + rng.below(1500);
        const start = nxt + off;
        const seg = stream.subarray(start, Math.min(start + len, stream.length));
        if (seg.length) {
          const adv = rb.write(off, seg);
          assert.ok(adv >= 0, `seed ${seed}`);
          nxt += adv;
        }
      }
      if (rng.next() < 0.3) {
        const d = rb.read(1 + rng.below(20000));
        if (d) for (const b of d) out.push(b);
      }
      assert.ok(rb.length + rb.oooBytes <= cap, `seed ${seed}: memory bound`);
    }
    for (let d = rb.read(1 << 20); d; d = rb.read(1 << 20)) for (const b of d) out.push(b);
    assert.equal(out.length, stream.length, `seed ${seed}`);
    assert.deepEqual(Buffer.from(out), Buffer.from(stream), `seed ${seed}`);
  });
}

test("RecvBuffer: too many islands are refused (-1), memory stays bounded, release() frees", () => {
  const rb = new RecvBuffer(1 << 20, 3);
  assert.equal(rb.write(100, new Uint8Array(10)), 0);
  assert.equal(rb.write(200, new Uint8Array(10)), 0);
  assert.equal(rb.write(300, new Uint8Array(10)), 0);
  assert.equal(rb.write(400, new Uint8Array(10)), -1);
  assert.equal(rb.write(205, new Uint8Array(10)), 0, "extending an existing island is fine");
  assert.equal(rb.write(0, new Uint8Array(100)), 110);
  assert.ok(rb.allocated < 1 << 20, "grows on demand");
  rb.read(1000);
  rb.write(0, new Uint8Array(1)); // still islands at 200..; not releasable
  rb.release();
  assert.ok(rb.allocated > 0, "islands still held: not released");
  const empty = new RecvBuffer(1 << 20);
  empty.write(0, new Uint8Array(5000));
  empty.read(5000);
  empty.release();
  assert.equal(empty.allocated, 0);
});

test("SendBuffer: ring wraps, copyOut at offsets, growth keeps order", () => {
  const rng = new SeededRng(9);
  const sb = new SendBuffer(50_000);
  const model: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const d = rng.fill(new Uint8Array(rng.below(3000)));
    const n = sb.write(d);
    for (let j = 0; j < n; j++) model.push(d[j]);
    assert.equal(sb.length, model.length);
    if (model.length > 10) {
      const off = rng.below(model.length - 5);
      const len = Math.min(5 + rng.below(2000), model.length - off);
      const dst = new Uint8Array(len + 3);
      sb.copyOut(off, dst, 3, len);
      assert.deepEqual([...dst.subarray(3)], model.slice(off, off + len));
    }
    const c = rng.below(sb.length + 1);
    sb.consume(c);
    model.splice(0, c);
  }
});

test("SackScoreboard: IsLost, pipe and NextSeg (RFC 6675)", () => {
  const sb = new SackScoreboard();
  const mss = 100;
  // una = 0, sent up to 1000; SACKed 100-300 and 400-1000; holes 0-100 and 300-400
  sb.update([{ left: 100, right: 300 }, { left: 400, right: 1000 }], 0, 1000);
  assert.equal(sb.sackedBytes(), 800);
  assert.ok(sb.isLost(0, mss));
  assert.ok(sb.isLost(300, mss));
  assert.ok(!sb.isLost(950, mss));
  assert.equal(sb.pipe(0, 1000, 0, mss), 0, "both holes lost, nothing retransmitted");
  assert.deepEqual(sb.nextLost(0, 0, mss), { seq: 0, len: 100 });
  assert.deepEqual(sb.nextLost(0, 100, mss), { seq: 300, len: 100 });
  assert.equal(sb.nextLost(0, 400, mss), undefined);
  assert.equal(sb.pipe(0, 1000, 100, mss), 100, "a retransmitted lost hole counts once");
  sb.advance(300);
  assert.equal(sb.ranges[0].left, 400);
  // blocks outside (una, max] are ignored (RFC 2018 §5 / RFC 5961 spirit)
  assert.equal(sb.update([{ left: 2000, right: 3000 }], 300, 1000), false);
});

test("ISS (RFC 6528): differs per 4-tuple, advances with the 4 µs clock, secret from the Rng", async () => {
  const { IssGenerator } = await import("../../../stack/tcp/iss.js");
  const g = new IssGenerator(new SeededRng(1));
  const a = g.iss(1, 1000, 2, 80, 0);
  const b = g.iss(1, 1001, 2, 80, 0);
  assert.notEqual(a, b);
  assert.equal(seqDiff(g.iss(1, 1000, 2, 80, 1), a), 250, "1 ms = 250 ticks of 4 µs");
  const other = new IssGenerator(new SeededRng(2));
  assert.notEqual(other.iss(1, 1000, 2, 80, 0), a, "another secret, another sequence space");
});

test("global buffer cap: connections beyond it get minimal buffers (counted)", async () => {
  const { TcpLayer } = await import("../../../stack/tcp/tcp-layer.js");
  const layer = new TcpLayer({ rng: new SeededRng(3), mtu: 1500, limits: { sendBuffer: 256 * 1024, recvBuffer: 256 * 1024, globalBufferCap: 1024 * 1024 } });
  const conns = [0, 1, 2].map((i) => layer.connect({ localAddress: 1, host: 2, port: 80 + i }, 0));
  assert.equal(conns[0].rcvBuf.capacity, 256 * 1024);
  assert.equal(conns[1].rcvBuf.capacity, 256 * 1024);
  assert.equal(conns[2].rcvBuf.capacity, 16 * 1024);
  assert.equal(layer.stats()["tcp.buffer-cap-reduced"], 1);
  conns[0].abort(0);
  assert.equal(layer.stats()["tcp.buffer-reserved"], 2 * 256 * 1024 + 2 * 16 * 1024, "released on close");
});
