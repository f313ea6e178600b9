/**
 * `TxQueue`: the session's transmit scheduler for IP datagrams, sans-I/O.
 * It sits in src/ppp between `PppSession.sendIp()` (enqueue, uncompressed)
 * and `PppSession.pollTransmit()` (dequeue, then VJ + Deflate + HDLC), so
 * the order on the wire is the scheduler's and the compressors' stream state
 * follows it (packets are never reordered after compression).
 *
 * Two bands:
 * - the priority band (FIFO): small interactive datagrams — TCP segments
 *   with no payload (pure ACKs), SYN/FIN/RST, segments with at most
 *   `smallPayload` bytes (keystrokes), UDP to or from port 53 (DNS), ICMP.
 *   A datagram goes here only when its flow has nothing waiting in the bulk
 *   band (so per-flow order holds) and the band holds less than
 *   `priorityCap` bytes (so a flood of small packets cannot starve bulk).
 * - the bulk band: one FIFO per flow (a hash of the 5-tuple; a collision
 *   merges two flows, as fq_codel's buckets do), served by deficit round
 *   robin with a quantum of `quantum` bytes (RFC 8290 §4.2's scheme, without
 *   CoDel: backpressure, not dropping, keeps this queue short).
 *
 * Bounds (bytes of IP datagram, both bands together):
 * - `enqueue()` returns false once the queue holds `highWater` bytes or
 *   more; the datagram is still accepted. The caller should stop sending
 *   until `pollWritable()` says the queue drained below `lowWater`.
 * - Past `maxBytes` a datagram is dropped (counted `dropped`), and false.
 */

export interface TxQueueOptions {
  /** enqueue() says false at or above this many queued bytes. Default 4608 (three 1500-byte datagrams and a half). */
  highWater?: number;
  /** pollWritable() fires once the queue falls below this after a false. Default 2/3 of highWater. */
  lowWater?: number;
  /** Hard bound: datagrams past this are dropped. Default max(64 × highWater, 256 KiB): a safety net for callers that ignore high water (the app does not). */
  maxBytes?: number;
  /** DRR quantum, bytes (RFC 8290 §4.2 uses the MTU). Default 1500. */
  quantum?: number;
  /** TCP payloads up to this many bytes are interactive. Default 128. */
  smallPayload?: number;
  /** The priority band takes no more than this many bytes; the rest go to their flow. Default 8192. */
  priorityCap?: number;
}

export interface TxQueueStats {
  enqueued: number;
  dequeued: number;
  /** Datagrams that went to the priority band. */
  priority: number;
  /** Dropped past maxBytes. */
  dropped: number;
  /** enqueue() answers of false (above high water). */
  overHighWater: number;
  /** Largest queued bytes seen. */
  peakBytes: number;
}

/** What the scheduler reads from a datagram: its flow key and whether it is interactive. */
export interface TxClass {
  flow: number;
  interactive: boolean;
}

/** RFC 791 protocol numbers. */
const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
/** RFC 1035 §4.2: DNS port. */
const DNS_PORT = 53;
/** RFC 9293 §3.1 control bits. */
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;

/**
 * Classify one IPv4 datagram. Anything unparsable (short, not IPv4) is bulk
 * in flow 0: it still goes out, in order with other unparsable datagrams.
 */
export function classifyIp(p: Uint8Array, smallPayload = 128): TxClass {
  if (p.length < 20 || p[0] >> 4 !== 4) return { flow: 0, interactive: false };
  const ihl = (p[0] & 0x0f) * 4;
  const total = Math.min(p.length, (p[2] << 8) | p[3]);
  const proto = p[9];
  const src = ((p[12] << 24) | (p[13] << 16) | (p[14] << 8) | p[15]) >>> 0;
  const dst = ((p[16] << 24) | (p[17] << 16) | (p[18] << 8) | p[19]) >>> 0;
  const fragOffset = ((p[6] & 0x1f) << 8) | p[7];
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(dst + 0x7f4a7c15, 0xc2b2ae35) ^ proto;
  const hasPorts = (proto === PROTO_TCP || proto === PROTO_UDP) && fragOffset === 0 && total >= ihl + 4;
  if (!hasPorts) return { flow: h >>> 0, interactive: proto === PROTO_ICMP };
  const sport = (p[ihl] << 8) | p[ihl + 1];
  const dport = (p[ihl + 2] << 8) | p[ihl + 3];
  h = Math.imul(h ^ ((sport << 16) | dport), 0x27d4eb2f);
  const flow = (h ^ (h >>> 15)) >>> 0;
  if (proto === PROTO_UDP) return { flow, interactive: sport === DNS_PORT || dport === DNS_PORT };
  if (total < ihl + 20) return { flow, interactive: false };
  const doff = (p[ihl + 12] >> 4) * 4;
  const flags = p[ihl + 13];
  const payload = total - ihl - doff;
  return { flow, interactive: payload <= smallPayload || (flags & (TCP_SYN | TCP_FIN | TCP_RST)) !== 0 };
}

/** One flow's FIFO and its DRR deficit. Invariant: `active` ⇔ it is in the round-robin list. */
interface Flow {
  readonly key: number;
  readonly q: Uint8Array[];
  /** Index of the head in q (shift() without moving the array on every dequeue). */
  head: number;
  deficit: number;
  active: boolean;
}

export class TxQueue {
  readonly highWater: number;
  readonly lowWater: number;
  readonly maxBytes: number;
  quantum: number;
  private readonly smallPayload: number;
  private readonly priorityCap: number;
  /** The priority band, FIFO. */
  private readonly prio: Uint8Array[] = [];
  private prioBytes = 0;
  /** Bulk flows by key; a flow is deleted when it empties. */
  private readonly flows = new Map<number, Flow>();
  /** DRR round-robin list of flows with queued datagrams. */
  private readonly rr: Flow[] = [];
  private total = 0;
  private count = 0;
  /** enqueue() said false and pollWritable() has not said true since. */
  private saidFull = false;
  private writablePending = false;
  readonly stats: TxQueueStats = { enqueued: 0, dequeued: 0, priority: 0, dropped: 0, overHighWater: 0, peakBytes: 0 };

  constructor(opts: TxQueueOptions = {}) {
    this.highWater = opts.highWater ?? 4608;
    this.lowWater = Math.min(opts.lowWater ?? Math.floor((this.highWater * 2) / 3), this.highWater);
    this.maxBytes = opts.maxBytes ?? Math.max(64 * this.highWater, 256 * 1024);
    this.quantum = opts.quantum ?? 1500;
    this.smallPayload = opts.smallPayload ?? 128;
    this.priorityCap = opts.priorityCap ?? 8192;
  }

  /** Queued bytes (IP datagrams, before compression and framing). */
  get bytes(): number {
    return this.total;
  }

  /** Queued datagrams. */
  get length(): number {
    return this.count;
  }

  /**
   * Queue one IPv4 datagram (the queue keeps the reference: the caller hands
   * it over). True while under highWater; false at or above it (accepted) or
   * past maxBytes (dropped and counted).
   */
  enqueue(packet: Uint8Array): boolean {
    if (this.total + packet.length > this.maxBytes) {
      this.stats.dropped++;
      this.saidFull = true;
      return false;
    }
    const c = classifyIp(packet, this.smallPayload);
    let f = this.flows.get(c.flow);
    if (c.interactive && (!f || f.head === f.q.length) && this.prioBytes + packet.length <= this.priorityCap) {
      this.prio.push(packet);
      this.prioBytes += packet.length;
      this.stats.priority++;
    } else {
      if (!f) {
        f = { key: c.flow, q: [], head: 0, deficit: 0, active: false };
        this.flows.set(c.flow, f);
      }
      f.q.push(packet);
      if (!f.active) {
        f.active = true;
        f.deficit = this.quantum;
        this.rr.push(f);
      }
    }
    this.total += packet.length;
    this.count++;
    this.stats.enqueued++;
    if (this.total > this.stats.peakBytes) this.stats.peakBytes = this.total;
    if (this.total >= this.highWater) {
      this.stats.overHighWater++;
      this.saidFull = true;
      return false;
    }
    return true;
  }

  /** The next datagram to send: the priority band first, then DRR over the bulk flows. */
  dequeue(): Uint8Array | undefined {
    let p: Uint8Array | undefined;
    if (this.prio.length > 0) {
      p = this.prio.shift()!;
      this.prioBytes -= p.length;
    } else {
      p = this.dequeueBulk();
      if (!p) return undefined;
    }
    this.total -= p.length;
    this.count--;
    this.stats.dequeued++;
    if (this.saidFull && this.total < this.lowWater) {
      this.saidFull = false;
      this.writablePending = true;
    }
    return p;
  }

  /** True once after the queue, having said false, drained below lowWater. */
  pollWritable(): boolean {
    const w = this.writablePending;
    this.writablePending = false;
    return w;
  }

  /** Drop everything (the link or IPCP went down); returns how many datagrams were dropped. */
  clear(): number {
    const n = this.count;
    this.prio.length = 0;
    this.prioBytes = 0;
    this.flows.clear();
    this.rr.length = 0;
    this.total = 0;
    this.count = 0;
    if (this.saidFull) {
      this.saidFull = false;
      this.writablePending = true;
    }
    return n;
  }

  private dequeueBulk(): Uint8Array | undefined {
    // RFC 8290 §4.2 (without the new-flows list): a flow whose deficit is spent
    // gets another quantum and goes to the back of the round.
    while (this.rr.length > 0) {
      const f = this.rr[0];
      if (f.deficit <= 0) {
        f.deficit += this.quantum;
        this.rr.push(this.rr.shift()!);
        continue;
      }
      const p = f.q[f.head++];
      f.deficit -= p.length;
      if (f.head === f.q.length) {
        this.rr.shift();
        f.active = false;
        this.flows.delete(f.key);
      } else if (f.head > 64 && f.head * 2 > f.q.length) {
        f.q.splice(0, f.head);
        f.head = 0;
      }
      return p;
    }
    return undefined;
  }
}
