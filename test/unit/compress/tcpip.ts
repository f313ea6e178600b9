/**
 * Test helper: builds IPv4/TCP (and other) datagrams with correct IP and
 * TCP checksums, and a seeded generator of realistic TCP conversations
 * (bulk data, interactive echo, pure ACKs, window updates, retransmits,
 * option changes, SYN/FIN/RST, URG, IP options, fragments, UDP) for the VJ
 * and Deflate tests.
 */
import { SeededRng } from "../../../stack/util/rng.js";
import { finish, internetChecksum, pseudoHeaderSum, sumWords } from "../../../stack/wire/checksum.js";

export interface TcpSpec {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  urp?: number;
  id: number;
  ttl?: number;
  tos?: number;
  df?: boolean;
  fragOff?: number;
  ipOptions?: Uint8Array;
  tcpOptions?: Uint8Array;
  payload?: Uint8Array;
}

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;

export function tcpPacket(s: TcpSpec): Uint8Array {
  const ipo = s.ipOptions ?? new Uint8Array(0);
  const tco = s.tcpOptions ?? new Uint8Array(0);
  const data = s.payload ?? new Uint8Array(0);
  const ihl = 5 + ipo.length / 4;
  const doff = 5 + tco.length / 4;
  const len = ihl * 4 + doff * 4 + data.length;
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  b[0] = 0x40 | ihl;
  b[1] = s.tos ?? 0;
  v.setUint16(2, len);
  v.setUint16(4, s.id & 0xffff);
  v.setUint16(6, (s.df ?? true ? 0x4000 : 0) | (s.fragOff ?? 0));
  b[8] = s.ttl ?? 64;
  b[9] = 6;
  v.setUint32(12, s.src >>> 0);
  v.setUint32(16, s.dst >>> 0);
  b.set(ipo, 20);
  v.setUint16(10, internetChecksum(b.subarray(0, ihl * 4)));
  const t = ihl * 4;
  v.setUint16(t, s.sport);
  v.setUint16(t + 2, s.dport);
  v.setUint32(t + 4, s.seq >>> 0);
  v.setUint32(t + 8, s.ack >>> 0);
  b[t + 12] = doff << 4;
  b[t + 13] = s.flags;
  v.setUint16(t + 14, s.win & 0xffff);
  v.setUint16(t + 18, s.urp ?? 0);
  b.set(tco, t + 20);
  b.set(data, t + doff * 4);
  const tl = len - t;
  v.setUint16(t + 16, finish(sumWords(b.subarray(t), pseudoHeaderSum(s.src, s.dst, 6, tl))));
  return b;
}

export function udpPacket(src: number, dst: number, id: number, payload: Uint8Array): Uint8Array {
  const len = 28 + payload.length;
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  b[0] = 0x45;
  v.setUint16(2, len);
  v.setUint16(4, id);
  b[8] = 64;
  b[9] = 17;
  v.setUint32(12, src);
  v.setUint32(16, dst);
  v.setUint16(10, internetChecksum(b.subarray(0, 20)));
  v.setUint16(20, 5353);
  v.setUint16(22, 53);
  v.setUint16(24, 8 + payload.length);
  b.set(payload, 28);
  return b;
}

interface Conn {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  win: number;
  id: number;
  ttl: number;
  ts: number;
  useTs: boolean;
  lastLen: number;
  urp: number;
}

function tsOption(ts: number): Uint8Array {
  const o = new Uint8Array(12);
  o[0] = 1;
  o[1] = 1;
  o[2] = 8;
  o[3] = 10;
  new DataView(o.buffer).setUint32(4, ts >>> 0);
  new DataView(o.buffer).setUint32(8, (ts * 7) >>> 0);
  return o;
}

/**
 * A seeded stream of datagrams over `nConns` interleaved TCP connections
 * (plus some UDP and odd packets), mixing the cases RFC 1144 treats.
 */
export function* trafficStream(rng: SeededRng, count: number, nConns: number, opts: { urg?: boolean } = {}): Generator<Uint8Array> {
  const conns: Conn[] = [];
  for (let i = 0; i < nConns; i++) {
    conns.push({
      src: (0x0a000001 + i) >>> 0, dst: 0xc0a80001 + (i % 3), sport: 1024 + rng.below(60000), dport: [22, 80, 443, 23][i % 4],
      seq: rng.u32(), ack: rng.u32(), win: 1000 + rng.below(64000), id: rng.below(65536), ttl: 64, ts: rng.u32(),
      useTs: rng.below(2) === 0, lastLen: 0, urp: 0,
    });
  }
  let cur = 0;
  for (let n = 0; n < count; n++) {
    // Mostly stick to one connection for a while, sometimes switch (interleaving).
    if (rng.below(4) === 0) cur = rng.below(nConns);
    const c = conns[cur];
    const r = rng.below(100);
    const payloadLen = r < 45 ? 1 + rng.below(1400) : r < 60 ? 1 + rng.below(8) : 0;
    const payload = rng.fill(new Uint8Array(payloadLen));
    let flags = ACK;
    let seq = c.seq;
    let ack = c.ack;
    let id = c.id + 1;
    let win = c.win;
    let urp = c.urp;
    let ttl = c.ttl;
    let ipOptions: Uint8Array | undefined;
    let fragOff = 0;
    const k = rng.below(100);
    if (k < 30) {
      // bulk data: seq advances by the previous length (SPECIAL_D candidates)
    } else if (k < 40) {
      ack = (ack + payloadLen) >>> 0; // echo-style
    } else if (k < 55) {
      ack = (ack + 1 + rng.below(3000)) >>> 0;
    } else if (k < 62) {
      win = (win + rng.below(2000) - 1000) & 0xffff;
    } else if (k < 66) {
      seq = (seq - rng.below(3000)) >>> 0; // retransmit
    } else if (k < 68) {
      ack = (ack + 70000 + rng.below(100000)) >>> 0; // big jump: uncompressible delta
    } else if (k < 70) {
      id = c.id + rng.below(65536); // IP ID jumps (incl. 0 and wrap)
    } else if (k < 72) {
      id = c.id; // same ID
    } else if (k < 74) {
      flags = ACK | FIN;
    } else if (k < 75) {
      flags = SYN;
    } else if (k < 76) {
      flags = RST | ACK;
    } else if (k < 77) {
      flags = PSH; // no ACK
    } else if (k < 79 && opts.urg !== false) {
      flags = ACK | URG;
      urp = 1 + rng.below(500);
    } else if (k < 80) {
      ttl = 32 + rng.below(100);
    } else if (k < 81) {
      ipOptions = Uint8Array.of(1, 1, 1, 1); // NOPs
    } else if (k < 82) {
      fragOff = 0x2000; // more fragments
    } else if (k < 84) {
      c.useTs = !c.useTs;
    } else if (k < 86) {
      yield udpPacket(0x0a0000fe, 0x08080808, rng.below(65536), rng.fill(new Uint8Array(rng.below(200))));
      continue;
    } else if (k < 87) {
      urp = (urp + 1) & 0xffff; // urgent pointer moves without URG
    }
    if (rng.below(3) === 0) flags |= PSH;
    if (k >= 40 && k < 55 && rng.below(2) === 0) seq = (c.seq + c.lastLen) >>> 0;
    if (k < 30) seq = (c.seq + c.lastLen) >>> 0;
    if (c.useTs && rng.below(2) === 0) c.ts = (c.ts + 1 + rng.below(10)) >>> 0;
    const pkt = tcpPacket({
      src: c.src, dst: c.dst, sport: c.sport, dport: c.dport, seq, ack, flags, win, urp, id, ttl,
      ipOptions, fragOff, tcpOptions: c.useTs ? tsOption(c.ts) : undefined, payload,
    });
    c.seq = seq;
    c.ack = ack;
    c.win = win;
    c.id = id & 0xffff;
    c.urp = flags & URG ? urp : c.urp;
    if (!(flags & URG) && urp !== c.urp) c.urp = urp;
    c.ttl = rng.below(10) === 0 ? 64 : ttl;
    c.lastLen = payloadLen;
    yield pkt;
  }
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}
