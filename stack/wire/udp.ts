/**
 * UDP codec (RFC 768): `UdpPacket` view over borrowed bytes and `UdpRepr`
 * value. The checksum covers the IPv4 pseudo-header; a received checksum of
 * zero means "none" and is accepted; a computed checksum of zero is sent as
 * 0xffff (RFC 768, "Fields").
 */
import type { Ip4 } from "../util/addr.js";
import { finish, pseudoHeaderSum, sumWords } from "./checksum.js";
import { IpProto } from "./ipv4.js";

/** RFC 768: the header is 8 bytes. */
export const UDP_HEADER_LEN = 8;

export type UdpDropReason = "udp-truncated" | "udp-bad-length" | "udp-bad-checksum";

export class UdpPacket {
  constructor(readonly buf: Uint8Array) {}

  /** Validate length and (unless zero) the checksum against the pseudo-header. */
  check(src: Ip4, dst: Ip4): UdpDropReason | undefined {
    const b = this.buf;
    if (b.length < UDP_HEADER_LEN) return "udp-truncated";
    const len = this.length;
    if (len < UDP_HEADER_LEN || len > b.length) return "udp-bad-length";
    if (this.checksum !== 0) {
      const sum = sumWords(b.subarray(0, len), pseudoHeaderSum(src, dst, IpProto.UDP, len));
      if (finish(sum) !== 0) return "udp-bad-checksum";
    }
    return undefined;
  }
  get srcPort(): number {
    return (this.buf[0] << 8) | this.buf[1];
  }
  get dstPort(): number {
    return (this.buf[2] << 8) | this.buf[3];
  }
  /** The UDP Length field (header + data). */
  get length(): number {
    return (this.buf[4] << 8) | this.buf[5];
  }
  get checksum(): number {
    return (this.buf[6] << 8) | this.buf[7];
  }
  get payload(): Uint8Array {
    return this.buf.subarray(UDP_HEADER_LEN, this.length);
  }
}

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export function parseUdp(
  buf: Uint8Array,
  src: Ip4,
  dst: Ip4,
): { ok: true; value: UdpRepr } | { ok: false; reason: UdpDropReason } {
  const p = new UdpPacket(buf);
  const reason = p.check(src, dst);
  if (reason) return { ok: false, reason };
  return { ok: true, value: { srcPort: p.srcPort, dstPort: p.dstPort, payload: p.payload } };
}

/**
 * Write header + payload at `buf[off..)`. When `payloadInPlace` is true the
 * payload bytes are already at `off + 8` (headroom style) and are not copied.
 */
export function emitUdp(repr: UdpRepr, buf: Uint8Array, src: Ip4, dst: Ip4, off = 0, payloadInPlace = false): number {
  const len = UDP_HEADER_LEN + repr.payload.length;
  if (len > 0xffff) throw new RangeError(`UDP datagram too long: ${len}`);
  const m = buf.subarray(off, off + len);
  m[0] = repr.srcPort >> 8;
  m[1] = repr.srcPort & 0xff;
  m[2] = repr.dstPort >> 8;
  m[3] = repr.dstPort & 0xff;
  m[4] = len >> 8;
  m[5] = len & 0xff;
  m[6] = 0;
  m[7] = 0;
  if (!payloadInPlace) m.set(repr.payload, UDP_HEADER_LEN);
  let c = finish(sumWords(m, pseudoHeaderSum(src, dst, IpProto.UDP, len)));
  if (c === 0) c = 0xffff;
  m[6] = c >> 8;
  m[7] = c & 0xff;
  return len;
}
