/**
 * The connection state machine (RFC 9293 §3.3.2, §3.10) as a state × event
 * table, driven by hand-crafted segments against one TcpLayer (RawPeer), plus
 * RFC 5961 RST/SYN handling with challenge ACKs, listener backlog and the
 * half-open cap.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { A, B, RawPeer } from "./harness.js";
import { ACK, FIN, PSH, RST, SYN, type TcpRepr } from "../../../stack/wire/tcp.js";
import { EV_CONNECTED, EV_EOF, EV_ERROR, type TcpConnection } from "../../../stack/tcp/connection.js";
import type { TcpEvent } from "../../../stack/tcp/tcp-layer.js";

const PEER_ISS = 1000;

function events(p: RawPeer): TcpEvent[] {
  const out: TcpEvent[] = [];
  for (let e = p.layer.pollEvent(); e; e = p.layer.pollEvent()) out.push(e);
  return out;
}

function flagsOf(evs: TcpEvent[], conn: TcpConnection): number {
  let f = 0;
  for (const e of evs) if (e.type === "conn" && e.conn === conn) f |= e.flags;
  return f;
}

/** Active open up to SYN-SENT; returns the connection and our SYN. */
function synSent(p: RawPeer, opts: { timeoutMs?: number } = {}): { conn: TcpConnection; syn: TcpRepr } {
  const conn = p.layer.connect({ localAddress: A, host: B, port: 80, localPort: 4000, ...opts }, p.now);
  const [syn] = p.drain();
  return { conn, syn };
}

/** Active open to ESTABLISHED (peer offers no options unless given). */
function established(p: RawPeer, peerOpts: Partial<TcpRepr> = {}): { conn: TcpConnection; iss: number } {
  const { conn, syn } = synSent(p);
  p.deliver({ srcPort: 80, dstPort: 4000, seq: PEER_ISS, ack: syn.seq + 1, flags: SYN | ACK, mss: 1460, ...peerOpts });
  events(p);
  return { conn, iss: syn.seq };
}

/** Segment from the peer on the established connection. */
function from(conn: TcpConnection, r: Partial<TcpRepr> & { flags: number }): Partial<TcpRepr> & { flags: number } {
  return { srcPort: 80, dstPort: 4000, seq: conn.rcvNxt, ack: conn.sndNxt, ...r };
}

test("Closed + connect -> SynSent (SYN offers MSS, window scale, SACK, timestamps)", () => {
  const p = new RawPeer();
  const { conn, syn } = synSent(p);
  assert.equal(conn.state, "SynSent");
  assert.equal(syn.flags, SYN);
  assert.equal(syn.mss, 1460);
  assert.ok(syn.wscale !== undefined && syn.wscale > 0);
  assert.equal(syn.sackPermitted, true);
  assert.ok(syn.tsVal !== undefined);
});

test("SynSent + SYN-ACK -> Established (ACK sent, EV_CONNECTED)", () => {
  const p = new RawPeer();
  const { conn, syn } = synSent(p);
  const out = p.deliver({ srcPort: 80, dstPort: 4000, seq: PEER_ISS, ack: syn.seq + 1, flags: SYN | ACK, mss: 1400 });
  assert.equal(conn.state, "Established");
  assert.equal(out.length, 1);
  assert.equal(out[0].flags, ACK);
  assert.equal(out[0].ack, PEER_ISS + 1);
  assert.ok(flagsOf(events(p), conn) & EV_CONNECTED);
  assert.equal(conn.mss, 1400);
  assert.equal(conn.wsEnabled, false, "no WS option from the peer: scaling off");
});

test("SynSent + RST,ACK -> Closed (ECONNREFUSED)", () => {
  const p = new RawPeer();
  const { conn, syn } = synSent(p);
  p.deliver({ srcPort: 80, dstPort: 4000, seq: 0, ack: syn.seq + 1, flags: RST | ACK });
  assert.equal(conn.state, "Closed");
  assert.equal(conn.error, "ECONNREFUSED");
  assert.ok(flagsOf(events(p), conn) & EV_ERROR);
});

test("SynSent + RST without ACK -> ignored (RFC 9293 §3.10.7.3)", () => {
  const p = new RawPeer();
  const { conn } = synSent(p);
  p.deliver({ srcPort: 80, dstPort: 4000, seq: 0, flags: RST });
  assert.equal(conn.state, "SynSent");
});

test("SynSent + ACK of something unsent -> RST <SEQ=SEG.ACK>", () => {
  const p = new RawPeer();
  const { conn, syn } = synSent(p);
  const out = p.deliver({ srcPort: 80, dstPort: 4000, seq: PEER_ISS, ack: syn.seq + 99, flags: SYN | ACK });
  assert.equal(conn.state, "SynSent");
  assert.equal(out[0].flags, RST);
  assert.equal(out[0].seq, syn.seq + 99);
});

test("SynSent + SYN -> SynReceived (simultaneous open) + ACK -> Established", () => {
  const p = new RawPeer();
  const { conn, syn } = synSent(p);
  const out = p.deliver({ srcPort: 80, dstPort: 4000, seq: PEER_ISS, flags: SYN, mss: 1460 });
  assert.equal(conn.state, "SynReceived");
  assert.equal(out[0].flags, SYN | ACK);
  assert.equal(out[0].seq, syn.seq, "the same ISS is re-sent with the ACK");
  assert.equal(out[0].ack, PEER_ISS + 1);
  p.deliver({ srcPort: 80, dstPort: 4000, seq: PEER_ISS + 1, ack: syn.seq + 1, flags: ACK });
  assert.equal(conn.state, "Established");
});

test("SynSent + SYN-ACK lost: SYN retransmitted after 1 s, 2 s, 4 s (RFC 6298 backoff)", () => {
  const p = new RawPeer();
  synSent(p);
  const t0 = p.now;
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const out = p.fireNext();
    assert.equal(out[0].flags, SYN);
    times.push(p.now - t0);
  }
  assert.deepEqual(times, [1000, 3000, 7000]);
});

test("Listen + SYN -> SynReceived (SYN-ACK echoes the options offered)", () => {
  const p = new RawPeer();
  p.layer.listen(A, 80);
  const out = p.deliver({ seq: PEER_ISS, flags: SYN, mss: 1200, sackPermitted: true, wscale: 7, tsVal: 555, tsEcr: 0 });
  assert.equal(out.length, 1);
  const sa = out[0];
  assert.equal(sa.flags, SYN | ACK);
  assert.equal(sa.ack, PEER_ISS + 1);
  assert.equal(sa.sackPermitted, true);
  assert.ok(sa.wscale !== undefined);
  assert.equal(sa.tsEcr, 555);
  const conn = [...p.layer.connections()][0];
  assert.equal(conn.state, "SynReceived");
  assert.equal(conn.mss, 1200 - 12, "MSS less the timestamp option");
});

test("Listen + SYN without options -> SYN-ACK without WS/SACK/TS", () => {
  const p = new RawPeer();
  p.layer.listen(undefined, 80);
  const [sa] = p.deliver({ seq: PEER_ISS, flags: SYN });
  assert.equal(sa.wscale, undefined);
  assert.equal(sa.sackPermitted, undefined);
  assert.equal(sa.tsVal, undefined);
  assert.equal(sa.mss, 1460);
});

function passive(p: RawPeer): { conn: TcpConnection; iss: number } {
  p.layer.listen(A, 80);
  const [sa] = p.deliver({ seq: PEER_ISS, flags: SYN });
  const conn = [...p.layer.connections()][0];
  return { conn, iss: sa.seq };
}

test("SynReceived + ACK -> Established (accept event)", () => {
  const p = new RawPeer();
  const { conn, iss } = passive(p);
  p.deliver({ seq: PEER_ISS + 1, ack: iss + 1, flags: ACK });
  assert.equal(conn.state, "Established");
  const evs = events(p);
  assert.equal(evs[0].type, "accept");
  assert.equal(p.layer.stats()["tcp.half-open"], 0);
});

test("SynReceived + retransmitted SYN -> SYN-ACK again", () => {
  const p = new RawPeer();
  const { iss } = passive(p);
  const out = p.deliver({ seq: PEER_ISS, flags: SYN });
  assert.equal(out[0].flags, SYN | ACK);
  assert.equal(out[0].seq, iss);
});

test("SynReceived + RST -> Closed (half-open slot freed, no event)", () => {
  const p = new RawPeer();
  const { conn } = passive(p);
  p.deliver({ seq: PEER_ISS + 1, flags: RST });
  assert.equal(conn.state, "Closed");
  assert.equal(p.layer.stats()["tcp.half-open"], 0);
  assert.equal(p.layer.stats()["tcp.connections"], 0);
});

test("SynReceived + bad ACK -> RST", () => {
  const p = new RawPeer();
  const { conn, iss } = passive(p);
  const out = p.deliver({ seq: PEER_ISS + 1, ack: iss + 50, flags: ACK });
  assert.equal(out[0].flags & RST, RST);
  assert.equal(out[0].seq, iss + 50);
  assert.equal(conn.state, "SynReceived");
});

test("Established + FIN -> CloseWait (EV_EOF); CloseWait + close -> LastAck + ACK -> Closed", () => {
  const p = new RawPeer();
  const { conn } = established(p);
  const out = p.deliver(from(conn, { flags: FIN | ACK }));
  assert.equal(conn.state, "CloseWait");
  assert.equal(out[0].ack, PEER_ISS + 2);
  assert.ok(flagsOf(events(p), conn) & EV_EOF);
  conn.close(p.now);
  const [fin] = p.drain();
  assert.equal(fin.flags & FIN, FIN);
  assert.equal(conn.state, "LastAck");
  p.deliver(from(conn, { flags: ACK }));
  assert.equal(conn.state, "Closed");
  assert.equal(p.layer.stats()["tcp.connections"], 0);
});

test("Established + close -> FinWait1 + ACK -> FinWait2 + FIN -> TimeWait + 2·MSL -> Closed", () => {
  const p = new RawPeer();
  const { conn } = established(p);
  conn.close(p.now);
  const [fin] = p.drain();
  assert.equal(fin.flags, FIN | ACK);
  assert.equal(conn.state, "FinWait1");
  p.deliver(from(conn, { flags: ACK }));
  assert.equal(conn.state, "FinWait2");
  // half-close: FIN-WAIT-2 still receives data
  p.deliver(from(conn, { flags: ACK | PSH, payload: new Uint8Array([1, 2, 3]) }));
  assert.equal(conn.readable, 3);
  const out = p.deliver(from(conn, { flags: FIN | ACK }));
  assert.equal(conn.state, "TimeWait");
  assert.equal(out.at(-1)!.flags, ACK);
  p.advance(59_999);
  assert.equal(conn.state, "TimeWait");
  p.advance(1);
  assert.equal(conn.state, "Closed");
});

test("FinWait1 + FIN -> Closing + ACK -> TimeWait (simultaneous close)", () => {
  const p = new RawPeer();
  const { conn } = established(p);
  conn.close(p.now);
  const [fin] = p.drain();
  // the peer's FIN crosses ours: it does not acknowledge our FIN
  const out = p.deliver(from(conn, { ack: fin.seq, flags: FIN | ACK }));
  assert.equal(conn.state, "Closing");
  assert.equal(out[0].ack, PEER_ISS + 2);
  p.deliver(from(conn, { ack: fin.seq + 1, flags: ACK }));
  assert.equal(conn.state, "TimeWait");
});

test("FinWait1 + FIN,ACK of our FIN -> TimeWait", () => {
  const p = new RawPeer();
  const { conn } = established(p);
  conn.close(p.now);
  p.drain();
  p.deliver(from(conn, { flags: FIN | ACK }));
  assert.equal(conn.state, "TimeWait");
});

test("TimeWait + retransmitted FIN -> ACK and 2·MSL restarts", () => {
  const p = new RawPeer();
  const { conn } = established(p);
  conn.close(p.now);
  p.drain();
  p.deliver(from(conn, { flags: FIN | ACK }));
  p.advance(30_000);
  const out = p.deliver({ srcPort: 80, dstPort: 4000, seq: PEER_ISS + 1, ack: conn.sndNxt, flags: FIN | ACK });
  assert.equal(out[0].flags, ACK);
  p.advance(59_000);
  assert.equal(conn.state, "TimeWait");
  p.advance(1_000);
  assert.equal(conn.state, "Closed");
});

test("Established + RST at RCV.NXT -> Closed (ECONNRESET)", () => {
  const p = new RawPeer();
  const { conn } = established(p);
  p.deliver(from(conn, { flags: RST }));
  assert.equal(conn.state, "Closed");
  assert.equal(conn.error, "ECONNRESET");
});

test("Established + RST in window but not at RCV.NXT -> challenge ACK (RFC 5961 §3.2)", () => {
  const p = new RawPeer();
  const { conn } = established(p);
  const out = p.deliver(from(conn, { seq: conn.rcvNxt + 100, flags: RST }));
  assert.equal(conn.state, "Established");
  assert.equal(out.length, 1);
  assert.equal(out[0].flags, ACK);
  assert.equal(out[0].ack, conn.rcvNxt);
  assert.equal(p.layer.stats()["tcp.challenge-ack-sent"], 1);
});

test("Established + RST out of window -> dropped silently", () => {
  const p = new RawPeer();
  const { conn } = established(p);
  const out = p.deliver(from(conn, { seq: conn.rcvNxt + 10_000_000, flags: RST }));
  assert.equal(out.length, 0);
  assert.equal(conn.state, "Established");
  assert.equal(p.layer.stats()["tcp.drop.rst-out-of-window"], 1);
});

test("Established + SYN -> challenge ACK (RFC 5961 §4), rate-limited per second", () => {
  const p = new RawPeer(A, B, { limits: { challengeAcksPerSecond: 5 } });
  const { conn } = established(p);
  let acks = 0;
  for (let i = 0; i < 8; i++) acks += p.deliver(from(conn, { flags: SYN })).length;
  assert.equal(conn.state, "Established");
  assert.equal(acks, 5);
  assert.equal(p.layer.stats()["tcp.challenge-ack-limited"], 3);
  p.advance(1000);
  assert.equal(p.deliver(from(conn, { flags: SYN })).length, 1, "a new second, a new budget");
});

test("Established + ACK for unsent data -> ACK, dropped (RFC 9293 §3.10.7.4)", () => {
  const p = new RawPeer();
  const { conn } = established(p);
  const out = p.deliver(from(conn, { ack: conn.sndNxt + 5000, flags: ACK, payload: new Uint8Array([9]) }));
  assert.equal(out[0].flags, ACK);
  assert.equal(conn.readable, 0);
});

test("Established + old segment -> duplicate ACK", () => {
  const p = new RawPeer();
  const { conn } = established(p);
  const out = p.deliver(from(conn, { seq: conn.rcvNxt - 100, flags: ACK, payload: new Uint8Array(10) }));
  assert.equal(out[0].ack, conn.rcvNxt);
  assert.equal(conn.readable, 0);
});

test("no connection: ACK -> RST <SEQ=SEG.ACK>; SYN with no listener -> RST,ACK", () => {
  const p = new RawPeer();
  const [r1] = p.deliver({ seq: 5, ack: 777, flags: ACK });
  assert.equal(r1.flags, RST);
  assert.equal(r1.seq, 777);
  const [r2] = p.deliver({ seq: 5, flags: SYN });
  assert.equal(r2.flags, RST | ACK);
  assert.equal(r2.ack, 6);
  assert.equal(p.deliver({ seq: 5, flags: RST }).length, 0, "never RST a RST");
});

test("Listen: half-open cap drops SYNs beyond it; backlog full drops SYNs too", () => {
  const p = new RawPeer(A, B, { limits: { maxHalfOpenPerListener: 2 } });
  const l = p.layer.listen(A, 80, 1);
  let synacks = 0;
  for (let i = 0; i < 4; i++) synacks += p.deliver({ srcPort: 6000 + i, seq: 100, flags: SYN }).length;
  assert.equal(synacks, 2);
  assert.equal(p.layer.stats()["tcp.drop.syn-queue-full"], 2);
  // complete one handshake: the accept queue (backlog 1) is then full
  const c = [...p.layer.connections()][0];
  p.deliver({ srcPort: c.remotePort, seq: 101, ack: c.iss + 1, flags: ACK });
  assert.equal(l.pendingAccept, 1);
  assert.equal(p.deliver({ srcPort: 7000, seq: 100, flags: SYN }).length, 0);
  assert.equal(p.layer.stats()["tcp.drop.listen-overflow"], 1);
  // taking the connection frees the slot
  assert.equal(p.layer.pollEvent()?.type, "accept");
  assert.equal(p.deliver({ srcPort: 7001, seq: 100, flags: SYN }).length, 1);
});

test("TIME-WAIT + new SYN with a higher sequence -> reopened (RFC 6191-style reuse)", () => {
  const p = new RawPeer();
  p.layer.listen(A, 80);
  const [sa] = p.deliver({ srcPort: 5000, seq: PEER_ISS, flags: SYN });
  p.deliver({ srcPort: 5000, seq: PEER_ISS + 1, ack: sa.seq + 1, flags: ACK });
  const conn = [...p.layer.connections()][0];
  p.deliver({ srcPort: 5000, seq: PEER_ISS + 1, ack: sa.seq + 1, flags: FIN | ACK });
  conn.close(p.now);
  const [fin] = p.drain();
  p.deliver({ srcPort: 5000, seq: PEER_ISS + 2, ack: fin.seq + 1, flags: ACK });
  assert.equal(conn.state, "Closed", "passive closer goes LAST-ACK -> CLOSED");
  // the active closer side: make our own connection go to TIME-WAIT
  const q = new RawPeer();
  const { conn: c2 } = established(q);
  c2.close(q.now);
  q.drain();
  q.deliver(from(c2, { flags: FIN | ACK }));
  assert.equal(c2.state, "TimeWait");
  q.layer.listen(A, 4000);
  const out = q.deliver({ srcPort: 80, dstPort: 4000, seq: PEER_ISS + 50_000, flags: SYN });
  assert.equal(out[0].flags, SYN | ACK);
  assert.equal(q.layer.stats()["tcp.timewait-reuse"], 1);
});

test("connect timeout -> ETIMEDOUT at the deadline", () => {
  const p = new RawPeer();
  const { conn } = synSent(p, { timeoutMs: 2500 });
  p.advance(2499);
  assert.equal(conn.state, "SynSent");
  p.advance(1);
  assert.equal(conn.error, "ETIMEDOUT");
});

test("ICMP port unreachable for our SYN -> ECONNREFUSED; host unreachable -> EHOSTUNREACH", () => {
  for (const [code, want] of [[3, "ECONNREFUSED"], [1, "EHOSTUNREACH"], [0, "ENETUNREACH"]] as const) {
    const p = new RawPeer();
    const { conn, syn } = synSent(p);
    const q = new Uint8Array(8);
    new DataView(q.buffer).setUint16(0, 4000);
    new DataView(q.buffer).setUint16(2, 80);
    new DataView(q.buffer).setUint32(4, syn.seq);
    p.layer.icmpError({ kind: "unreachable", code, src: A, dst: B, quoted: q }, p.now);
    assert.equal(conn.error, want);
  }
});
