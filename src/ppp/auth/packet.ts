/**
 * The framing PAP (RFC 1334 §2.2) and CHAP (RFC 1994 §4) share: Code (1),
 * Identifier (1), Length (2, whole packet incl. header), Data. Plus the small
 * byte/text helpers the auth machines and the debug printer use.
 *
 * Sits under src/ppp/auth: pure functions over Uint8Array, no I/O.
 */

/** RFC 1334 §2.2 / RFC 1994 §4: Code, Identifier, Length. */
export const AUTH_HEADER_LEN = 4;

/** A validated header view; `data` is a subarray bounded by Length (octets past it are padding). */
export interface AuthPacketView {
  code: number;
  id: number;
  /** Everything after the header, up to Length. */
  data: Uint8Array;
}

/** Why a packet was dropped, for counters and traces. */
export type DropReason = "short header" | "bad length" | "short packet" | "unexpected code" | "unexpected id" | "wrong state" | "malformed data";

/**
 * Parse the common header. Returns a reason instead of throwing: the caller
 * counts and drops. RFC 1994 §4: octets beyond Length are padding, ignored.
 */
export function parseAuthPacket(packet: Uint8Array): AuthPacketView | DropReason {
  if (packet.length < AUTH_HEADER_LEN) return "short header";
  const length = (packet[2] << 8) | packet[3];
  if (length < AUTH_HEADER_LEN) return "bad length";
  if (length > packet.length) return "short packet";
  return { code: packet[0], id: packet[1], data: packet.subarray(AUTH_HEADER_LEN, length) };
}

/** Build code, id, length and the concatenated data parts into one fresh packet. */
export function buildAuthPacket(code: number, id: number, ...parts: Uint8Array[]): Uint8Array {
  let len = AUTH_HEADER_LEN;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  out[0] = code;
  out[1] = id & 0xff;
  out[2] = len >>> 8;
  out[3] = len & 0xff;
  let off = AUTH_HEADER_LEN;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });
/**
 * Names and messages are octet strings on the wire; we read them as UTF-8 so
 * that a name round-trips exactly through `textToBytes` (secrets-file lookups,
 * MS-CHAPv2's ChallengeHash over the name). Invalid sequences become U+FFFD.
 */
export function bytesToText(b: Uint8Array): string {
  return decoder.decode(b);
}

/** UTF-8 encoding of names, secrets and messages we send. */
export function textToBytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/** A one-octet length prefix followed by the value (PAP Peer-ID / Passwd, CHAP Value-Size / Value). Truncated at 255. */
export function lengthPrefixed(value: Uint8Array): Uint8Array {
  const v = value.length > 255 ? value.subarray(0, 255) : value;
  const out = new Uint8Array(1 + v.length);
  out[0] = v.length;
  out.set(v, 1);
  return out;
}

export function toHex(b: Uint8Array, upper = false): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, "0");
  return upper ? s.toUpperCase() : s;
}

/** "5B 5D 7C" or "5b5d7c" -> bytes; undefined when not hex. */
export function fromHex(text: string): Uint8Array | undefined {
  const clean = text.replace(/\s+/g, "");
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) return undefined;
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substring(2 * i, 2 * i + 2), 16);
  return out;
}

/** Constant-time comparison of two byte strings (length leaks; contents do not). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * pppd's print_string (utils.c): the octets in double quotes, printable ASCII
 * as is with `\` and `"` escaped, \n \r \t named, anything else as \ooo.
 */
export function printString(b: Uint8Array): string {
  let s = '"';
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c >= 0x20 && c <= 0x7e) {
      if (c === 0x5c || c === 0x22) s += "\\";
      s += String.fromCharCode(c);
    } else if (c === 0x0a) s += "\\n";
    else if (c === 0x0d) s += "\\r";
    else if (c === 0x09) s += "\\t";
    else s += "\\" + c.toString(8).padStart(3, "0");
  }
  return s + '"';
}

/** Drop counters keyed by reason; every machine keeps one. */
export class DropCounter {
  readonly counts = new Map<DropReason, number>();
  total = 0;
  add(reason: DropReason): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    this.total++;
  }
}
