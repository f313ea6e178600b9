/**
 * ICMPv4 codec (RFC 792, RFC 1191 for frag-needed): `IcmpPacket` view over
 * borrowed bytes, `IcmpRepr` value with `parseIcmp` / `emitIcmp`. Covers
 * echo request/reply, destination unreachable and time exceeded; other
 * types parse as "other" so the ICMP layer can count and ignore them.
 */
import { internetChecksum } from "./checksum.js";

/** RFC 792 message types. */
export const IcmpType = {
  ECHO_REPLY: 0,
  DEST_UNREACHABLE: 3,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
} as const;

/** RFC 792 / RFC 1122 §3.2.2.1 / RFC 1812 §5.2.7.1 destination unreachable codes. */
export const UnreachCode = {
  NET: 0,
  HOST: 1,
  PROTOCOL: 2,
  PORT: 3,
  /** RFC 1191: fragmentation needed and DF set; bytes 6–7 carry the next-hop MTU. */
  FRAG_NEEDED: 4,
  /** RFC 1812 §5.2.7.1: communication administratively prohibited. */
  ADMIN_PROHIBITED: 13,
} as const;

/** RFC 792 time exceeded codes. */
export const TimeExceededCode = { TTL: 0, REASSEMBLY: 1 } as const;

/** RFC 792: every ICMP message starts with an 8-byte header. */
export const ICMP_HEADER_LEN = 8;

export type IcmpDropReason = "icmp-truncated" | "icmp-bad-checksum";

export class IcmpPacket {
  constructor(readonly buf: Uint8Array) {}
  check(): IcmpDropReason | undefined {
    if (this.buf.length < ICMP_HEADER_LEN) return "icmp-truncated";
    if (internetChecksum(this.buf) !== 0) return "icmp-bad-checksum";
    return undefined;
  }
  get type(): number {
    return this.buf[0];
  }
  get code(): number {
    return this.buf[1];
  }
  get checksum(): number {
    return (this.buf[2] << 8) | this.buf[3];
  }
  /** Echo: identifier. */
  get ident(): number {
    return (this.buf[4] << 8) | this.buf[5];
  }
  /** Echo: sequence number. */
  get seq(): number {
    return (this.buf[6] << 8) | this.buf[7];
  }
  /** Frag-needed: next-hop MTU (RFC 1191 §4). */
  get nextHopMtu(): number {
    return (this.buf[6] << 8) | this.buf[7];
  }
  /** Echo data, or the quoted datagram of an error. */
  get data(): Uint8Array {
    return this.buf.subarray(ICMP_HEADER_LEN);
  }
}

export type IcmpRepr =
  | { kind: "echo-request" | "echo-reply"; ident: number; seq: number; data: Uint8Array }
  | { kind: "dest-unreachable"; code: number; mtu?: number; quoted: Uint8Array }
  | { kind: "time-exceeded"; code: number; quoted: Uint8Array }
  | { kind: "other"; type: number; code: number };

export function parseIcmp(
  buf: Uint8Array,
): { ok: true; value: IcmpRepr } | { ok: false; reason: IcmpDropReason } {
  const p = new IcmpPacket(buf);
  const reason = p.check();
  if (reason) return { ok: false, reason };
  switch (p.type) {
    case IcmpType.ECHO_REQUEST:
    case IcmpType.ECHO_REPLY:
      return {
        ok: true,
        value: {
          kind: p.type === IcmpType.ECHO_REQUEST ? "echo-request" : "echo-reply",
          ident: p.ident,
          seq: p.seq,
          data: p.data,
        },
      };
    case IcmpType.DEST_UNREACHABLE:
      return {
        ok: true,
        value: {
          kind: "dest-unreachable",
          code: p.code,
          mtu: p.code === UnreachCode.FRAG_NEEDED ? p.nextHopMtu : undefined,
          quoted: p.data,
        },
      };
    case IcmpType.TIME_EXCEEDED:
      return { ok: true, value: { kind: "time-exceeded", code: p.code, quoted: p.data } };
    default:
      return { ok: true, value: { kind: "other", type: p.type, code: p.code } };
  }
}

/** Bytes `emitIcmp` will write for `repr`. */
export function icmpLength(repr: IcmpRepr): number {
  switch (repr.kind) {
    case "echo-request":
    case "echo-reply":
      return ICMP_HEADER_LEN + repr.data.length;
    case "dest-unreachable":
    case "time-exceeded":
      return ICMP_HEADER_LEN + repr.quoted.length;
    default:
      return ICMP_HEADER_LEN;
  }
}

/** Write `repr` at `buf[off..)`, checksum included; returns the length written. */
export function emitIcmp(repr: IcmpRepr, buf: Uint8Array, off = 0): number {
  const len = icmpLength(repr);
  const m = buf.subarray(off, off + len);
  m.fill(0, 0, ICMP_HEADER_LEN);
  switch (repr.kind) {
    case "echo-request":
    case "echo-reply":
      m[0] = repr.kind === "echo-request" ? IcmpType.ECHO_REQUEST : IcmpType.ECHO_REPLY;
      m[4] = (repr.ident >> 8) & 0xff;
      m[5] = repr.ident & 0xff;
      m[6] = (repr.seq >> 8) & 0xff;
      m[7] = repr.seq & 0xff;
      m.set(repr.data, ICMP_HEADER_LEN);
      break;
    case "dest-unreachable":
      m[0] = IcmpType.DEST_UNREACHABLE;
      m[1] = repr.code;
      if (repr.code === UnreachCode.FRAG_NEEDED && repr.mtu !== undefined) {
        m[6] = (repr.mtu >> 8) & 0xff;
        m[7] = repr.mtu & 0xff;
      }
      m.set(repr.quoted, ICMP_HEADER_LEN);
      break;
    case "time-exceeded":
      m[0] = IcmpType.TIME_EXCEEDED;
      m[1] = repr.code;
      m.set(repr.quoted, ICMP_HEADER_LEN);
      break;
    default:
      m[0] = repr.type;
      m[1] = repr.code;
  }
  const c = internetChecksum(m);
  m[2] = c >> 8;
  m[3] = c & 0xff;
  return len;
}
