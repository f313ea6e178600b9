/**
 * Packet memory for hot paths: regions carved from shared 64 KiB slabs and
 * never reused once handed out. A fresh `new Uint8Array(1500)` allocates an
 * off-heap, zero-filled ArrayBuffer (about 2.6 µs on the bench machine, and
 * it pushes V8's external-memory GC); a view into a slab costs about 0.3 µs.
 * A view keeps its whole slab alive, so use this only for short-lived
 * packet buffers (one per frame/segment), never for long-lived state.
 *
 * Used by the HDLC framer (src/ppp/hdlc.ts), VJ (src/ppp/vj.ts), Deflate
 * and TCP's segments (stack/tcp). Regions start on 8-byte boundaries, so a
 * Uint32Array over a region (checksums) needs no realignment.
 *
 * Memory comes from `new Uint8Array` (zero-filled) unless the Node edge
 * installs an allocator that skips the zeroing (src/app/ppp-line.ts:
 * Buffer.allocUnsafeSlow, 256 KiB slabs: ~10 µs a slab against ~54 µs
 * zero-filled on the bench machine). That is safe because no region is
 * handed out before its taker has written all of it (`take`'s contract).
 */

/** Size of one slab with the default allocator. */
export const SLAB_BYTES = 64 * 1024;

let allocate = (n: number): Uint8Array => new Uint8Array(n);
let slabBytes = SLAB_BYTES;

/**
 * Process-wide: where slabs get their memory, and how big they are. For
 * the Node edge (see the header); cores never call it.
 */
export function setSlabAllocator(alloc: (n: number) => Uint8Array, bytes: number = SLAB_BYTES): void {
  allocate = alloc;
  slabBytes = bytes;
}

export class Slab {
  private slab: Uint8Array = new Uint8Array(0);
  private off = 0;

  /** Room for `n` bytes at the returned offset of `bytes`; nothing is taken until `commit`. */
  reserve(n: number): number {
    if (this.slab.length - this.off < n) {
      this.slab = allocate(n > slabBytes ? n : slabBytes);
      this.off = 0;
    }
    return this.off;
  }

  /** The slab `reserve` last answered for. */
  get bytes(): Uint8Array {
    return this.slab;
  }

  /** Take `n` bytes from the offset `reserve` returned. */
  commit(n: number): void {
    this.off = (this.off + n + 7) & ~7;
  }

  /** A fresh region of exactly `n` bytes (contents undefined: the caller writes all of it). */
  take(n: number): Uint8Array {
    const at = this.reserve(n);
    this.commit(n);
    return this.slab.subarray(at, at + n);
  }
}
