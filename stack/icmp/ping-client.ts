/**
 * The ICMP echo client (RFC 792 Echo / Echo Reply), sans-I/O: each ping is
 * remembered by identifier + sequence with its send time on the injected
 * clock; a matching reply yields its RTT, a Destination Unreachable or Time
 * Exceeded quoting our request fails it with a Node-style code, and the
 * deadline fails it with ETIMEDOUT.
 */
import type { Ip4 } from "../util/addr.js";
import type { Millis } from "../util/time.js";
import { ICMP_HEADER_LEN, IcmpType, UnreachCode } from "../wire/icmp.js";

export type PingFailCode = "ETIMEDOUT" | "EHOSTUNREACH" | "ENETUNREACH" | "ETTLEXPIRED" | "EACCES" | "EMSGSIZE";

export type PingEvent =
  | { kind: "ping-reply"; token: number; from: Ip4; ident: number; seq: number; rtt: Millis; ttl: number; bytes: number }
  | { kind: "ping-failed"; token: number; ident: number; seq: number; code: PingFailCode; icmpCode?: number; from?: Ip4 };

interface Outstanding {
  token: number;
  dst: Ip4;
  ident: number;
  seq: number;
  sentAt: Millis;
  deadline: Millis;
}

/** Map an ICMP error (type, code) about our echo to a Node-style code. */
export function pingErrorCode(type: number, code: number): PingFailCode {
  if (type === IcmpType.TIME_EXCEEDED) return "ETTLEXPIRED";
  if (code === UnreachCode.NET) return "ENETUNREACH";
  if (code === UnreachCode.ADMIN_PROHIBITED) return "EACCES";
  if (code === UnreachCode.FRAG_NEEDED) return "EMSGSIZE";
  return "EHOSTUNREACH";
}

export class PingClient {
  private readonly out = new Map<string, Outstanding>();
  private readonly events: PingEvent[] = [];
  private nextToken = 1;

  get outstanding(): number {
    return this.out.size;
  }

  /** Remember a request about to be sent; returns its token. Throws if the same (dst, ident, seq) is already in flight. */
  start(dst: Ip4, ident: number, seq: number, now: Millis, timeoutMs: Millis): number {
    const key = `${ident}:${seq}`;
    if (this.out.has(key)) throw new Error(`ping ident ${ident} seq ${seq} is already in flight`);
    const token = this.nextToken++;
    this.out.set(key, { token, dst, ident, seq, sentAt: now, deadline: now + timeoutMs });
    return token;
  }

  /** An echo reply arrived; true when it matched one of ours. */
  onReply(from: Ip4, ident: number, seq: number, ttl: number, icmpLen: number, now: Millis): boolean {
    const key = `${ident}:${seq}`;
    const o = this.out.get(key);
    if (!o || o.dst !== from) return false;
    this.out.delete(key);
    this.events.push({ kind: "ping-reply", token: o.token, from, ident, seq, rtt: now - o.sentAt, ttl, bytes: icmpLen });
    return true;
  }

  /** An ICMP error quoting an echo request (quotedIcmp = the quoted ICMP header). */
  onError(type: number, code: number, from: Ip4, quotedDst: Ip4, quotedIcmp: Uint8Array): boolean {
    if (quotedIcmp.length < ICMP_HEADER_LEN || quotedIcmp[0] !== IcmpType.ECHO_REQUEST) return false;
    const ident = (quotedIcmp[4] << 8) | quotedIcmp[5];
    const seq = (quotedIcmp[6] << 8) | quotedIcmp[7];
    const key = `${ident}:${seq}`;
    const o = this.out.get(key);
    if (!o || o.dst !== quotedDst) return false;
    this.out.delete(key);
    this.events.push({ kind: "ping-failed", token: o.token, ident, seq, code: pingErrorCode(type, code), icmpCode: code, from });
    return true;
  }

  cancel(token: number): void {
    for (const [k, o] of this.out) if (o.token === token) this.out.delete(k);
  }

  handleTimeout(now: Millis): void {
    for (const [k, o] of this.out) {
      if (o.deadline <= now) {
        this.out.delete(k);
        this.events.push({ kind: "ping-failed", token: o.token, ident: o.ident, seq: o.seq, code: "ETIMEDOUT" });
      }
    }
  }

  pollTimeout(): Millis | undefined {
    let t: Millis | undefined;
    for (const o of this.out.values()) if (t === undefined || o.deadline < t) t = o.deadline;
    return t;
  }

  pollEvent(): PingEvent | undefined {
    return this.events.shift();
  }
}
