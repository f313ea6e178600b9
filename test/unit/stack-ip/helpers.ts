/** Small builders shared by the stack-ip tests. */
import { emitIpv4Header } from "../../../stack/wire/ipv4.js";
import { emitUdp } from "../../../stack/wire/udp.js";
import { emitIcmp, icmpLength, type IcmpRepr } from "../../../stack/wire/icmp.js";
import { parseIp4 } from "../../../stack/util/addr.js";

export const A = parseIp4("10.200.1.1")!;
export const B = parseIp4("10.200.1.2")!;
export const C = parseIp4("10.200.9.9")!;

export interface DgOpts {
  src?: number;
  dst?: number;
  protocol?: number;
  ttl?: number;
  ident?: number;
  df?: boolean;
  mf?: boolean;
  offset?: number;
}

export function datagram(payload: Uint8Array, o: DgOpts = {}): Uint8Array {
  const b = new Uint8Array(20 + payload.length);
  b.set(payload, 20);
  emitIpv4Header(
    {
      src: o.src ?? A,
      dst: o.dst ?? B,
      protocol: o.protocol ?? 17,
      ttl: o.ttl ?? 64,
      payloadLen: payload.length,
      ident: o.ident ?? 1,
      dontFragment: o.df ?? false,
      moreFragments: o.mf ?? false,
      fragmentOffset: o.offset ?? 0,
    },
    b,
  );
  return b;
}

export function udpSegment(src: number, dst: number, srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(8 + payload.length);
  emitUdp({ srcPort, dstPort, payload }, b, src, dst);
  return b;
}

export function udpDatagram(src: number, dst: number, srcPort: number, dstPort: number, payload: Uint8Array, o: DgOpts = {}): Uint8Array {
  return datagram(udpSegment(src, dst, srcPort, dstPort, payload), { ...o, src, dst, protocol: 17 });
}

export function icmpDatagram(src: number, dst: number, repr: IcmpRepr, o: DgOpts = {}): Uint8Array {
  const m = new Uint8Array(icmpLength(repr));
  emitIcmp(repr, m);
  return datagram(m, { ...o, src, dst, protocol: 1 });
}

/** Split an already-built datagram's payload into fragments of `size` bytes (multiple of 8). */
export function fragment(payload: Uint8Array, size: number, o: DgOpts = {}): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += size) {
    const end = Math.min(payload.length, off + size);
    out.push(datagram(payload.subarray(off, end), { ...o, offset: off, mf: end < payload.length }));
  }
  return out;
}

export function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}
