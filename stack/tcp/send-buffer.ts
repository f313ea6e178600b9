/**
 * The send buffer of one TCP connection: a growable ring of bytes holding
 * everything from SND.UNA onward (unacknowledged, then not yet sent). The
 * application's bytes are copied in once (`write`), copied out once per
 * segment (`copyOut`), and dropped when acknowledged (`consume`). Capacity is
 * fixed at creation; the backing array grows by doubling up to it, so an idle
 * connection holds little memory. Part of stack/tcp.
 */

const INITIAL_ALLOC = 16 * 1024;

export class SendBuffer {
  private buf = new Uint8Array(0);
  /** Index in `buf` of the byte at SND.UNA's data offset 0. */
  private head = 0;
  /** Bytes held (acknowledged bytes already removed). */
  private len = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.len;
  }

  get free(): number {
    return this.capacity - this.len;
  }

  /** Copy in as much of `data` as fits; returns the number of bytes taken. */
  write(data: Uint8Array): number {
    const n = Math.min(data.length, this.capacity - this.len);
    if (n === 0) return 0;
    this.ensure(this.len + n);
    const cap = this.buf.length;
    const tail = (this.head + this.len) % cap;
    const first = Math.min(n, cap - tail);
    this.buf.set(data.subarray(0, first), tail);
    if (first < n) this.buf.set(data.subarray(first, n), 0);
    this.len += n;
    return n;
  }

  /** Copy `n` bytes starting `offset` bytes past the head into `dst` at `dstOff`. */
  copyOut(offset: number, dst: Uint8Array, dstOff: number, n: number): void {
    const cap = this.buf.length;
    const start = (this.head + offset) % cap;
    const first = Math.min(n, cap - start);
    dst.set(this.buf.subarray(start, start + first), dstOff);
    if (first < n) dst.set(this.buf.subarray(0, n - first), dstOff + first);
  }

  /** Bytes of backing memory currently allocated. */
  get allocated(): number {
    return this.buf.length;
  }

  /** Drop the backing array if nothing is held. */
  release(): void {
    if (this.len === 0) {
      this.buf = new Uint8Array(0);
      this.head = 0;
    }
  }

  /** Drop `n` acknowledged bytes from the head. */
  consume(n: number): void {
    if (n <= 0) return;
    if (n > this.len) n = this.len;
    this.len -= n;
    this.head = this.len === 0 ? 0 : (this.head + n) % this.buf.length;
  }

  private ensure(need: number): void {
    if (need <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, INITIAL_ALLOC);
    while (size < need) size *= 2;
    size = Math.min(Math.max(size, need), this.capacity);
    const next = new Uint8Array(size);
    if (this.len > 0) this.copyOut(0, next, 0, this.len);
    this.buf = next;
    this.head = 0;
  }
}
