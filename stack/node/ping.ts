/**
 * The Node face of the ICMP echo client: turns the core's ping events
 * (stack/icmp/ping-client.ts) into Promises that resolve with
 * {seq, rtt, ttl, bytes} or reject with an Error carrying a Node-style code
 * (ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ETTLEXPIRED, ...).
 */
import type { Ip4 } from "../util/addr.js";
import type { PingEvent } from "../icmp/ping-client.js";

export interface PingOptions {
  seq?: number;
  id?: number;
  /** ICMP data bytes (ping's -s); default 56. */
  size?: number;
  timeoutMs?: number;
  ttl?: number;
}

export interface PingReply {
  seq: number;
  /** Milliseconds on the stack's clock. */
  rtt: number;
  ttl: number;
  /** ICMP bytes received (header + data), as ping prints them. */
  bytes: number;
}

/** RFC 792 does not say; ping(8) sends 56 data bytes. */
export const DEFAULT_PING_SIZE = 56;
export const DEFAULT_PING_TIMEOUT_MS = 5000;

export class PingError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly seq?: number,
  ) {
    super(message);
    this.name = "PingError";
  }
}

interface Waiter {
  resolve: (r: PingReply) => void;
  reject: (e: Error) => void;
  host: string;
}

/** Token -> promise bookkeeping; NodeStack feeds it the core's events. */
export class PingWaiters {
  private readonly waiters = new Map<number, Waiter>();

  add(token: number, host: string): Promise<PingReply> {
    return new Promise<PingReply>((resolve, reject) => this.waiters.set(token, { resolve, reject, host }));
  }

  onEvent(ev: PingEvent): void {
    const w = this.waiters.get(ev.token);
    if (!w) return;
    this.waiters.delete(ev.token);
    if (ev.kind === "ping-reply") w.resolve({ seq: ev.seq, rtt: ev.rtt, ttl: ev.ttl, bytes: ev.bytes });
    else w.reject(new PingError(ev.code, `ping ${w.host} seq ${ev.seq}: ${ev.code}${ev.icmpCode !== undefined ? ` (ICMP code ${ev.icmpCode})` : ""}`, ev.seq));
  }

  rejectAll(code: string, why: string): void {
    for (const [t, w] of this.waiters) {
      this.waiters.delete(t);
      w.reject(new PingError(code, `ping ${w.host}: ${why}`));
    }
  }

  get size(): number {
    return this.waiters.size;
  }
}

/** Fill ping data the way ping(8) does: bytes 0x10, 0x11, ... (deterministic, easy to spot in captures). */
export function pingPattern(size: number): Uint8Array {
  const d = new Uint8Array(size);
  for (let i = 0; i < size; i++) d[i] = (0x10 + i) & 0xff;
  return d;
}

export type { Ip4 };
