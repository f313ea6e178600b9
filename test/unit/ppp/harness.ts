/**
 * Test helpers for src/ppp: a simulated link joining two PppSessions (seeded
 * loss and bit errors, time jumps to the next deadline) and a scripted
 * peer that speaks just enough PPP by hand (Windows-style requests) to
 * drive one session. No sockets, no timers, no wall clock.
 */
import { PppSession, type SessionEvent } from "../../../src/ppp/session.js";
import { defaultSessionConfig, type SessionConfig } from "../../../src/ppp/session-config.js";
import { HdlcDecoder, HdlcEncoder } from "../../../src/ppp/hdlc.js";
import { parseOptions } from "../../../src/ppp/options.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { parseIp4, type Ip4 } from "../../../stack/util/addr.js";

export const ip = (s: string): Ip4 => parseIp4(s)!;
export const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/), (h) => parseInt(h, 16));
export const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

export function session(over: Partial<SessionConfig>, seed: number): PppSession {
  return new PppSession(defaultSessionConfig(over), { rng: new SeededRng(seed) });
}

export function logTexts(events: SessionEvent[]): string[] {
  return events.flatMap((e) => (e.type === "log" ? [e.text] : []));
}

/** Two sessions joined back to back through a lossy, bit-flipping line. */
export class Pair {
  now = 0;
  readonly eventsA: SessionEvent[] = [];
  readonly eventsB: SessionEvent[] = [];
  private readonly rng: SeededRng;
  constructor(
    readonly a: PppSession, readonly b: PppSession, readonly seed = 1,
    readonly loss = 0, readonly corrupt = 0,
  ) {
    this.rng = new SeededRng(seed);
  }

  private carry(from: PppSession, to: PppSession): boolean {
    let moved = false;
    for (let chunk = from.pollTransmit(); chunk; chunk = from.pollTransmit()) {
      moved = true;
      if (this.rng.next() < this.loss) continue;
      let bytes = chunk;
      if (this.rng.next() < this.corrupt) {
        bytes = Uint8Array.from(chunk);
        const bit = this.rng.below(bytes.length * 8);
        bytes[bit >>> 3] ^= 1 << (bit & 7);
      }
      to.handleInput(bytes, this.now);
    }
    return moved;
  }

  private events(): void {
    for (let e = this.a.pollEvent(); e; e = this.a.pollEvent()) this.eventsA.push(e);
    for (let e = this.b.pollEvent(); e; e = this.b.pollEvent()) this.eventsB.push(e);
  }

  /** Run until `done()` or `limitMs` of simulated time; true if done. */
  run(done: () => boolean, limitMs = 120_000): boolean {
    for (let guard = 0; guard < 100_000; guard++) {
      while (this.carry(this.a, this.b) || this.carry(this.b, this.a)) this.events();
      this.events();
      if (done()) return true;
      const t = Math.min(this.a.pollTimeout() ?? Infinity, this.b.pollTimeout() ?? Infinity);
      if (t === Infinity || t > limitMs) return false;
      this.now = Math.max(this.now, t);
      this.a.handleTimeout(this.now);
      this.b.handleTimeout(this.now);
    }
    return false;
  }
}

export interface Received {
  protocol: number;
  info: Uint8Array;
}

/**
 * A hand-driven peer: sends the frames a test scripts, decodes what the
 * session sends, and (when `autoNegotiate`) answers Configure-Requests with
 * Acks and adjusts its own requests to the session's Naks and Rejects.
 */
export class ScriptedPeer {
  readonly enc = new HdlcEncoder();
  readonly dec = new HdlcDecoder();
  readonly rx: Received[] = [];
  readonly rawRx: number[] = [];
  readonly events: SessionEvent[] = [];
  now = 0;
  /** Our current option lists per control protocol, re-sent after a Nak/Reject. */
  readonly requests = new Map<number, Uint8Array>();
  private id = 0x40;
  autoNegotiate = true;
  /** Protocols the auto-negotiation leaves to the test script. */
  readonly manual = new Set<number>();

  constructor(readonly s: PppSession) {
    this.dec.rxAccm = 0; // take raw control characters too once the session may send them
  }

  sendRaw(bytes: Uint8Array): void {
    this.s.handleInput(bytes, this.now);
    this.pump();
  }

  send(protocol: number, info: Uint8Array): void {
    this.sendRaw(this.enc.encode(protocol, info));
  }

  sendPacket(protocol: number, code: number, id: number, data: Uint8Array): void {
    const p = new Uint8Array(4 + data.length);
    p.set([code, id, p.length >>> 8, p.length & 0xff]);
    p.set(data, 4);
    this.send(protocol, p);
  }

  /** Send (or re-send) our Configure-Request for `protocol`. */
  request(protocol: number, options?: Uint8Array): void {
    if (options) this.requests.set(protocol, options);
    this.sendPacket(protocol, 1, ++this.id, this.requests.get(protocol)!);
  }

  advance(ms: number): void {
    this.now += ms;
    this.s.handleTimeout(this.now);
    this.pump();
  }

  pump(): void {
    const todo: Received[] = [];
    for (let out = this.s.pollTransmit(); out; out = this.s.pollTransmit()) {
      this.rawRx.push(...out);
      this.dec.input(out, (f) => todo.push({ protocol: f.protocol, info: Uint8Array.from(f.info) }));
    }
    for (let e = this.s.pollEvent(); e; e = this.s.pollEvent()) this.events.push(e);
    for (const r of todo) {
      this.rx.push(r);
      if (this.autoNegotiate) this.react(r);
    }
  }

  private react({ protocol, info }: Received): void {
    if ((protocol !== 0xc021 && protocol !== 0x8021) || this.manual.has(protocol)) return;
    const [code, id] = info;
    const body = info.subarray(4, (info[2] << 8) | info[3]);
    if (code === 1) this.sendPacket(protocol, 2, id, body); // Ack whatever the session asks
    else if ((code === 3 || code === 4) && this.requests.has(protocol)) {
      const mine = parseOptions(this.requests.get(protocol)!).options;
      const theirs = parseOptions(body).options;
      const next: number[] = [];
      for (const o of mine) {
        const t = theirs.find((x) => x.type === o.type);
        if (code === 4 && t) continue; // rejected: drop it
        next.push(...(code === 3 && t ? t.raw : o.raw)); // nak'd: take the suggestion
      }
      this.request(protocol, Uint8Array.from(next));
    } else if (protocol === 0xc021 && code === 9) this.sendPacket(protocol, 10, id, hex("00 00 00 00"));
    else if (protocol === 0xc021 && code === 5) this.sendPacket(protocol, 6, id, new Uint8Array(0));
  }

  /** Packets received of a protocol and code. */
  got(protocol: number, code: number): Received[] {
    return this.rx.filter((r) => r.protocol === protocol && r.info[0] === code);
  }
}
