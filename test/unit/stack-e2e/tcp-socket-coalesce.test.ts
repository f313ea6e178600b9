/**
 * TcpSocket read coalescing (stack/node/tcp-socket.ts): the segments that
 * arrive in one burst reach the reader as one chunk (one write(2) when piped
 * to a net.Socket), and data still comes before the end of the stream.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { NodeStack, type TcpSocket } from "../../../stack/node/node-stack.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { joinStacks } from "./memory-link.js";

test("TCP read: a burst of segments is pushed as one chunk, bytes exact, then end", async () => {
  const seed = 41;
  const a = new NodeStack({ address: "10.200.5.2", rng: new SeededRng(seed) });
  const b = new NodeStack({ address: "10.200.5.1", rng: new SeededRng(seed + 1000) });
  const link = joinStacks(a, b);
  try {
    const data = Buffer.from(new SeededRng(seed).fill(new Uint8Array(512 * 1024)));
    const srv = b.listen(9);
    srv.on("connection", (s: TcpSocket) => s.end(data));
    const c = a.connect({ host: "10.200.5.1", port: 9 });
    const chunks: Buffer[] = [];
    c.on("data", (d: Buffer) => chunks.push(d));
    await once(c, "end");
    const got = Buffer.concat(chunks);
    assert.ok(got.equals(data), `seed ${seed}: ${got.length} of ${data.length} bytes, or different bytes`);
    const segments = link.counts.bToA;
    // One chunk per segment before coalescing; the memory link delivers in batches of many segments.
    assert.ok(chunks.length * 4 < segments, `seed ${seed}: ${chunks.length} chunks for ${segments} segments from the server`);
    srv.close();
  } finally {
    link.close();
    a.close();
    b.close();
  }
});

test("NodeStack.deliver: a batch of datagrams is one pump, so the receiver ACKs the batch, not every second segment", async () => {
  const run = async (deliver: boolean): Promise<{ acks: number; segments: number }> => {
    const seed = 43;
    const a = new NodeStack({ address: "10.200.6.2", rng: new SeededRng(seed) });
    const b = new NodeStack({ address: "10.200.6.1", rng: new SeededRng(seed + 1000) });
    const link = joinStacks(a, b, { deliver });
    try {
      const data = Buffer.from(new SeededRng(seed).fill(new Uint8Array(1024 * 1024)));
      const srv = b.listen(9);
      srv.on("connection", (s: TcpSocket) => s.end(data));
      const c = a.connect({ host: "10.200.6.1", port: 9 });
      const chunks: Buffer[] = [];
      c.on("data", (d: Buffer) => chunks.push(d));
      await once(c, "end");
      assert.ok(Buffer.concat(chunks).equals(data), `deliver=${deliver}: bytes differ`);
      srv.close();
      return { acks: link.counts.aToB, segments: link.counts.bToA };
    } finally {
      link.close();
      a.close();
      b.close();
    }
  };
  const perPacket = await run(false);
  const batched = await run(true);
  // input(): an ACK per second full segment (RFC 9293 §3.8.6.3); deliver(): about one per batch.
  assert.ok(perPacket.acks * 3 > perPacket.segments, `input(): ${perPacket.acks} datagrams back for ${perPacket.segments} segments`);
  assert.ok(batched.acks * 3 < perPacket.acks, `deliver(): ${batched.acks} datagrams back, input(): ${perPacket.acks}`);
});
