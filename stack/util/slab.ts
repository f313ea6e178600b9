/**
 * Packet memory for hot paths: regions carved from shared 64 KiB slabs and
 * never reused once handed out. A fresh `new Uint8Array(1500)` allocates an
 * off-heap, zero-filled ArrayBuffer (about 2.6 µs on the bench machine, and
 * it pushes V8's external-memory GC); a view into a slab costs about 0.3 µs.
 * A view keeps its whole slab alive, so use this only for short-lived
 * packet buffers (one per frame/segment), never for long-lived state.
 *
 * Used by the HDLC framer (src/ppp/hdlc.ts), VJ (src/ppp/vj.ts) and the TCP
 * send/receive paths (stack/tcp). Regions start on 8-byte boundaries, so a
 * Uint32Array over a region (checksums) needs no realignment.
 */

/** Size of one slab. */
export const SLAB_BYTES = 64 * 1024;

export class Slab {
  private slab = new Uint8Array(0);
  private off = 0;

  /** Room for `n` bytes at the returned offset of `bytes`; nothing is taken until `commit`. */
  reserve(n: number): number {
    if (this.slab.length - this.off < n) {
      this.slab = new Uint8Array(n > SLAB_BYTES ? n : SLAB_BYTES);
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
