/**
 * Test harness for stack/tcp: two TcpLayers joined by a simulated link (the
 * tiny IP shim is just the TransportDatagram's src/dst), driven on one
 * ManualClock that jumps to the next deadline, with seeded loss, reordering,
 * duplication and bit errors. Also a `RawPeer` that hand-crafts segments to
 * one layer for state-by-state tests. Test-only; nothing here sleeps.
 */
import { TcpLayer, type TcpLayerOptions } from "../../../stack/tcp/tcp-layer.js";
import type { TransportDatagram } from "../../../stack/ip/transport.js";
import { parseIp4 } from "../../../stack/util/addr.js";
import { ManualClock, type Millis } from "../../../stack/util/time.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { ACK, emitTcp, parseTcp, type TcpRepr } from "../../../stack/wire/tcp.js";
import type { TcpLimits } from "../../../stack/tcp/config.js";

export const A = parseIp4("10.0.0.1")!;
export const B = parseIp4("10.0.0.2")!;

export interface LinkFaults {
  /** One-way latency, ms. */
  latency?: number;
  /** Extra random delay up to this many ms (reorders). */
  jitter?: number;
  loss?: number;
  duplicate?: number;
  corrupt?: number;
  /** Serialization rate in bytes/ms (0 = infinite); adds queueing like a real link. */
  rate?: number;
}

interface InFlight {
  at: Millis;
  seq: number;
  d: TransportDatagram;
}

/** A binary min-heap of in-flight datagrams ordered by arrival time. */
class Heap {
  private a: InFlight[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): InFlight | undefined {
    return this.a[0];
  }
  push(x: InFlight): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(a[p], a[i])) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop(): InFlight | undefined {
    const a = this.a;
    if (!a.length) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}
function less(x: InFlight, y: InFlight): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

export function limits(l: Partial<TcpLimits> = {}): Partial<TcpLimits> {
  return l;
}

export class Pair {
  readonly clock = new ManualClock(1000);
  readonly a: TcpLayer;
  readonly b: TcpLayer;
  readonly rng: SeededRng;
  private readonly heap = new Heap();
  private seqNo = 0;
  private busyUntil = new Map<number, Millis>();
  delivered = 0;
  dropped = 0;
  /** Called after every step (apps pump their sockets here). */
  onStep: (() => void) | undefined;
  /** Optional filter: return false to drop a datagram (deterministic tests). */
  filter: ((d: TransportDatagram) => boolean) | undefined;
  /** Every datagram transmitted, when tracing. */
  trace: TransportDatagram[] | undefined;

  constructor(
    readonly seed: number,
    readonly faults: LinkFaults = {},
    opts: Partial<TcpLayerOptions> = {},
    optsB: Partial<TcpLayerOptions> = opts,
  ) {
    this.rng = new SeededRng(seed);
    this.a = new TcpLayer({ rng: new SeededRng(seed ^ 0x1111), mtu: 1500, ...opts });
    this.b = new TcpLayer({ rng: new SeededRng(seed ^ 0x2222), mtu: 1500, ...optsB });
  }

  get now(): Millis {
    return this.clock.now();
  }

  /** Move everything both layers want to send onto the link. */
  flush(): void {
    for (const layer of [this.a, this.b]) {
      for (let d = layer.pollTransmit(); d; d = layer.pollTransmit()) this.send(d);
    }
  }

  /** Largest TCP segment (header + payload) either side transmitted. */
  maxSegment = 0;

  private send(d: TransportDatagram): void {
    this.trace?.push(d);
    if (d.payload.length > this.maxSegment) this.maxSegment = d.payload.length;
    if (this.filter && !this.filter(d)) {
      this.dropped++;
      return;
    }
    const f = this.faults;
    const r = this.rng;
    if (f.loss && r.next() < f.loss) {
      this.dropped++;
      return;
    }
    let at = this.now + (f.latency ?? 5);
    if (f.rate) {
      const start = Math.max(this.now, this.busyUntil.get(d.src) ?? 0);
      const done = start + d.payload.length / f.rate;
      this.busyUntil.set(d.src, done);
      at = done + (f.latency ?? 5);
    }
    if (f.jitter) at += r.next() * f.jitter;
    let payload = d.payload;
    if (f.corrupt && r.next() < f.corrupt) {
      payload = payload.slice();
      const bit = r.below(payload.length * 8);
      payload[bit >> 3] ^= 1 << (bit & 7);
    }
    this.heap.push({ at, seq: this.seqNo++, d: { ...d, payload } });
    if (f.duplicate && r.next() < f.duplicate) {
      this.heap.push({ at: at + r.next() * (f.jitter ?? 1), seq: this.seqNo++, d: { ...d, payload: d.payload.slice() } });
    }
  }

  /** One step: flush, then jump to the next arrival or timer and process it. Returns false when idle. */
  step(): boolean {
    this.flush();
    this.onStep?.();
    this.flush();
    const next = [this.heap.peek()?.at, this.a.pollTimeout(), this.b.pollTimeout()].reduce<number | undefined>(
      (m, t) => (t !== undefined && (m === undefined || t < m) ? t : m),
      undefined,
    );
    if (next === undefined) return false;
    this.clock.set(next);
    const now = this.now;
    while (this.heap.size && this.heap.peek()!.at <= now) {
      const { d } = this.heap.pop()!;
      const to = d.dst === A ? this.a : d.dst === B ? this.b : undefined;
      if (!to) continue;
      this.delivered++;
      to.input(d.src, d.dst, d.payload, now);
    }
    for (const layer of [this.a, this.b]) {
      const t = layer.pollTimeout();
      if (t !== undefined && t <= now) layer.handleTimeout(now);
    }
    return true;
  }

  /** Step until `done()` or the simulated time passes `limit` ms from now. */
  run(done: () => boolean, limit: Millis = 600_000): boolean {
    const end = this.now + limit;
    while (!done()) {
      if (this.now > end) return false;
      if (!this.step()) return done();
    }
    this.flush();
    return true;
  }

  /** Let `ms` of simulated time pass. */
  advance(ms: Millis): void {
    const end = this.now + ms;
    for (;;) {
      this.flush();
      this.onStep?.();
      this.flush();
      const next = [this.heap.peek()?.at, this.a.pollTimeout(), this.b.pollTimeout()].reduce<number | undefined>(
        (m, t) => (t !== undefined && (m === undefined || t < m) ? t : m),
        undefined,
      );
      if (next === undefined || next > end) break;
      this.step();
    }
    this.clock.set(end);
  }
}

/**
 * A hand-driven peer for one TcpLayer: it sends crafted segments and
 * collects what the layer sends back.
 */
export class RawPeer {
  readonly clock = new ManualClock(1000);
  readonly layer: TcpLayer;
  /** Segments the layer sent, parsed. */
  readonly sent: TcpRepr[] = [];

  constructor(
    readonly local = A,
    readonly remote = B,
    opts: Partial<TcpLayerOptions> = {},
    seed = 7,
  ) {
    this.layer = new TcpLayer({ rng: new SeededRng(seed), mtu: 1500, ...opts });
  }

  get now(): Millis {
    return this.clock.now();
  }

  /** Deliver a segment from the remote peer to the layer; returns what the layer sent in reply. */
  deliver(r: Partial<TcpRepr> & { flags: number }): TcpRepr[] {
    const full: TcpRepr = {
      srcPort: 5000,
      dstPort: 80,
      seq: 0,
      ack: 0,
      window: 65535,
      urgent: 0,
      payload: new Uint8Array(0),
      ...r,
    };
    this.layer.input(this.remote, this.local, emitTcp(full, this.remote, this.local), this.now);
    return this.drain();
  }

  /** Collect everything the layer has to send now. */
  drain(): TcpRepr[] {
    const out: TcpRepr[] = [];
    for (let d = this.layer.pollTransmit(); d; d = this.layer.pollTransmit()) {
      const p = parseTcp(d.payload, d.src, d.dst);
      if (!p.repr) throw new Error(`layer sent a malformed segment: ${p.reason}`);
      out.push(p.repr);
      this.sent.push(p.repr);
    }
    return out;
  }

  /** Advance the clock by `ms` (firing due timers) and return what was sent. */
  advance(ms: Millis): TcpRepr[] {
    const end = this.now + ms;
    const out: TcpRepr[] = [];
    for (;;) {
      out.push(...this.drain());
      const t = this.layer.pollTimeout();
      if (t === undefined || t > end) break;
      this.clock.set(t);
      this.layer.handleTimeout(this.now);
    }
    this.clock.set(end);
    out.push(...this.drain());
    return out;
  }

  /** Jump to the layer's next deadline and fire it. */
  fireNext(): TcpRepr[] {
    const t = this.layer.pollTimeout();
    if (t === undefined) return [];
    this.clock.set(t);
    this.layer.handleTimeout(this.now);
    return this.drain();
  }
}

export function isAck(r: TcpRepr): boolean {
  return (r.flags & ACK) !== 0;
}
