/**
 * Types for the two pako modules the Deflate codec drives directly: the
 * zlib port's low-level deflate/inflate (pako's Deflate/Inflate wrappers
 * buffer output until a chunk fills, which a per-packet codec cannot use).
 * Only what src/ppp/compress/deflate.ts calls is declared.
 */
declare module "pako/lib/zlib/zstream.js" {
  class ZStream {
    input: Uint8Array | null;
    next_in: number;
    avail_in: number;
    total_in: number;
    output: Uint8Array | null;
    next_out: number;
    avail_out: number;
    total_out: number;
    msg: string;
    /** The deflate or inflate state; deflate.ts reads the few DeflateState fields zlib's deflateParams would set. */
    state: unknown;
  }
  export default ZStream;
}

declare module "pako/lib/zlib/deflate.js" {
  import type ZStream from "pako/lib/zlib/zstream.js";
  const m: {
    deflateInit2(strm: ZStream, level: number, method: number, windowBits: number, memLevel: number, strategy: number): number;
    deflate(strm: ZStream, flush: number): number;
    deflateReset(strm: ZStream): number;
    deflateEnd(strm: ZStream): number;
  };
  export default m;
}

declare module "pako/lib/zlib/inflate.js" {
  import type ZStream from "pako/lib/zlib/zstream.js";
  const m: {
    inflateInit2(strm: ZStream, windowBits: number): number;
    inflate(strm: ZStream, flush: number): number;
    inflateReset(strm: ZStream): number;
    inflateEnd(strm: ZStream): number;
  };
  export default m;
}
