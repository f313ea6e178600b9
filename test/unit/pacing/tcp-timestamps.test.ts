/**
 * stack/tcp `limits.timestamps: false` (for VJ-friendly segments on slow
 * links): no TSopt in our SYN or SYN-ACK, none in data segments, the full
 * MSS for payload; on by default; a change applies to later connections.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { A, B, Pair, RawPeer } from "../tcp/harness.js";
import { SYN, ACK } from "../compress/tcpip.js";

const PEER_ISS = 900_000;

test("timestamps off: the SYN offers no TSopt; a peer's TSopt in its SYN is not echoed; MSS is not reduced", () => {
  const p = new RawPeer(A, B, { limits: { timestamps: false } });
  const conn = p.layer.connect({ localAddress: A, host: B, port: 80, localPort: 4000 }, p.now);
  const [syn] = p.drain();
  assert.equal(syn.flags, SYN);
  assert.equal(syn.tsVal, undefined, "no TSopt offered");
  assert.equal(syn.sackPermitted, true, "SACK still offered");
  p.deliver({ srcPort: 80, dstPort: 4000, seq: PEER_ISS, ack: syn.seq + 1, flags: SYN | ACK, mss: 1460 });
  assert.equal(conn.state, "Established");
  assert.equal(conn.mss, 1460);

  const q = new RawPeer(A, B, { limits: { timestamps: false } });
  q.layer.listen(A, 80);
  const [sa] = q.deliver({ seq: PEER_ISS, flags: SYN, mss: 1460, sackPermitted: true, wscale: 7, tsVal: 555, tsEcr: 0 });
  assert.equal(sa.flags, SYN | ACK);
  assert.equal(sa.tsVal, undefined, "RFC 7323 §3.2: not in the SYN-ACK, so off for the connection");
  assert.equal(sa.sackPermitted, true);
  assert.equal([...q.layer.connections()][0].mss, 1460, "no 12 bytes taken for TSopt");
});

test("default on; turning it off applies to the next connection, data segments then carry no options", () => {
  const p = new Pair(5);
  p.trace = [];
  const before = p.a.limits.timestamps;
  assert.equal(before, true, "on by default");
  p.a.limits.timestamps = false;
  p.b.listen(B, 80);
  const c = p.a.connect({ localAddress: A, host: B, port: 80 }, p.now);
  assert.ok(p.run(() => c.state === "Established"));
  c.send(new Uint8Array(5000), p.now);
  assert.ok(p.run(() => c.sndUna === c.sndNxt && ((c.sndNxt - c.iss) >>> 0) > 5000));
  assert.equal(c.tsEnabled, false);
  // Every segment from A: a bare 20-byte header except the SYN (MSS, WS, SACK-permitted).
  for (const d of p.trace) {
    if (d.src !== A) continue;
    const doff = (d.payload[12] >> 4) * 4;
    const flags = d.payload[13];
    if (flags & SYN) assert.ok(doff <= 32, `SYN options ${doff - 20} bytes`);
    else assert.equal(doff, 20, "no options after the SYN");
  }
  assert.ok(p.trace.some((d) => d.src === A && d.payload.length === 20 + 1460), "full 1460-byte segments");
});
