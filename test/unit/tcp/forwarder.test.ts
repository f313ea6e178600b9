/**
 * TcpLayer's forwarder (gVisor Forwarder pattern, server-side masquerade):
 * one request per 4-tuple, SYN retransmits absorbed, maxInFlight, ICMP
 * rejections for the IP layer, expiry; wildcard listeners vs masqueraded
 * destinations; RST for data arriving at an orphaned connection.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { A, B, RawPeer } from "./harness.js";
import { ACK, RST, SYN } from "../../../stack/wire/tcp.js";
import { parseIp4 } from "../../../stack/util/addr.js";
import type { TcpForwardPending } from "../../../stack/tcp/tcp-layer.js";

const FAR = parseIp4("93.184.216.34")!;

function forwards(p: RawPeer): TcpForwardPending[] {
  const out: TcpForwardPending[] = [];
  for (let e = p.layer.pollEvent(); e; e = p.layer.pollEvent()) if (e.type === "forward") out.push(e.request);
  return out;
}

test("forwarder: one request per 4-tuple; SYN retransmits absorbed; accept -> SYN-ACK from the far address", () => {
  const p = new RawPeer(FAR, B);
  p.layer.setForwarding(true, 8);
  assert.equal(p.deliver({ srcPort: 5000, dstPort: 443, seq: 10, flags: SYN }).length, 0, "no answer until decided");
  p.deliver({ srcPort: 5000, dstPort: 443, seq: 10, flags: SYN });
  const reqs = forwards(p);
  assert.equal(reqs.length, 1);
  assert.equal(p.layer.stats()["tcp.forward.syn-absorbed"], 1);
  assert.equal(reqs[0].dst, FAR);
  assert.equal(reqs[0].dstPort, 443);
  const conn = p.layer.acceptForward(reqs[0], p.now);
  const [sa] = p.drain();
  assert.equal(sa.flags, SYN | ACK);
  assert.equal(sa.ack, 11);
  assert.equal(conn.localIp, FAR);
  p.deliver({ srcPort: 5000, dstPort: 443, seq: 11, ack: sa.seq + 1, flags: ACK });
  assert.equal(conn.state, "Established");
});

test("forwarder: maxInFlight pending SYNs, then new ones are dropped and counted; requests expire", () => {
  const p = new RawPeer(FAR, B, { limits: { forwardTimeout: 5000 } });
  p.layer.setForwarding(true, 2);
  for (let i = 0; i < 4; i++) p.deliver({ srcPort: 6000 + i, dstPort: 80, seq: 1, flags: SYN });
  assert.equal(forwards(p).length, 2);
  assert.equal(p.layer.stats()["tcp.forward.drop-in-flight"], 2);
  p.advance(5000);
  assert.equal(p.layer.stats()["tcp.forward.expired"], 2);
  p.deliver({ srcPort: 7000, dstPort: 80, seq: 1, flags: SYN });
  assert.equal(forwards(p).length, 1, "room again after expiry");
});

test("forwarder: an expired request can still be accepted; a settled one throws ECONNABORTED", () => {
  const p = new RawPeer(FAR, B, { limits: { forwardTimeout: 1000 } });
  p.layer.setForwarding(true);
  p.deliver({ srcPort: 6000, dstPort: 80, seq: 1, flags: SYN });
  const [r] = forwards(p);
  p.advance(1000);
  const conn = p.layer.acceptForward(r, p.now);
  assert.equal(p.drain()[0].flags, SYN | ACK);
  assert.equal(conn.state, "SynReceived");
  assert.throws(() => p.layer.acceptForward(r, p.now), { code: "ECONNABORTED" });
});

test("forwarder: reject with ICMP queues a rejection for the IP layer; 'rst' answers RST,ACK; 'silent' sends nothing", () => {
  const p = new RawPeer(FAR, B);
  p.layer.setForwarding(true);
  p.deliver({ srcPort: 1, dstPort: 80, seq: 1, flags: SYN });
  p.deliver({ srcPort: 2, dstPort: 80, seq: 1, flags: SYN });
  p.deliver({ srcPort: 3, dstPort: 80, seq: 1, flags: SYN });
  const [r1, r2, r3] = forwards(p);
  p.layer.rejectForward(r1, "icmp-admin-prohibited", p.now);
  const rej = p.layer.pollIcmpReject()!;
  assert.equal(rej.code, 13);
  assert.equal(rej.src, B);
  assert.equal(rej.dst, FAR);
  assert.equal((rej.segment[0] << 8) | rej.segment[1], 1, "quotes the SYN's ports");
  assert.equal(p.drain().length, 0);
  p.layer.rejectForward(r2, "rst", p.now);
  const [rst] = p.drain();
  assert.equal(rst.flags, RST | ACK);
  assert.equal(rst.ack, 2);
  p.layer.rejectForward(r3, "silent", p.now);
  assert.equal(p.drain().length, 0);
  assert.equal(p.layer.pollIcmpReject(), undefined);
});

test("wildcard listener + forwarder: SYNs for our address hit the listener, other destinations the forwarder", () => {
  const p = new RawPeer(A, B);
  p.layer.listen(undefined, 80);
  p.layer.setForwarding(true);
  p.layer.setLocalAddress(A);
  const [sa] = p.deliver({ srcPort: 5000, dstPort: 80, seq: 1, flags: SYN });
  assert.equal(sa.flags, SYN | ACK);
  // the same port on a far address: the forwarder
  const q = new RawPeer(FAR, B);
  q.layer.listen(undefined, 80);
  q.layer.setForwarding(true);
  q.layer.setLocalAddress(A);
  assert.equal(q.deliver({ srcPort: 5000, dstPort: 80, seq: 1, flags: SYN }).length, 0);
  assert.equal(forwards(q).length, 1);
});

test("orphan: data arriving after the user detached gets a RST (like close(2) on Linux)", () => {
  const p = new RawPeer(A, B);
  const conn = p.layer.connect({ localAddress: A, host: B, port: 80, localPort: 4000 }, p.now);
  const [syn] = p.drain();
  p.deliver({ srcPort: 80, dstPort: 4000, seq: 100, ack: syn.seq + 1, flags: SYN | ACK });
  conn.close(p.now);
  conn.detach(p.now);
  p.drain();
  const out = p.deliver({ srcPort: 80, dstPort: 4000, seq: 101, ack: syn.seq + 2, flags: ACK, payload: new Uint8Array(5) });
  assert.equal(out.at(-1)!.flags & RST, RST);
  assert.equal(conn.state, "Closed");
  assert.equal(p.layer.stats()["tcp.rst-orphan-data"], 1);
});

test("orphan in FIN-WAIT-2: released after finWait2Timeout when the peer never sends its FIN", () => {
  const p = new RawPeer(A, B, { limits: { finWait2Timeout: 5000 } });
  const conn = p.layer.connect({ localAddress: A, host: B, port: 80, localPort: 4000 }, p.now);
  const [syn] = p.drain();
  p.deliver({ srcPort: 80, dstPort: 4000, seq: 100, ack: syn.seq + 1, flags: SYN | ACK });
  conn.close(p.now);
  conn.detach(p.now);
  p.drain();
  p.deliver({ srcPort: 80, dstPort: 4000, seq: 101, ack: syn.seq + 2, flags: ACK });
  assert.equal(conn.state, "FinWait2");
  p.advance(4999);
  assert.equal(conn.state, "FinWait2");
  p.advance(1);
  assert.equal(conn.state, "Closed");
  assert.equal(p.layer.stats()["tcp.connections"], 0);
});
