/**
 * Test helper: an authenticator and a peer AuthMachine joined back to back by
 * a zero-delay simulated link on a ManualClock. `drop` decides per packet
 * whether the link loses it; `drive()` jumps from deadline to deadline until
 * neither machine has one. Never sleeps.
 */
import { ManualClock, earliest } from "../../../stack/util/time.js";
import type { AuthEvent, AuthMachine } from "../../../src/ppp/auth/auth-machine.js";

export type Direction = "a->p" | "p->a";

export interface WireRecord {
  dir: Direction;
  at: number;
  packet: Uint8Array;
  dropped: boolean;
}

export class AuthPair {
  readonly clock = new ManualClock(0);
  readonly authEvents: AuthEvent[] = [];
  readonly peerEvents: AuthEvent[] = [];
  readonly wire: WireRecord[] = [];
  /** Per-direction packet counters, for `drop` rules such as "lose the first Response". */
  private readonly sent = { "a->p": 0, "p->a": 0 };

  constructor(
    readonly authenticator: AuthMachine,
    readonly peer: AuthMachine,
    /** Return true to lose this packet; `n` counts packets in this direction from 0. */
    private readonly drop: (dir: Direction, n: number, packet: Uint8Array) => boolean = () => false,
  ) {}

  start(): void {
    const now = this.clock.now();
    this.authenticator.start(now);
    this.peer.start(now);
    this.pump();
  }

  /** Move packets and events until both machines are quiet at the current time. */
  pump(): void {
    for (let guard = 0; guard < 1000; guard++) {
      let moved = false;
      for (const [from, to, dir] of [
        [this.authenticator, this.peer, "a->p"],
        [this.peer, this.authenticator, "p->a"],
      ] as const) {
        for (let pkt = from.pollTransmit(); pkt; pkt = from.pollTransmit()) {
          moved = true;
          const dropped = this.drop(dir, this.sent[dir]++, pkt);
          this.wire.push({ dir, at: this.clock.now(), packet: pkt, dropped });
          if (!dropped) to.input(pkt, this.clock.now());
        }
      }
      for (let e = this.authenticator.pollEvent(); e; e = this.authenticator.pollEvent()) this.authEvents.push(e);
      for (let e = this.peer.pollEvent(); e; e = this.peer.pollEvent()) this.peerEvents.push(e);
      if (!moved) return;
    }
    throw new Error("pump did not settle");
  }

  /** Run timers until no machine has a deadline (or `limitMs` passes). */
  drive(limitMs = 10 * 60_000): void {
    this.start();
    for (let guard = 0; guard < 10_000; guard++) {
      const next = earliest(this.authenticator.pollTimeout(), this.peer.pollTimeout());
      if (next === undefined || next > limitMs) return;
      this.clock.set(next);
      const now = this.clock.now();
      this.authenticator.handleTimeout(now);
      this.peer.handleTimeout(now);
      this.pump();
    }
    throw new Error("drive did not settle");
  }

  /** The success/failure events of one side (logs left out). */
  static outcomes(events: AuthEvent[]): AuthEvent[] {
    return events.filter((e) => e.type !== "log");
  }

  sentBy(dir: Direction): WireRecord[] {
    return this.wire.filter((w) => w.dir === dir);
  }
}

/** An Rng that hands out fixed bytes (RFC test vectors), then zeros. */
export function fixedRng(...chunks: Uint8Array[]): { u32(): number; fill(buf: Uint8Array): Uint8Array } {
  const queue = [...chunks];
  return {
    u32: () => 0,
    fill: (buf: Uint8Array) => {
      const next = queue.shift();
      buf.fill(0);
      if (next) buf.set(next.subarray(0, buf.length));
      return buf;
    },
  };
}

export const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
export const toHexUpper = (b: Uint8Array): string => Buffer.from(b).toString("hex").toUpperCase();
