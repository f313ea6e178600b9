/**
 * TCP header codec (RFC 9293 §3.1) for the userspace stack: a validated,
 * plain `TcpRepr` parsed from a segment and emitted back. Options handled:
 * EOL(0), NOP(1), MSS(2), window scale(3, RFC 7323), SACK-permitted(4) and
 * SACK blocks(5) (RFC 2018), timestamps(8, RFC 7323). Unknown options are
 * skipped. The checksum covers the IPv4 pseudo-header (stack/wire/checksum).
 *
 * Malformed input is never thrown: `parseTcp` returns `{ reason }`.
 * Sits below stack/tcp; knows nothing of connections.
 */
import { finish, pseudoHeaderSum, sumWords } from "./checksum.js";

/** IANA protocol number for TCP. */
export const IPPROTO_TCP = 6;
/** RFC 9293 §3.1: the fixed header, 5 words. */
export const TCP_HEADER_LEN = 20;
/** RFC 9293 §3.1: data offset is 4 bits of 32-bit words → at most 60 bytes. */
export const TCP_MAX_HEADER_LEN = 60;

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;
export const ECE = 0x40;
export const CWR = 0x80;

export const OPT_EOL = 0;
export const OPT_NOP = 1;
export const OPT_MSS = 2;
export const OPT_WSCALE = 3;
export const OPT_SACK_PERMITTED = 4;
export const OPT_SACK = 5;
export const OPT_TIMESTAMPS = 8;

/** RFC 7323 §2.3: the shift count is at most 14. */
export const MAX_WSCALE = 14;

/** A SACK block (RFC 2018 §3): [left, right) sequence numbers. */
export interface SackBlock {
  left: number;
  right: number;
}

/** A parsed (or to-be-emitted) TCP segment. Sequence numbers are uint32. */
export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Flag bits (FIN|SYN|RST|PSH|ACK|URG|ECE|CWR). */
  flags: number;
  /** The raw 16-bit window field (not yet scaled). */
  window: number;
  urgent: number;
  mss?: number;
  /** Window-scale shift count, clamped to MAX_WSCALE on parse. */
  wscale?: number;
  sackPermitted?: boolean;
  sack?: SackBlock[];
  tsVal?: number;
  tsEcr?: number;
  payload: Uint8Array;
}

export type TcpParseResult = { repr: TcpRepr; reason?: undefined } | { repr?: undefined; reason: string };

/**
 * Parse one TCP segment. With `checksum` set, the RFC 1071 checksum over the
 * pseudo-header (src, dst) must verify.
 */
export function parseTcp(seg: Uint8Array, src: number, dst: number, checksum = true): TcpParseResult {
  if (seg.length < TCP_HEADER_LEN) return { reason: "too-short" };
  const off = (seg[12] >>> 4) * 4;
  if (off < TCP_HEADER_LEN) return { reason: "bad-data-offset" };
  if (off > seg.length) return { reason: "header-truncated" };
  if (checksum && tcpChecksum(seg, src, dst) !== 0) return { reason: "bad-checksum" };
  const repr: TcpRepr = {
    srcPort: (seg[0] << 8) | seg[1],
    dstPort: (seg[2] << 8) | seg[3],
    seq: ((seg[4] << 24) | (seg[5] << 16) | (seg[6] << 8) | seg[7]) >>> 0,
    ack: ((seg[8] << 24) | (seg[9] << 16) | (seg[10] << 8) | seg[11]) >>> 0,
    flags: seg[13],
    window: (seg[14] << 8) | seg[15],
    urgent: (seg[18] << 8) | seg[19],
    payload: seg.subarray(off),
  };
  if (off > TCP_HEADER_LEN) {
    const bad = parseOptions(seg, TCP_HEADER_LEN, off, repr);
    if (bad) return { reason: bad };
  }
  return { repr };
}

function parseOptions(b: Uint8Array, i: number, end: number, r: TcpRepr): string | undefined {
  while (i < end) {
    const kind = b[i];
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return "option-truncated";
    const len = b[i + 1];
    if (len < 2 || i + len > end) return "bad-option-length";
    switch (kind) {
      case OPT_MSS:
        if (len !== 4) return "bad-mss-length";
        r.mss = (b[i + 2] << 8) | b[i + 3];
        break;
      case OPT_WSCALE:
        if (len !== 3) return "bad-wscale-length";
        // RFC 7323 §2.3: a shift above 14 is treated as 14.
        r.wscale = Math.min(b[i + 2], MAX_WSCALE);
        break;
      case OPT_SACK_PERMITTED:
        if (len !== 2) return "bad-sack-permitted-length";
        r.sackPermitted = true;
        break;
      case OPT_SACK: {
        if ((len - 2) % 8 !== 0 || len < 10) return "bad-sack-length";
        const blocks: SackBlock[] = [];
        for (let j = i + 2; j < i + len; j += 8) {
          blocks.push({ left: readU32(b, j), right: readU32(b, j + 4) });
        }
        r.sack = blocks;
        break;
      }
      case OPT_TIMESTAMPS:
        if (len !== 10) return "bad-timestamps-length";
        r.tsVal = readU32(b, i + 2);
        r.tsEcr = readU32(b, i + 6);
        break;
      default:
        break; // RFC 9293 §3.2: unknown options are ignored
    }
    i += len;
  }
  return undefined;
}

/** Bytes of options `repr` will carry, padded to a 4-byte boundary. */
export function tcpOptionsLength(r: TcpRepr): number {
  // Lengths as `writeTcpHeader` lays them out, NOP padding included.
  let n = 0;
  if (r.mss !== undefined) n += 4;
  if (r.sackPermitted || r.tsVal !== undefined) n += (r.sackPermitted ? 2 : 0) + (r.tsVal !== undefined ? 10 : 0);
  if (!!r.sackPermitted !== (r.tsVal !== undefined)) n += 2; // NOP NOP before a lone SACK-permitted or timestamps
  if (r.wscale !== undefined) n += 4;
  if (r.sack && r.sack.length) n += 4 + 8 * r.sack.length;
  return (n + 3) & ~3;
}

export function tcpHeaderLength(r: TcpRepr): number {
  return TCP_HEADER_LEN + tcpOptionsLength(r);
}

/**
 * Write the header (with options, NOP-padded the way Linux lays them out) at
 * the start of `buf`; returns the header length. The checksum field is zeroed;
 * call `fillTcpChecksum` once the payload is in place.
 */
export function writeTcpHeader(buf: Uint8Array, r: TcpRepr): number {
  const hlen = tcpHeaderLength(r);
  buf[0] = r.srcPort >>> 8;
  buf[1] = r.srcPort & 0xff;
  buf[2] = r.dstPort >>> 8;
  buf[3] = r.dstPort & 0xff;
  writeU32(buf, 4, r.seq);
  writeU32(buf, 8, r.ack);
  buf[12] = (hlen / 4) << 4;
  buf[13] = r.flags & 0xff;
  buf[14] = (r.window >>> 8) & 0xff;
  buf[15] = r.window & 0xff;
  buf[16] = 0;
  buf[17] = 0;
  buf[18] = r.urgent >>> 8;
  buf[19] = r.urgent & 0xff;
  let i = TCP_HEADER_LEN;
  if (r.mss !== undefined) {
    buf[i++] = OPT_MSS;
    buf[i++] = 4;
    buf[i++] = r.mss >>> 8;
    buf[i++] = r.mss & 0xff;
  }
  if (r.sackPermitted && r.tsVal !== undefined) {
    buf[i++] = OPT_SACK_PERMITTED;
    buf[i++] = 2;
  } else if (r.sackPermitted) {
    buf[i++] = OPT_NOP;
    buf[i++] = OPT_NOP;
    buf[i++] = OPT_SACK_PERMITTED;
    buf[i++] = 2;
  }
  if (r.tsVal !== undefined) {
    if (!r.sackPermitted) {
      buf[i++] = OPT_NOP;
      buf[i++] = OPT_NOP;
    }
    buf[i++] = OPT_TIMESTAMPS;
    buf[i++] = 10;
    writeU32(buf, i, r.tsVal);
    writeU32(buf, i + 4, r.tsEcr ?? 0);
    i += 8;
  }
  if (r.wscale !== undefined) {
    buf[i++] = OPT_NOP;
    buf[i++] = OPT_WSCALE;
    buf[i++] = 3;
    buf[i++] = r.wscale;
  }
  if (r.sack && r.sack.length) {
    buf[i++] = OPT_NOP;
    buf[i++] = OPT_NOP;
    buf[i++] = OPT_SACK;
    buf[i++] = 2 + 8 * r.sack.length;
    for (const b of r.sack) {
      writeU32(buf, i, b.left);
      writeU32(buf, i + 4, b.right);
      i += 8;
    }
  }
  while (i < hlen) buf[i++] = OPT_EOL;
  return hlen;
}

/** The checksum over pseudo-header + segment; 0 when a received segment verifies. */
export function tcpChecksum(seg: Uint8Array, src: number, dst: number): number {
  return finish(sumFast(seg, pseudoHeaderSum(src, dst, IPPROTO_TCP, seg.length)));
}

/** Compute and store the checksum of a complete segment (header + payload). */
export function fillTcpChecksum(seg: Uint8Array, src: number, dst: number): void {
  seg[16] = 0;
  seg[17] = 0;
  const c = tcpChecksum(seg, src, dst);
  seg[16] = c >>> 8;
  seg[17] = c & 0xff;
}

/** Build a whole segment: header, options and a copy of `r.payload`, checksummed. */
export function emitTcp(r: TcpRepr, src: number, dst: number): Uint8Array {
  const hlen = tcpHeaderLength(r);
  const seg = new Uint8Array(hlen + r.payload.length);
  writeTcpHeader(seg, r);
  seg.set(r.payload, hlen);
  fillTcpChecksum(seg, src, dst);
  return seg;
}

/**
 * RFC 1071 partial sum, 32 bits at a time where the buffer is aligned; the
 * same value as `sumWords` (the carries fold identically), just fewer steps.
 */
function sumFast(data: Uint8Array, initial: number): number {
  const n = data.length;
  if (n < 64 || (data.byteOffset & 3) !== 0) return sumWords(data, initial);
  const words = n >>> 2;
  const u32 = new Uint32Array(data.buffer, data.byteOffset, words);
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < words; i++) {
    const w = u32[i];
    lo += w & 0xffff;
    hi += w >>> 16;
    if ((i & 0x3fff) === 0x3fff) {
      lo = (lo & 0xffff) + Math.floor(lo / 0x10000);
      hi = (hi & 0xffff) + Math.floor(hi / 0x10000);
    }
  }
  // Uint32Array reads are little-endian on every platform Node runs on: the
  // low half of each word holds bytes [0,1] swapped. Sum both halves, then
  // byte-swap the folded result back (RFC 1071 §2(B): byte-order independence).
  let s = lo + hi;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  s = ((s & 0xff) << 8) | (s >>> 8);
  let sum = initial + s;
  for (let i = words << 2; i < n; i += 2) {
    sum += i + 1 < n ? (data[i] << 8) | data[i + 1] : data[i] << 8;
  }
  return sum;
}

function readU32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = (v >>> 16) & 0xff;
  b[i + 2] = (v >>> 8) & 0xff;
  b[i + 3] = v & 0xff;
}

/** A one-line human summary, for traces: `S 1000:1000(0) ack 0 win 65535 <mss 1460,...>`. */
export function formatTcp(r: TcpRepr): string {
  let f = "";
  if (r.flags & SYN) f += "S";
  if (r.flags & FIN) f += "F";
  if (r.flags & RST) f += "R";
  if (r.flags & PSH) f += "P";
  if (r.flags & ACK) f += ".";
  const opts: string[] = [];
  if (r.mss !== undefined) opts.push(`mss ${r.mss}`);
  if (r.sackPermitted) opts.push("sackOK");
  if (r.tsVal !== undefined) opts.push(`TS val ${r.tsVal} ecr ${r.tsEcr}`);
  if (r.wscale !== undefined) opts.push(`wscale ${r.wscale}`);
  if (r.sack) opts.push(`sack ${r.sack.map((b) => `${b.left}:${b.right}`).join(" ")}`);
  return (
    `${r.srcPort} > ${r.dstPort} ${f} ${r.seq}:${(r.seq + r.payload.length) >>> 0}(${r.payload.length})` +
    (r.flags & ACK ? ` ack ${r.ack}` : "") +
    ` win ${r.window}` +
    (opts.length ? ` <${opts.join(",")}>` : "")
  );
}
