/**
 * Helpers for originating ICMP errors (RFC 792, RFC 1122 §3.2.2,
 * RFC 1812 §4.3.2): which datagrams may be answered with an error, and how
 * much of the offending datagram to quote.
 */
import { readIp4 } from "../util/addr.js";
import { IcmpType } from "../wire/icmp.js";
import { IpProto, Ipv4Packet } from "../wire/ipv4.js";

/** RFC 1812 §4.3.2.3: an ICMP error SHOULD NOT exceed 576 bytes. */
export const ICMP_ERROR_MAX_DATAGRAM = 576;
/** 576 − IP header (20) − ICMP header (8): the most of the original we quote. */
export const ICMP_QUOTE_MAX = ICMP_ERROR_MAX_DATAGRAM - 20 - 8;

/**
 * RFC 1122 §3.2.2: never send an ICMP error about an ICMP error, a
 * datagram to a broadcast/multicast address, a non-initial fragment, or a
 * datagram whose source is not a unique host (0/8, 127/8 is fine on a
 * link, broadcast, multicast, class E). Returns a reason when forbidden.
 */
export function icmpErrorForbidden(original: Uint8Array): string | undefined {
  const p = new Ipv4Packet(original);
  // The original may be cut short (a quote of a fragment): only its header must be whole.
  if (original.length < 20 || p.version !== 4 || p.headerLength < 20 || p.headerLength > original.length) return "malformed";
  if (p.fragmentOffset !== 0) return "non-initial-fragment";
  const dst = p.dst;
  const src = p.src;
  if (dst === 0xffffffff || dst >>> 28 === 0xe) return "to-broadcast-or-multicast";
  if (src === 0 || src === 0xffffffff || src >>> 28 === 0xe || src >>> 28 === 0xf) return "bad-source";
  if (p.protocol === IpProto.ICMP) {
    const t = original[p.headerLength];
    // Only echo and other queries may be answered with an error.
    if (t !== IcmpType.ECHO_REQUEST && t !== IcmpType.ECHO_REPLY && t !== undefined && t !== 13 && t !== 15 && t !== 17)
      return "about-icmp-error";
  }
  return undefined;
}

/** The quoted part of the original: its IP header and as much data as fits in 576 bytes. */
export function quoteOriginal(original: Uint8Array): Uint8Array {
  const p = new Ipv4Packet(original);
  const total = Math.min(p.totalLength || original.length, original.length);
  return original.subarray(0, Math.min(total, ICMP_QUOTE_MAX));
}

/** From a quoted datagram: its addresses, protocol and transport header, when at least 8 bytes of it are there. */
export function readQuoted(quoted: Uint8Array):
  | { src: number; dst: number; protocol: number; transport: Uint8Array }
  | undefined {
  if (quoted.length < 20 || quoted[0] >> 4 !== 4) return undefined;
  const hl = (quoted[0] & 0x0f) * 4;
  if (hl < 20 || quoted.length < hl + 8) return undefined;
  return { src: readIp4(quoted, 12), dst: readIp4(quoted, 16), protocol: quoted[9], transport: quoted.subarray(hl) };
}
