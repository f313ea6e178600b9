/**
 * Test helper for test/unit/pacing: IPv4 datagrams of the kinds the
 * transmit scheduler tells apart (bulk TCP, pure ACKs, keystrokes,
 * SYN/FIN, DNS over UDP, ICMP echo), with valid checksums, built on the
 * compress tests' tcpPacket.
 */
import { finish, internetChecksum, pseudoHeaderSum, sumWords } from "../../../stack/wire/checksum.js";
import { ACK, PSH, tcpPacket } from "../compress/tcpip.js";

export const CLIENT = 0xc0a80702; // 192.168.7.2
export const SERVER = 0xc0a80701; // 192.168.7.1

/** A TCP connection that numbers its segments: `data(n)` carries n bytes, `ack()` none. */
export class Conn {
  private seq = 1000;
  private id = 1;
  constructor(readonly sport: number, readonly dport = 80, readonly src = SERVER, readonly dst = CLIENT, private readonly fill = sport & 0xff) {}
  data(n: number, flags = ACK | PSH): Uint8Array {
    const payload = new Uint8Array(n);
    for (let i = 0; i < n; i++) payload[i] = (this.fill + this.seq + i) & 0xff;
    const p = tcpPacket({ src: this.src, dst: this.dst, sport: this.sport, dport: this.dport, seq: this.seq, ack: 1, flags, win: 64240, id: this.id++, payload });
    this.seq += n;
    return p;
  }
  ack(flags = ACK): Uint8Array {
    return tcpPacket({ src: this.src, dst: this.dst, sport: this.sport, dport: this.dport, seq: this.seq, ack: 1, flags, win: 64240, id: this.id++ });
  }
}

export function udp(src: number, dst: number, sport: number, dport: number, payload: Uint8Array, id = 1): Uint8Array {
  const len = 28 + payload.length;
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  b[0] = 0x45;
  v.setUint16(2, len);
  v.setUint16(4, id);
  b[8] = 64;
  b[9] = 17;
  v.setUint32(12, src >>> 0);
  v.setUint32(16, dst >>> 0);
  v.setUint16(10, internetChecksum(b.subarray(0, 20)));
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  v.setUint16(24, 8 + payload.length);
  b.set(payload, 28);
  v.setUint16(26, finish(sumWords(b.subarray(20), pseudoHeaderSum(src, dst, 17, 8 + payload.length))) || 0xffff);
  return b;
}

export function icmpEcho(src: number, dst: number, seq: number, size = 56): Uint8Array {
  const len = 28 + size;
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  b[0] = 0x45;
  v.setUint16(2, len);
  v.setUint16(4, 0x4000 + seq);
  b[8] = 64;
  b[9] = 1;
  v.setUint32(12, src >>> 0);
  v.setUint32(16, dst >>> 0);
  v.setUint16(10, internetChecksum(b.subarray(0, 20)));
  b[20] = 8;
  v.setUint16(24, 0x1234);
  v.setUint16(26, seq);
  for (let i = 0; i < size; i++) b[28 + i] = i & 0xff;
  v.setUint16(22, internetChecksum(b.subarray(20)));
  return b;
}

export const hex = (p: Uint8Array): string => Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString("hex");

/** The 5-tuple of an IPv4 TCP/UDP datagram as text (protocol only for others). */
export function flowOf(p: Uint8Array): string {
  const ihl = (p[0] & 0x0f) * 4;
  const proto = p[9];
  const addrs = `${hex(p.subarray(12, 16))}>${hex(p.subarray(16, 20))}/${proto}`;
  return proto === 6 || proto === 17 ? `${addrs}:${hex(p.subarray(ihl, ihl + 4))}` : addrs;
}
