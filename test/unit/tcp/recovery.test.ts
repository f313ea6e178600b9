/**
 * Retransmission and flow control against one TcpLayer driven by hand:
 * RTO backoff and give-up (RFC 6298), Karn's rule, fast retransmit on three
 * duplicate ACKs and NewReno partial ACKs (RFC 6582), SACK recovery that
 * resends only the holes (RFC 6675), zero window and persist probes, delayed
 * ACKs (RFC 1122), Nagle, keepalive, receiver SWS avoidance.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { A, B, RawPeer } from "./harness.js";
import { ACK, PSH, SYN, type TcpRepr } from "../../../stack/wire/tcp.js";
import type { TcpConnection } from "../../../stack/tcp/connection.js";
import type { TcpLimits } from "../../../stack/tcp/config.js";

const PEER_ISS = 50_000;
const MSS = 1460;

function open(limits: Partial<TcpLimits> = {}, peer: Partial<TcpRepr> = {}, rttMs = 0): { p: RawPeer; conn: TcpConnection; base: number } {
  const p = new RawPeer(A, B, { limits });
  const conn = p.layer.connect({ localAddress: A, host: B, port: 80, localPort: 4000 }, p.now);
  const [syn] = p.drain();
  p.advance(rttMs);
  p.deliver({ srcPort: 80, dstPort: 4000, seq: PEER_ISS, ack: syn.seq + 1, flags: SYN | ACK, mss: MSS, ...peer });
  while (p.layer.pollEvent());
  return { p, conn, base: syn.seq + 1 };
}

function ackFrom(conn: TcpConnection, ack: number, r: Partial<TcpRepr> = {}): Partial<TcpRepr> & { flags: number } {
  return { srcPort: 80, dstPort: 4000, seq: conn.rcvNxt, ack: ack >>> 0, flags: ACK, window: 65535, ...r };
}

const bytes = (n: number, v = 1) => new Uint8Array(n).fill(v);
const dataSegs = (out: TcpRepr[]) => out.filter((s) => s.payload.length > 0);

test("RTO: data retransmitted after 1 s, 2 s, 4 s, 8 s, then ETIMEDOUT (RFC 6298 §5.5)", () => {
  const { p, conn, base } = open({ rtoMin: 1000, dataRetries: 4 });
  conn.send(bytes(100), p.now);
  const [first] = dataSegs(p.drain());
  assert.equal(first.seq, base);
  const t0 = p.now;
  const at: number[] = [];
  for (let i = 0; i < 4; i++) {
    const out = dataSegs(p.fireNext());
    assert.equal(out.length, 1);
    assert.equal(out[0].seq, base, "the first unacknowledged segment again");
    at.push(p.now - t0);
  }
  assert.deepEqual(at, [1000, 3000, 7000, 15000]);
  p.fireNext();
  assert.equal(p.now - t0, 31000);
  assert.equal(conn.error, "ETIMEDOUT");
  assert.equal(conn.state, "Closed");
});

test("Karn's rule: an ACK for a retransmitted segment gives no RTT sample", () => {
  const { p, conn, base } = open({ rtoMin: 1000 }, {}, 50);
  assert.equal(conn.rtt.srtt, 50, "handshake sample");
  conn.send(bytes(100), p.now);
  p.drain();
  p.fireNext(); // retransmission at +1 s
  p.advance(10);
  p.deliver(ackFrom(conn, base + 100));
  assert.equal(conn.rtt.srtt, 50, "no sample from the ambiguous ACK");
  conn.send(bytes(100), p.now);
  p.drain();
  p.advance(80);
  p.deliver(ackFrom(conn, base + 200));
  assert.equal(conn.rtt.srtt, 50 * 7 / 8 + 80 / 8, "a clean sample is used (SRTT = 7/8 SRTT + 1/8 R)");
});

test("fast retransmit on the 3rd duplicate ACK, NewReno partial ACK retransmits the next hole (RFC 6582)", () => {
  const { p, conn, base } = open();
  conn.send(bytes(10 * MSS), p.now);
  const sent = dataSegs(p.drain());
  assert.equal(sent.length, 10, "initial window of 10 segments (RFC 6928)");
  p.deliver(ackFrom(conn, base + MSS));
  assert.equal(dataSegs(p.deliver(ackFrom(conn, base + MSS))).length, 0);
  assert.equal(dataSegs(p.deliver(ackFrom(conn, base + MSS))).length, 0);
  const rtx = dataSegs(p.deliver(ackFrom(conn, base + MSS)));
  assert.equal(rtx.length, 1);
  assert.equal(rtx[0].seq, base + MSS, "segment 2 resent at once, no timer");
  assert.equal(conn.inRecovery, true);
  // partial ACK: segments 2..4 arrived, 5 was lost too
  const rtx2 = dataSegs(p.deliver(ackFrom(conn, base + 4 * MSS)));
  assert.equal(rtx2[0].seq, base + 4 * MSS);
  assert.equal(conn.inRecovery, true);
  p.deliver(ackFrom(conn, base + 10 * MSS));
  assert.equal(conn.inRecovery, false, "full ACK ends recovery");
  assert.equal(p.layer.stats()["tcp.fast-retransmit"], 1);
  assert.equal(p.layer.stats()["tcp.rto"], undefined, "no timeout was needed");
});

test("SACK recovery (RFC 6675) retransmits only the holes", () => {
  const { p, conn, base } = open({}, { sackPermitted: true });
  assert.equal(conn.sackEnabled, true);
  conn.send(bytes(10 * MSS), p.now);
  assert.equal(dataSegs(p.drain()).length, 10);
  // segments 1 and 4 lost; the peer SACKs 2-3 and 5-10 as they arrive
  const S = (i: number) => (base + i * MSS) >>> 0;
  const outs: TcpRepr[] = [];
  outs.push(...p.deliver(ackFrom(conn, base, { sack: [{ left: S(1), right: S(2) }] })));
  outs.push(...p.deliver(ackFrom(conn, base, { sack: [{ left: S(1), right: S(3) }] })));
  outs.push(...p.deliver(ackFrom(conn, base, { sack: [{ left: S(4), right: S(5) }, { left: S(1), right: S(3) }] })));
  for (let i = 6; i <= 10; i++) outs.push(...p.deliver(ackFrom(conn, base, { sack: [{ left: S(4), right: S(i) }, { left: S(1), right: S(3) }] })));
  const rtx = dataSegs(outs).map((s) => s.seq);
  assert.deepEqual(rtx, [S(0), S(3)], "exactly the two holes");
  p.deliver(ackFrom(conn, S(10)));
  assert.equal(conn.inRecovery, false);
  assert.equal(p.layer.stats()["tcp.retransmit"], 2);
});

test("zero window: persist probes back off until the window reopens, then data flows", () => {
  const { p, conn, base } = open({ rtoMin: 1000 });
  p.deliver(ackFrom(conn, base, { window: 0 }));
  conn.send(bytes(3000), p.now);
  assert.equal(dataSegs(p.drain()).length, 0, "nothing fits a zero window");
  const t0 = p.now;
  const probes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const out = p.fireNext();
    assert.equal(out.length, 1);
    assert.equal(out[0].payload.length, 0);
    assert.equal(out[0].seq, (base - 1) >>> 0, "probe with SEG.SEQ = SND.UNA - 1");
    probes.push(p.now - t0);
    p.deliver(ackFrom(conn, base, { window: 0 }));
  }
  assert.ok(probes[1] - probes[0] > probes[0] && probes[2] - probes[1] > probes[1] - probes[0], `backoff ${probes}`);
  assert.equal(conn.state, "Established", "a peer that answers probes is never dropped");
  const out = dataSegs(p.deliver(ackFrom(conn, base, { window: 65535 })));
  assert.equal(out.reduce((n, s) => n + s.payload.length, 0), 2 * MSS, "full segments at once; Nagle holds the 80-byte tail");
  const tail = dataSegs(p.deliver(ackFrom(conn, base + 2 * MSS)));
  assert.equal(tail[0].payload.length, 3000 - 2 * MSS);
});

test("delayed ACK: one segment is acknowledged within 40 ms, every second full segment at once", () => {
  const { p, conn } = open();
  const seg = (n: number) => ({ srcPort: 80, dstPort: 4000, seq: conn.rcvNxt, ack: conn.sndNxt, flags: ACK | PSH, payload: bytes(n) });
  assert.equal(p.deliver(seg(100)).length, 0, "no immediate ACK");
  assert.equal(p.advance(39).length, 0);
  const out = p.advance(1);
  assert.equal(out.length, 1);
  assert.equal(out[0].ack, conn.rcvNxt);
  assert.equal(p.deliver(seg(MSS)).length, 0);
  const now = p.deliver(seg(MSS));
  assert.equal(now.length, 1, "second full-sized segment: ACK now (RFC 1122 §4.2.3.2)");
});

test("delayed ACK fires at exactly the configured delay", () => {
  const { p, conn } = open({ delayedAck: 150 });
  p.deliver({ srcPort: 80, dstPort: 4000, seq: conn.rcvNxt, ack: conn.sndNxt, flags: ACK, payload: bytes(10) });
  assert.equal(p.advance(149).length, 0);
  assert.equal(p.advance(1).length, 1);
});

test("Nagle holds a small segment while data is unacknowledged; setNoDelay sends it", () => {
  const { p, conn, base } = open();
  conn.send(bytes(10), p.now);
  assert.equal(dataSegs(p.drain()).length, 1);
  conn.send(bytes(10), p.now);
  assert.equal(dataSegs(p.drain()).length, 0, "held by Nagle");
  const out = dataSegs(p.deliver(ackFrom(conn, base + 10)));
  assert.equal(out.length, 1, "released by the ACK");
  conn.noDelay = true;
  conn.send(bytes(10), p.now);
  p.layer.wake(conn);
  assert.equal(dataSegs(p.drain()).length, 1, "no delay");
});

test("keepalive: probes after the idle time, ETIMEDOUT after keepCount unanswered probes", () => {
  const { p, conn } = open({ keepInterval: 1000, keepCount: 3 });
  conn.setKeepAlive(true, 10_000, p.now);
  assert.equal(p.advance(9_999).length, 0);
  const [probe] = p.advance(1);
  assert.equal(probe.flags, ACK);
  assert.equal(probe.seq, (conn.sndUna - 1) >>> 0);
  // an answer resets the idle timer
  p.deliver(ackFrom(conn, conn.sndNxt));
  assert.equal(p.advance(9_999).length, 0);
  assert.equal(p.advance(1).length, 1);
  assert.equal(p.advance(1000).length, 1);
  assert.equal(p.advance(1000).length, 1);
  p.advance(1000);
  assert.equal(conn.error, "ETIMEDOUT");
});

test("receiver SWS avoidance: a full buffer advertises zero; small reads send no update, a big one does", () => {
  const { p, conn } = open({ recvBuffer: 16 * 1024 });
  let last: TcpRepr | undefined;
  for (let sent = 0; sent < 16 * 1024; sent += 1024) {
    const out = p.deliver({ srcPort: 80, dstPort: 4000, seq: conn.rcvNxt, ack: conn.sndNxt, flags: ACK, payload: bytes(1024) });
    if (out.length) last = out.at(-1);
  }
  last = p.advance(100).at(-1) ?? last;
  assert.equal(last!.window, 0, "zero window once the buffer is full");
  conn.read(100);
  assert.equal(p.drain().length, 0, "100 bytes free: below min(buffer/2, MSS), no update");
  conn.read(8 * 1024);
  const upd = p.drain();
  assert.equal(upd.length, 1, "window update");
  assert.ok(upd[0].window >= 8 * 1024, `window ${upd[0].window}`);
});

test("MSS: peer MSS option caps our segments; no option means 536 (RFC 9293 §3.7.1)", () => {
  const a = open({}, { mss: 1000 });
  a.conn.send(bytes(5000), a.p.now);
  assert.ok(dataSegs(a.p.drain()).every((s) => s.payload.length <= 1000));
  const p = new RawPeer();
  const conn = p.layer.connect({ localAddress: A, host: B, port: 80, localPort: 4000 }, p.now);
  const [syn] = p.drain();
  p.deliver({ srcPort: 80, dstPort: 4000, seq: PEER_ISS, ack: syn.seq + 1, flags: SYN | ACK });
  assert.equal(conn.mss, 536);
  p.layer.setMtu(576);
  assert.equal(conn.mss, 536);
});

test("timestamps (RFC 7323): RTT from TSecr, PAWS drops an old duplicate and ACKs it", () => {
  const { p, conn, base } = open({}, { tsVal: 1000, tsEcr: 0, wscale: 2 });
  assert.equal(conn.tsEnabled, true);
  assert.equal(conn.wsEnabled, true);
  assert.equal(conn.mss, MSS - 12);
  conn.send(bytes(100), p.now);
  const [d] = dataSegs(p.drain());
  assert.ok(d.tsVal !== undefined);
  assert.equal(d.tsEcr, 1000);
  p.advance(70);
  p.deliver(ackFrom(conn, base + 100, { tsVal: 1070, tsEcr: d.tsVal }));
  assert.equal(conn.rtt.srtt, 70, "first sample from TSecr");
  const out = p.deliver({ srcPort: 80, dstPort: 4000, seq: conn.rcvNxt, ack: conn.sndNxt, flags: ACK, tsVal: 900, tsEcr: 0, payload: bytes(10) });
  assert.equal(conn.readable, 0, "PAWS: segment with an old TSval is dropped");
  assert.equal(p.layer.stats()["tcp.drop.paws"], 1);
  assert.equal(out[0].flags, ACK);
  // window scaling: the peer's window field is shifted by 2
  p.deliver(ackFrom(conn, base + 100, { tsVal: 1100, tsEcr: 0, window: 1000 }));
  assert.equal(conn.sndWnd, 4000);
});

test("ICMP frag-needed (RFC 1191) shrinks the MSS and resends in-flight data at the new size", () => {
  const { p, conn, base } = open();
  conn.send(bytes(3 * MSS), p.now);
  const first = dataSegs(p.drain());
  assert.equal(first[0].payload.length, MSS);
  const q = new Uint8Array(8);
  new DataView(q.buffer).setUint16(0, 4000);
  new DataView(q.buffer).setUint16(2, 80);
  new DataView(q.buffer).setUint32(4, base);
  p.layer.icmpError({ kind: "frag-needed", code: 4, mtu: 1000, src: A, dst: B, quoted: q }, p.now);
  const again = dataSegs(p.drain());
  assert.equal(conn.mss, 960);
  assert.ok(again.length > 0 && again.every((s) => s.payload.length <= 960));
  assert.equal(again[0].seq, base);
});
