/**
 * IPv4 fragment reassembly (RFC 791 §3.2, RFC 815 hole bookkeeping), a
 * sans-I/O part of the IP layer. Fragments are copied into a per-datagram
 * list (ownership changes here: the link's buffer is not ours to keep).
 *
 * Safety rules:
 *  - overlapping fragments: bytes already held win ("first wins"); only the
 *    gaps a new fragment fills are kept, so an overlap can never rewrite a
 *    header already accepted (the classic teardrop / overlap attacks);
 *    a fragment that contradicts the known end (a second last-fragment with
 *    another length, or data past the end) drops the whole datagram.
 *  - memory caps: per datagram (bytes held) and global (all datagrams, and
 *    how many at once); past the global cap the oldest datagram is evicted.
 *  - timeout: RFC 791 suggests 15 s for the timer, RFC 1122 §3.3.2 says
 *    60–120 s; the brief fixes 30 s.
 */
import type { Ip4 } from "../util/addr.js";
import type { Millis } from "../util/time.js";
import { IPV4_HEADER_LEN, IPV4_MAX_LEN } from "../wire/ipv4.js";

/** Reassembly timeout (the brief: 30 s, inside RFC 791's 15–60 s). */
export const REASSEMBLY_TIMEOUT_MS = 30_000;

export interface ReassemblyLimits {
  /** Most payload bytes held for one datagram (RFC 791: ≤ 65535 − 20). */
  maxDatagramBytes: number;
  /** Most payload bytes held across all datagrams. */
  maxTotalBytes: number;
  /** Most datagrams in reassembly at once. */
  maxDatagrams: number;
  timeoutMs: Millis;
}

export const defaultReassemblyLimits: ReassemblyLimits = {
  maxDatagramBytes: IPV4_MAX_LEN - IPV4_HEADER_LEN,
  maxTotalBytes: 1 << 20,
  maxDatagrams: 64,
  timeoutMs: REASSEMBLY_TIMEOUT_MS,
};

/** One fragment as the IP layer hands it over. */
export interface FragmentIn {
  src: Ip4;
  dst: Ip4;
  protocol: number;
  ident: number;
  /** Payload offset in bytes. */
  offset: number;
  moreFragments: boolean;
  payload: Uint8Array;
  /** The fragment's IP header; kept from the first fragment for ICMP time-exceeded quoting. */
  header: Uint8Array;
}

export type ReassemblyResult =
  | { kind: "complete"; payload: Uint8Array; header: Uint8Array }
  | { kind: "pending" }
  | { kind: "dropped"; reason: string };

/** An expired datagram: the IP layer may send Time Exceeded (code 1) when offset 0 had arrived (RFC 792). */
export interface ReassemblyExpired {
  src: Ip4;
  dst: Ip4;
  /** Header + first 8 bytes of the offset-0 fragment, when it arrived. */
  firstQuote?: Uint8Array;
}

interface Piece {
  start: number;
  /** Exclusive. */
  end: number;
  data: Uint8Array;
}

interface Pending {
  key: string;
  src: Ip4;
  dst: Ip4;
  /** Sorted by start, non-overlapping. */
  pieces: Piece[];
  held: number;
  /** Known from the last fragment (MF = 0), else undefined. */
  totalLen: number | undefined;
  deadline: Millis;
  firstHeader?: Uint8Array;
  firstQuote?: Uint8Array;
}

export class Reassembler {
  readonly limits: ReassemblyLimits;
  /** Insertion order = age order (Map keeps it). */
  private readonly pending = new Map<string, Pending>();
  private totalHeld = 0;
  private readonly expired: ReassemblyExpired[] = [];
  readonly counters = {
    fragmentsIn: 0,
    reassembled: 0,
    overlaps: 0,
    timeouts: 0,
    evicted: 0,
    droppedTooBig: 0,
    droppedInconsistent: 0,
  };

  constructor(limits?: Partial<ReassemblyLimits>) {
    this.limits = { ...defaultReassemblyLimits, ...limits };
  }

  /** Datagrams currently in reassembly. */
  get size(): number {
    return this.pending.size;
  }
  /** Payload bytes currently held. */
  get bytesHeld(): number {
    return this.totalHeld;
  }

  input(f: FragmentIn, now: Millis): ReassemblyResult {
    this.counters.fragmentsIn++;
    const key = `${f.src}:${f.dst}:${f.protocol}:${f.ident}`;
    const end = f.offset + f.payload.length;
    if (end > this.limits.maxDatagramBytes || end > IPV4_MAX_LEN - IPV4_HEADER_LEN) {
      this.counters.droppedTooBig++;
      this.discard(key);
      return { kind: "dropped", reason: "frag-too-big" };
    }
    // RFC 791: every fragment but the last carries a multiple of 8 bytes.
    if (f.moreFragments && f.payload.length % 8 !== 0) {
      this.counters.droppedInconsistent++;
      return { kind: "dropped", reason: "frag-bad-length" };
    }
    let d = this.pending.get(key);
    if (!d) {
      d = { key, src: f.src, dst: f.dst, pieces: [], held: 0, totalLen: undefined, deadline: now + this.limits.timeoutMs };
      this.pending.set(key, d);
    }
    if (!f.moreFragments) {
      if ((d.totalLen !== undefined && d.totalLen !== end) || d.pieces.some((p) => p.end > end)) {
        this.counters.droppedInconsistent++;
        this.discard(key);
        return { kind: "dropped", reason: "frag-inconsistent" };
      }
      d.totalLen = end;
    } else if (d.totalLen !== undefined && end > d.totalLen) {
      this.counters.droppedInconsistent++;
      this.discard(key);
      return { kind: "dropped", reason: "frag-inconsistent" };
    }
    if (f.offset === 0 && !d.firstHeader) {
      d.firstHeader = f.header.slice();
      const q = new Uint8Array(f.header.length + Math.min(8, f.payload.length));
      q.set(f.header);
      q.set(f.payload.subarray(0, 8), f.header.length);
      d.firstQuote = q;
    }
    const added = this.insert(d, f.offset, f.payload);
    if (d.held + added > this.limits.maxDatagramBytes) {
      this.counters.droppedTooBig++;
      this.discard(key);
      return { kind: "dropped", reason: "frag-too-big" };
    }
    d.held += added;
    this.totalHeld += added;
    // Global caps: evict oldest (never the one just fed, unless alone).
    while (this.totalHeld > this.limits.maxTotalBytes || this.pending.size > this.limits.maxDatagrams) {
      const oldest = this.pending.keys().next().value as string;
      this.counters.evicted++;
      this.discard(oldest);
      if (oldest === key) return { kind: "dropped", reason: "frag-memory-cap" };
    }
    if (d.totalLen !== undefined && d.held === d.totalLen && d.firstHeader) {
      const out = new Uint8Array(d.totalLen);
      for (const p of d.pieces) out.set(p.data, p.start);
      const header = d.firstHeader;
      this.discard(key);
      this.counters.reassembled++;
      return { kind: "complete", payload: out, header };
    }
    return { kind: "pending" };
  }

  /** Keep only the parts of [offset, offset+len) not already held; returns bytes added. */
  private insert(d: Pending, offset: number, data: Uint8Array): number {
    let start = offset;
    const end = offset + data.length;
    let added = 0;
    let overlapped = false;
    const out: Piece[] = [];
    const pieces = d.pieces;
    let i = 0;
    while (i < pieces.length && pieces[i].end <= start) out.push(pieces[i++]);
    while (start < end) {
      const next = i < pieces.length ? pieces[i] : undefined;
      if (next && next.start <= start) {
        overlapped = true;
        start = Math.max(start, next.end);
        out.push(next);
        i++;
        continue;
      }
      const gapEnd = next ? Math.min(end, next.start) : end;
      if (next && next.start < end) overlapped = true;
      out.push({ start, end: gapEnd, data: data.slice(start - offset, gapEnd - offset) });
      added += gapEnd - start;
      start = gapEnd;
    }
    while (i < pieces.length) out.push(pieces[i++]);
    if (overlapped) this.counters.overlaps++;
    d.pieces = out;
    return added;
  }

  private discard(key: string): void {
    const d = this.pending.get(key);
    if (!d) return;
    this.totalHeld -= d.held;
    this.pending.delete(key);
  }

  handleTimeout(now: Millis): void {
    for (const d of this.pending.values()) {
      if (d.deadline <= now) {
        this.counters.timeouts++;
        this.expired.push({ src: d.src, dst: d.dst, firstQuote: d.firstQuote });
        this.discard(d.key);
      }
    }
  }

  /** Datagrams that timed out since the last poll. */
  pollExpired(): ReassemblyExpired | undefined {
    return this.expired.shift();
  }

  pollTimeout(): Millis | undefined {
    // Oldest first in insertion order, and all share one timeout length.
    const first = this.pending.values().next();
    return first.done ? undefined : first.value.deadline;
  }
}
