/**
 * IPv4 header codec (RFC 791), smoltcp style: `Ipv4Packet` is a view over
 * borrowed bytes with `check()` and accessors; `Ipv4Repr` is the small
 * validated value that `parseIpv4` returns and `emitIpv4Header` writes.
 * Sits at the bottom of stack/: the IP layer (stack/ip) is its only user.
 * Options are skipped (never interpreted); malformed input yields a reason
 * string, never an exception.
 */
import { readIp4, writeIp4, type Ip4 } from "../util/addr.js";
import { internetChecksum } from "./checksum.js";

/** RFC 791 §3.1: a header without options is 5 words. */
export const IPV4_HEADER_LEN = 20;
/** RFC 791 §3.1: Total Length is 16 bits. */
export const IPV4_MAX_LEN = 65535;
/** RFC 1700 / RFC 1122 §3.2.1.7: recommended default TTL. */
export const IPV4_DEFAULT_TTL = 64;

/** RFC 790 assigned protocol numbers that the stack knows. */
export const IpProto = { ICMP: 1, TCP: 6, UDP: 17 } as const;

/** RFC 791 §3.1 flags, in the 16-bit flags+offset word. */
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const OFFSET_MASK = 0x1fff;

export type Ipv4DropReason =
  | "ip-truncated"
  | "ip-bad-version"
  | "ip-bad-ihl"
  | "ip-bad-total-length"
  | "ip-bad-checksum";

/** A view over one IPv4 datagram. Accessors assume `check()` returned undefined. */
export class Ipv4Packet {
  constructor(readonly buf: Uint8Array) {}

  /** Validate structure and header checksum; undefined when sound. */
  check(verifyChecksum = true): Ipv4DropReason | undefined {
    const b = this.buf;
    if (b.length < IPV4_HEADER_LEN) return "ip-truncated";
    if (b[0] >> 4 !== 4) return "ip-bad-version";
    const hl = (b[0] & 0x0f) * 4;
    if (hl < IPV4_HEADER_LEN) return "ip-bad-ihl";
    if (hl > b.length) return "ip-truncated";
    const total = this.totalLength;
    if (total < hl) return "ip-bad-total-length";
    if (total > b.length) return "ip-bad-total-length";
    if (verifyChecksum && internetChecksum(b.subarray(0, hl)) !== 0) return "ip-bad-checksum";
    return undefined;
  }

  get version(): number {
    return this.buf[0] >> 4;
  }
  /** Header length in bytes (IHL × 4). */
  get headerLength(): number {
    return (this.buf[0] & 0x0f) * 4;
  }
  get tos(): number {
    return this.buf[1];
  }
  get totalLength(): number {
    return (this.buf[2] << 8) | this.buf[3];
  }
  get ident(): number {
    return (this.buf[4] << 8) | this.buf[5];
  }
  private get flagsOffset(): number {
    return (this.buf[6] << 8) | this.buf[7];
  }
  get dontFragment(): boolean {
    return (this.flagsOffset & FLAG_DF) !== 0;
  }
  get moreFragments(): boolean {
    return (this.flagsOffset & FLAG_MF) !== 0;
  }
  /** Fragment offset in bytes (the field counts 8-byte units). */
  get fragmentOffset(): number {
    return (this.flagsOffset & OFFSET_MASK) * 8;
  }
  /** True when this datagram is a fragment (MF set or offset non-zero). */
  get isFragment(): boolean {
    return (this.flagsOffset & (FLAG_MF | OFFSET_MASK)) !== 0;
  }
  get ttl(): number {
    return this.buf[8];
  }
  get protocol(): number {
    return this.buf[9];
  }
  get checksum(): number {
    return (this.buf[10] << 8) | this.buf[11];
  }
  get src(): Ip4 {
    return readIp4(this.buf, 12);
  }
  get dst(): Ip4 {
    return readIp4(this.buf, 16);
  }
  /** The header including options. */
  get header(): Uint8Array {
    return this.buf.subarray(0, this.headerLength);
  }
  /** The payload, bounded by Total Length (link padding is cut off). */
  get payload(): Uint8Array {
    return this.buf.subarray(this.headerLength, this.totalLength);
  }
}

/** The fields of an IPv4 header that the stack reads or writes. */
export interface Ipv4Repr {
  src: Ip4;
  dst: Ip4;
  protocol: number;
  ttl: number;
  /** Payload length in bytes (Total Length minus header). */
  payloadLen: number;
  ident: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In bytes; a multiple of 8. */
  fragmentOffset: number;
  tos?: number;
}

export type ParseResult<T, R extends string> =
  | { ok: true; value: T }
  | { ok: false; reason: R };

/** Parse and validate; on success returns the repr and the payload view. */
export function parseIpv4(
  buf: Uint8Array,
): ParseResult<{ repr: Ipv4Repr; payload: Uint8Array; packet: Ipv4Packet }, Ipv4DropReason> {
  const p = new Ipv4Packet(buf);
  const reason = p.check();
  if (reason) return { ok: false, reason };
  const payload = p.payload;
  return {
    ok: true,
    value: {
      packet: p,
      payload,
      repr: {
        src: p.src,
        dst: p.dst,
        protocol: p.protocol,
        ttl: p.ttl,
        payloadLen: payload.length,
        ident: p.ident,
        dontFragment: p.dontFragment,
        moreFragments: p.moreFragments,
        fragmentOffset: p.fragmentOffset,
        tos: p.tos,
      },
    },
  };
}

/** Write a 20-byte header (no options) at `buf[off..off+20)`, checksum included. */
export function emitIpv4Header(repr: Ipv4Repr, buf: Uint8Array, off = 0): void {
  const total = IPV4_HEADER_LEN + repr.payloadLen;
  if (total > IPV4_MAX_LEN) throw new RangeError(`IPv4 datagram too long: ${total}`);
  if (repr.fragmentOffset % 8 !== 0) throw new RangeError(`fragment offset ${repr.fragmentOffset} not a multiple of 8`);
  const h = buf.subarray(off, off + IPV4_HEADER_LEN);
  h[0] = 0x45;
  h[1] = repr.tos ?? 0;
  h[2] = total >> 8;
  h[3] = total & 0xff;
  h[4] = (repr.ident >> 8) & 0xff;
  h[5] = repr.ident & 0xff;
  const fo = (repr.dontFragment ? FLAG_DF : 0) | (repr.moreFragments ? FLAG_MF : 0) | (repr.fragmentOffset / 8);
  h[6] = fo >> 8;
  h[7] = fo & 0xff;
  h[8] = repr.ttl;
  h[9] = repr.protocol;
  h[10] = 0;
  h[11] = 0;
  writeIp4(h, 12, repr.src);
  writeIp4(h, 16, repr.dst);
  const c = internetChecksum(h);
  h[10] = c >> 8;
  h[11] = c & 0xff;
}
