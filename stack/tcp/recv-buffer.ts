/**
 * The receive buffer of one TCP connection: a ring holding in-order bytes
 * not yet read by the application, with out-of-order segments placed directly
 * at their final position past the in-order end. Memory is bounded by the
 * capacity (the receive window can never exceed the free space), and the
 * out-of-order ranges feed the SACK blocks (RFC 2018). Offsets are relative
 * to RCV.NXT; the connection owns the sequence numbers. The backing array
 * grows by doubling up to the capacity and can be released when empty, so
 * idle and TIME-WAIT connections hold little memory. Part of stack/tcp.
 */

const INITIAL_ALLOC = 16 * 1024;

/** A present out-of-order range [start, end), relative to the in-order end. */
export interface OooRange {
  start: number;
  end: number;
}

const newBytes = (n: number): Uint8Array => new Uint8Array(n);

export class RecvBuffer {
  private buf: Uint8Array | undefined;
  private head = 0;
  /** In-order bytes ready for the application. */
  private len = 0;
  /** Out-of-order ranges, sorted, disjoint, not touching offset 0. */
  readonly ooo: OooRange[] = [];
  /** Most recently updated out-of-order range (first SACK block, RFC 2018 §4). */
  lastRange: OooRange | undefined;

  constructor(
    readonly capacity: number,
    /** Cap on distinct out-of-order ranges; beyond it new islands are dropped. */
    readonly maxRanges = 64,
  ) {}

  /** Bytes the application can read. */
  get length(): number {
    return this.len;
  }

  /** Free space: the most window we can offer. */
  get free(): number {
    return this.capacity - this.len;
  }

  /** Total bytes held out of order. */
  get oooBytes(): number {
    let n = 0;
    for (const r of this.ooo) n += r.end - r.start;
    return n;
  }

  /**
   * Place `data` at `offset` bytes past RCV.NXT (offset >= 0, data already
   * trimmed to the window). Returns how far the in-order end advanced (0 for
   * an out-of-order segment), or -1 when dropped for too many ranges.
   */
  write(offset: number, data: Uint8Array): number {
    let n = data.length;
    if (offset + n > this.free) n = Math.max(0, this.free - offset);
    if (n === 0) return 0;
    if (offset > 0 && this.ooo.length >= this.maxRanges && !this.touches(offset, offset + n)) return -1;
    this.copyIn(offset, data, n);
    if (offset > 0) {
      this.insertRange(offset, offset + n);
      return 0;
    }
    let end = n;
    while (this.ooo.length && this.ooo[0].start <= end) {
      const r = this.ooo.shift()!;
      if (r.end > end) end = r.end;
      if (r === this.lastRange) this.lastRange = undefined;
    }
    for (const r of this.ooo) {
      r.start -= end;
      r.end -= end;
    }
    this.len += end;
    return end;
  }

  /** Take up to `max` bytes for the application, copied into a fresh buffer from `alloc`. */
  read(max: number, alloc: (n: number) => Uint8Array = newBytes): Uint8Array | undefined {
    const n = Math.min(max, this.len);
    if (n === 0 || !this.buf) return undefined;
    const out = alloc(n);
    const cap = this.buf.length;
    const first = Math.min(n, cap - this.head);
    out.set(this.buf.subarray(this.head, this.head + first), 0);
    if (first < n) out.set(this.buf.subarray(0, n - first), first);
    this.head = (this.head + n) % cap;
    this.len -= n;
    return out;
  }

  /** Bytes of backing memory currently allocated. */
  get allocated(): number {
    return this.buf?.length ?? 0;
  }

  /** Drop the backing array if nothing is held (it is re-allocated on demand). */
  release(): void {
    if (this.len === 0 && this.ooo.length === 0) {
      this.buf = undefined;
      this.head = 0;
    }
  }

  /** Forget everything (connection reset). */
  clear(): void {
    this.buf = undefined;
    this.len = 0;
    this.head = 0;
    this.ooo.length = 0;
    this.lastRange = undefined;
  }

  private touches(a: number, b: number): boolean {
    for (const r of this.ooo) if (r.start <= b && a <= r.end) return true;
    return false;
  }

  private copyIn(offset: number, data: Uint8Array, n: number): void {
    this.ensure(this.len + offset + n);
    const buf = this.buf!;
    const cap = buf.length;
    const at = (this.head + this.len + offset) % cap;
    const first = Math.min(n, cap - at);
    buf.set(data.subarray(0, first), at);
    if (first < n) buf.set(data.subarray(first, n), 0);
  }

  /** Make room for `end` bytes past the head, keeping in-order and out-of-order bytes in place. */
  private ensure(end: number): void {
    const old = this.buf;
    if (old && end <= old.length) return;
    let size = Math.max(old ? old.length * 2 : 0, INITIAL_ALLOC);
    while (size < end) size *= 2;
    size = Math.min(size, this.capacity);
    const next = new Uint8Array(size);
    if (old) {
      // copy everything from the head up to the end of the last out-of-order range
      const used = this.len + (this.ooo.length ? this.ooo[this.ooo.length - 1].end : 0);
      const first = Math.min(used, old.length - this.head);
      next.set(old.subarray(this.head, this.head + first), 0);
      if (first < used) next.set(old.subarray(0, used - first), first);
    }
    this.buf = next;
    this.head = 0;
  }

  private insertRange(a: number, b: number): void {
    const list = this.ooo;
    let i = 0;
    while (i < list.length && list[i].end < a) i++;
    // merge every range overlapping or touching [a, b)
    let j = i;
    while (j < list.length && list[j].start <= b) {
      a = Math.min(a, list[j].start);
      b = Math.max(b, list[j].end);
      j++;
    }
    const merged = { start: a, end: b };
    list.splice(i, j - i, merged);
    this.lastRange = merged;
  }
}
