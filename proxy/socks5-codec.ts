/**
 * SOCKS5 wire codec (RFC 1928, RFC 1929): incremental parsers for the
 * client's greeting, username/password sub-negotiation and request, plus the
 * UDP relay header (RFC 1928 §7), and encoders for the server's replies.
 *
 * Part of proxy/; pure functions over Uint8Array, no I/O. Every parser
 * returns `need-more` (incomplete input is not an error), `ok` with
 * `bytesRead`, or `bad` with a reason and the reply to send. None throws.
 */
import { formatIp4, parseIp4, readIp4, writeIp4 } from "../stack/util/addr.js";

/** RFC 1928 §3 protocol version. */
export const SOCKS_VERSION = 0x05;
/** RFC 1929 §2 sub-negotiation version. */
export const USERPASS_VERSION = 0x01;

/** RFC 1928 §3 METHOD values. */
export const METHOD_NO_AUTH = 0x00;
export const METHOD_USERPASS = 0x02;
export const METHOD_NO_ACCEPTABLE = 0xff;

/** RFC 1928 §4 CMD values. */
export const CMD_CONNECT = 0x01;
export const CMD_BIND = 0x02;
export const CMD_UDP_ASSOCIATE = 0x03;

/** RFC 1928 §4/§5 ATYP values. */
export const ATYP_IPV4 = 0x01;
export const ATYP_DOMAIN = 0x03;
export const ATYP_IPV6 = 0x04;

/** RFC 1928 §6 REP values. */
export const REP = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ATYP_NOT_SUPPORTED: 0x08,
} as const;
export type RepCode = (typeof REP)[keyof typeof REP];

export type SocksAddress =
  | { atyp: typeof ATYP_IPV4; host: string }
  | { atyp: typeof ATYP_DOMAIN; host: string }
  | { atyp: typeof ATYP_IPV6; host: string; bytes: Uint8Array };

export type Parsed<T> =
  | { kind: "need-more" }
  | { kind: "ok"; value: T; bytesRead: number }
  /** `rep`, when present, is the RFC 1928 §6 reply to send before closing. */
  | { kind: "bad"; reason: string; rep?: RepCode };

const NEED_MORE = { kind: "need-more" } as const;

export interface Greeting {
  methods: number[];
}

/** RFC 1928 §3: VER NMETHODS METHODS[NMETHODS]. */
export function parseGreeting(b: Uint8Array): Parsed<Greeting> {
  if (b.length < 1) return NEED_MORE;
  if (b[0] !== SOCKS_VERSION) return { kind: "bad", reason: `version byte 0x${hex(b[0])} is not SOCKS5` };
  if (b.length < 2) return NEED_MORE;
  const n = b[1];
  if (n === 0) return { kind: "bad", reason: "greeting offers no methods" };
  if (b.length < 2 + n) return NEED_MORE;
  return { kind: "ok", value: { methods: Array.from(b.subarray(2, 2 + n)) }, bytesRead: 2 + n };
}

export interface UserPass {
  username: string;
  password: string;
}

/** RFC 1929 §2: VER ULEN UNAME PLEN PASSWD. */
export function parseUserPass(b: Uint8Array): Parsed<UserPass> {
  if (b.length < 1) return NEED_MORE;
  if (b[0] !== USERPASS_VERSION) return { kind: "bad", reason: `username/password version 0x${hex(b[0])} is not 1` };
  if (b.length < 2) return NEED_MORE;
  const ulen = b[1];
  if (b.length < 3 + ulen) return NEED_MORE;
  const plen = b[2 + ulen];
  const end = 3 + ulen + plen;
  if (b.length < end) return NEED_MORE;
  const dec = new TextDecoder();
  return {
    kind: "ok",
    value: { username: dec.decode(b.subarray(2, 2 + ulen)), password: dec.decode(b.subarray(3 + ulen, end)) },
    bytesRead: end,
  };
}

export interface SocksRequest {
  cmd: number;
  dst: SocksAddress;
  port: number;
}

/** Parse ATYP + address + port starting at `off`; used by requests and UDP headers. */
function parseAddrPort(b: Uint8Array, off: number): Parsed<{ dst: SocksAddress; port: number }> {
  if (b.length < off + 1) return NEED_MORE;
  const atyp = b[off];
  let p = off + 1;
  let dst: SocksAddress;
  switch (atyp) {
    case ATYP_IPV4:
      if (b.length < p + 4 + 2) return NEED_MORE;
      dst = { atyp, host: formatIp4(readIp4(b, p)) };
      p += 4;
      break;
    case ATYP_DOMAIN: {
      if (b.length < p + 1) return NEED_MORE;
      const len = b[p];
      if (b.length < p + 1 + len + 2) return NEED_MORE;
      if (len === 0) return { kind: "bad", reason: "empty domain name", rep: REP.HOST_UNREACHABLE };
      dst = { atyp, host: new TextDecoder().decode(b.subarray(p + 1, p + 1 + len)) };
      p += 1 + len;
      break;
    }
    case ATYP_IPV6: {
      if (b.length < p + 16 + 2) return NEED_MORE;
      const bytes = b.slice(p, p + 16); // copy: outlives the receive buffer
      dst = { atyp, host: formatIp6(bytes), bytes };
      p += 16;
      break;
    }
    default:
      return { kind: "bad", reason: `address type 0x${hex(atyp)} unknown`, rep: REP.ATYP_NOT_SUPPORTED };
  }
  const port = (b[p] << 8) | b[p + 1];
  return { kind: "ok", value: { dst, port }, bytesRead: p + 2 - off };
}

/** RFC 1928 §4: VER CMD RSV ATYP DST.ADDR DST.PORT. An unknown CMD still parses (the server answers REP 7). */
export function parseRequest(b: Uint8Array): Parsed<SocksRequest> {
  if (b.length < 1) return NEED_MORE;
  if (b[0] !== SOCKS_VERSION)
    return { kind: "bad", reason: `request version byte 0x${hex(b[0])} is not SOCKS5`, rep: REP.GENERAL_FAILURE };
  if (b.length < 3) return NEED_MORE;
  const ap = parseAddrPort(b, 3);
  if (ap.kind !== "ok") return ap;
  return { kind: "ok", value: { cmd: b[1], dst: ap.value.dst, port: ap.value.port }, bytesRead: 3 + ap.bytesRead };
}

export interface UdpHeader {
  frag: number;
  dst: SocksAddress;
  port: number;
  /** View into the datagram; copy before keeping it. */
  data: Uint8Array;
}

/** RFC 1928 §7: RSV(2) FRAG ATYP DST.ADDR DST.PORT DATA. A datagram is whole, so need-more is "bad". */
export function parseUdpHeader(b: Uint8Array): { kind: "ok"; value: UdpHeader } | { kind: "bad"; reason: string } {
  if (b.length < 4) return { kind: "bad", reason: "short UDP header" };
  if (b[0] !== 0 || b[1] !== 0) return { kind: "bad", reason: "UDP header RSV is not zero" };
  const ap = parseAddrPort(b, 3);
  if (ap.kind === "need-more") return { kind: "bad", reason: "truncated UDP header" };
  if (ap.kind === "bad") return ap;
  const end = 3 + ap.bytesRead;
  return { kind: "ok", value: { frag: b[2], dst: ap.value.dst, port: ap.value.port, data: b.subarray(end) } };
}

/** Encode ATYP + address + port for an IPv4 address (what our link speaks). */
function encodeIp4AddrPort(out: Uint8Array, off: number, host: string | undefined, port: number | undefined): void {
  out[off] = ATYP_IPV4;
  writeIp4(out, off + 1, (host && parseIp4(host)) || 0);
  out[off + 5] = ((port ?? 0) >> 8) & 0xff;
  out[off + 6] = (port ?? 0) & 0xff;
}

/** RFC 1928 §3 method selection: VER METHOD. */
export function encodeMethodSelection(method: number): Uint8Array {
  return Uint8Array.of(SOCKS_VERSION, method);
}

/** RFC 1929 §2 status: VER STATUS (0 = success). */
export function encodeUserPassStatus(ok: boolean): Uint8Array {
  return Uint8Array.of(USERPASS_VERSION, ok ? 0x00 : 0x01);
}

/** RFC 1928 §6: VER REP RSV ATYP BND.ADDR BND.PORT (IPv4; non-IPv4 hosts encode as 0.0.0.0). */
export function encodeReply(rep: RepCode, host?: string, port?: number): Uint8Array {
  const out = new Uint8Array(10);
  out[0] = SOCKS_VERSION;
  out[1] = rep;
  out[2] = 0;
  encodeIp4AddrPort(out, 3, host, port);
  return out;
}

/** RFC 1928 §7 header for a datagram coming back from `host:port` (IPv4). */
export function encodeUdpDatagram(host: string, port: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(10 + data.length);
  encodeIp4AddrPort(out, 3, host, port);
  out.set(data, 10);
  return out;
}

/** If `bytes` is an IPv4-mapped IPv6 address (::ffff:a.b.c.d), the IPv4 text; else undefined. */
export function v4MappedToIp4(bytes: Uint8Array): string | undefined {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return undefined;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return undefined;
  return formatIp4(readIp4(bytes, 12));
}

export function formatIp6(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(":");
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}
