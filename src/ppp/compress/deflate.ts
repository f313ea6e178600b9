/**
 * PPP Deflate (RFC 1979) per-packet codec, sans-I/O, on pako's zlib port;
 * wire-compatible with the Linux kernel's drivers/net/ppp/ppp_deflate.c.
 *
 * A compressed packet (PPP protocol 0x00fd, RFC 1962 §2) carries a 2-byte
 * sequence number, then the deflated protocol field (one byte when it is
 * below 0x100, as PFC would send it) and data. The compressor keeps ONE
 * deflate stream for the life of the link, so each packet is compressed
 * against the history of all earlier ones, and ends each packet with a
 * Z_SYNC_FLUSH, whose output always ends in an empty stored block
 * `00 00 FF FF`. Those four bytes are not sent: the kernel's compressor
 * (Z_PACKET_FLUSH, zlib_tr_stored_type_only) emits only the stored block's
 * 3 type bits, and its decompressor (zlib_inflateSyncPacket) insists the
 * packet ends exactly there (a packet that still carries the four bytes is
 * a Z_DATA_ERROR there). So we strip them on transmit and put them back
 * before inflating. What we found on RFC 1979 itself: the reference search
 * returned its abstract and table of contents (§2 "PPP Deflate Packets",
 * §2.1 "Packet Format", §3 "Configuration Option Format") but not the text
 * of §2.1, so we do not quote it here; the format above is taken from the
 * Linux sources read for this (ppp_deflate.c z_compress/z_decompress, the
 * kernel zlib's Z_PACKET_FLUSH and zlib_inflateSyncPacket), which is the
 * peer we must match, and a test checks our packets against that rule.
 *
 * A packet that would not shrink is sent as it was (its own protocol) but
 * still went through the compressor, so it is in the history; the receiver
 * adds such packets to its history too (ppp_deflate.c z_incomp, via the
 * kernel's zlib_inflateIncomp). pako has no inflateIncomp; like the
 * kernel's, ours (`incomp`) copies the packet into the inflate window,
 * which it may only do between blocks (after every whole packet).
 *
 * Incompressible data (a download of a zip, a JPEG, TLS) is where the kernel
 * spends its time: it deflates every packet at level 6 (match search plus a
 * Huffman tree per sync-flushed packet, ~50 µs for 1460 random bytes in
 * pako) only to send it as it was. We look first: a packet of 256 bytes or
 * more whose sampled bytes are nearly all different (`looksRandom`: at least
 * 90 distinct values in 128 samples; random data gives ~101, text ~40,
 * machine code ~70) is copied into the history without a search, exactly as
 * zlib's level 0 (deflate_stored) would (`appendStored`), and sent as it was. The peer
 * cannot tell: it adds an uncompressed packet to its history either way. The
 * cost is ratio on high-entropy bytes that repeat within the window, which
 * Deflate would have found as matches. Packets too short to ever come out
 * shorter (MIN_DEFLATE: VJ-compressed ACKs) are stored the same way.
 *
 * Window sizes: 9..15. zlib (and pako, a port of zlib 1.2.11) refuses a raw
 * deflate window of 8, and pppd never negotiates 8 (DEFLATE_MIN_WORKS 9,
 * "deflate 8" becomes 9 with a warning); its default is `deflate 15`.
 */
import ZStream from "pako/lib/zlib/zstream.js";
import zdeflate from "pako/lib/zlib/deflate.js";
import zinflate from "pako/lib/zlib/inflate.js";
import { Slab } from "../../../stack/util/slab.js";

/** RFC 1962 §2 protocol of a compressed datagram (and 0x00fb, the per-link one). */
export const PPP_COMP = 0x00fd;
export const PPP_COMPFRAG = 0x00fb;
/** RFC 1979 §2: 2-byte sequence number ahead of the compressed data (DEFLATE_OVHD). */
export const DEFLATE_OVHD = 2;
/** RFC 1979 §3 window sizes; pppd's DEFLATE_MIN_WORKS (zlib cannot do 8). */
export const DEFLATE_MIN_SIZE = 8;
export const DEFLATE_MIN_WORKS = 9;
export const DEFLATE_MAX_SIZE = 15;

// zlib.h constants.
const Z_SYNC_FLUSH = 2;
const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_BUF_ERROR = -5;
const Z_DEFLATED = 8;
/** ppp_deflate.c: Z_DEFAULT_COMPRESSION, memLevel 8, Z_DEFAULT_STRATEGY. */
const Z_DEFAULT_COMPRESSION = -1;
const DEFAULT_MEM_LEVEL = 8;
const Z_DEFAULT_STRATEGY = 0;

/**
 * Packets shorter than this are stored, not deflated. At 6 bytes or less
 * nothing can be saved: the smallest deflate output (3 block bits, one
 * 7-bit length code, a 5-bit distance, a 7-bit end of block, the 3-bit
 * empty stored block of the flush) is 4 bytes, plus the 2-byte sequence
 * number, and z_compress wants it shorter than the data. Up to 15 little
 * can: in a 32 MiB bulk transfer 6 of 11,492 nine-byte VJ ACKs came out
 * 2 bytes shorter, and each attempt cost a Huffman tree build (~10 µs).
 */
const MIN_DEFLATE = 16;
/** `looksRandom`: packets below this are deflated (they may match the history) unless below MIN_DEFLATE. */
const SNIFF_MIN_BYTES = 256;
/** `looksRandom`: bytes sampled, and the distinct values among them that mean "incompressible". */
const SNIFF_SAMPLES = 128;
const SNIFF_DISTINCT = 90;

/**
 * The fields of pako's DeflateState that storing a packet touches, as
 * zlib's deflate_stored() updates them: the window (`window_size` =
 * 2 * `w_size` bytes, history up to `strstart`), `block_start`, `insert`
 * (bytes at the window's end not yet hashed), `matches` (while storing:
 * 1 = a window slide left the hash stale, 2 = the window was replaced),
 * `high_water`; and what must be empty first: `lookahead`, `pending`.
 * `head` is the hash, cleared as deflateParams() does after a slide.
 */
interface DeflateWindowState {
  window: Uint8Array;
  w_size: number;
  window_size: number;
  strstart: number;
  block_start: number;
  insert: number;
  matches: number;
  high_water: number;
  lookahead: number;
  pending: number;
  head: Uint16Array;
}

/**
 * Of the bytes stored since the last search, how many the next search
 * hashes first (deflate's `insert`). zlib hashes up to a window's worth
 * (32 KiB: ~0.35 ms in pako, after every run of stored packets); stored
 * packets looked random, so matches into them are not worth that. The
 * last 512 bytes still are hashed, so the next packet can match what
 * just preceded it.
 */
const STORED_HASHED = 512;

/**
 * Append `src` to the compressor's history as deflate_stored() does with
 * the bytes it copies (zlib 1.2.11+, as pako ports it), without emitting
 * the stored block nobody would read; only the last STORED_HASHED bytes
 * are left for the hash.
 */
function appendStored(s: DeflateWindowState, src: Uint8Array): void {
  const used = src.length;
  if (used === 0) return;
  if (used >= s.w_size) {
    // Supplant the previous history; the hash must be cleared before the next search.
    s.matches = 2;
    s.window.set(src.subarray(used - s.w_size), 0);
    s.strstart = s.w_size;
    s.insert = s.strstart;
  } else {
    if (s.window_size - s.strstart <= used) {
      // Slide the window down by w_size; the hash is stale until slid or cleared.
      s.strstart -= s.w_size;
      s.window.copyWithin(0, s.w_size, s.w_size + s.strstart);
      if (s.matches < 2) s.matches++;
      if (s.insert > s.strstart) s.insert = s.strstart;
    }
    s.window.set(src, s.strstart);
    s.strstart += used;
    s.insert += used > s.w_size - s.insert ? s.w_size - s.insert : used;
  }
  if (s.insert > STORED_HASHED) s.insert = STORED_HASHED;
  s.block_start = s.strstart;
  if (!(s.high_water >= s.strstart)) s.high_water = s.strstart;
}

/**
 * The fields of pako's InflateState that zlib_inflateIncomp touches: the
 * mode (only between blocks), the bits held, and the circular window
 * (`window` of `wsize` = 2^wbits bytes, `whave` valid, next write at
 * `wnext`), kept as pako's own updatewindow() keeps them.
 */
interface InflateWindowState {
  mode: number;
  bits: number;
  wbits: number;
  wsize: number;
  whave: number;
  wnext: number;
  window: Uint8Array | null;
}
/** pako inflate modes (zlib inflate.h) at which the stream is between blocks. */
const INFLATE_HEAD = 16180;
const INFLATE_TYPE = 16191;
const INFLATE_TYPEDO = 16192;

/** Append `src` to an inflate window as pako's updatewindow() does. */
function appendToWindow(st: InflateWindowState, src: Uint8Array): void {
  if (st.window === null) st.window = new Uint8Array(1 << st.wbits);
  if (st.wsize === 0) {
    st.wsize = 1 << st.wbits;
    st.wnext = 0;
    st.whave = 0;
  }
  const n = src.length;
  if (n >= st.wsize) {
    st.window.set(src.subarray(n - st.wsize), 0);
    st.wnext = 0;
    st.whave = st.wsize;
    return;
  }
  const first = Math.min(st.wsize - st.wnext, n);
  st.window.set(first === n ? src : src.subarray(0, first), st.wnext);
  if (first < n) {
    st.window.set(src.subarray(first), 0);
    st.wnext = n - first;
    st.whave = st.wsize;
  } else {
    st.wnext += first;
    if (st.wnext === st.wsize) st.wnext = 0;
    if (st.whave < st.wsize) st.whave += first;
  }
}

/** The empty stored block a sync flush ends with, stripped on the wire. */
const SYNC_TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

/** ppp_deflate.c: only network-layer protocols are compressed (not 0x00fd/0x00fb, nothing above 0x3fff). */
export function compressibleProtocol(proto: number): boolean {
  return proto <= 0x3fff && proto !== PPP_COMP && proto !== PPP_COMPFRAG;
}

function checkWindow(w: number): void {
  if (!Number.isInteger(w) || w < DEFLATE_MIN_WORKS || w > DEFLATE_MAX_SIZE) {
    throw new RangeError(`Deflate window must be ${DEFLATE_MIN_WORKS}..${DEFLATE_MAX_SIZE} (zlib cannot do ${DEFLATE_MIN_SIZE}), got ${w}`);
  }
}

/** The protocol field as deflate sees it: one byte when the high byte is 0 (ppp_deflate.c "off"). */
function protoBytes(proto: number): number {
  return proto > 0xff ? 2 : 1;
}

export interface DeflateCompressorStats {
  /** Packets and bytes (protocol + data) offered. */
  uncPackets: number;
  uncBytes: number;
  /** Sent compressed: packets, and bytes on the wire (sequence number + deflated data). */
  compPackets: number;
  compBytes: number;
  /** Sent as they were, because they would not shrink. */
  incPackets: number;
  incBytes: number;
  /** Of those, packets that went into the history without a match search: too short to shrink, or random-looking. */
  storedPackets: number;
}

export interface DeflateCompressorOptions {
  /** zlib level 1..9 or -1 (default, 6, as the kernel uses). The peer's decompressor does not care. */
  level?: number;
  /** zlib memLevel 1..9 (default 8, as the kernel). */
  memLevel?: number;
}

/** The transmit side: one deflate stream, per-packet sync flush, sequence numbers (z_compress). */
export class DeflateCompressor {
  private readonly strm = new ZStream();
  /** Sequence number of the next packet (low 16 bits on the wire). */
  private seqno = 0;
  private scratch = new Uint8Array(2048);
  private out = new Uint8Array(2048);
  readonly stats: DeflateCompressorStats = {
    uncPackets: 0, uncBytes: 0, compPackets: 0, compBytes: 0, incPackets: 0, incBytes: 0, storedPackets: 0,
  };
  /** Where sent packets are carved from. */
  private readonly slab = new Slab();
  /** A stored packet's protocol field, as deflate sees it (1 or 2 bytes, right-aligned). */
  private readonly protoField = new Uint8Array(2);
  /** looksRandom's marks: seen[b] === stamp when byte b was sampled in this packet. */
  private readonly seen = new Uint32Array(256);
  private stamp = 0;

  constructor(readonly windowBits: number, private readonly opts: DeflateCompressorOptions = {}) {
    checkWindow(windowBits);
    const r = zdeflate.deflateInit2(
      this.strm, opts.level ?? Z_DEFAULT_COMPRESSION, Z_DEFLATED, -windowBits, opts.memLevel ?? DEFAULT_MEM_LEVEL,
      Z_DEFAULT_STRATEGY,
    );
    if (r !== Z_OK) throw new RangeError(`deflateInit2 failed (${r}) for window ${windowBits}`);
  }

  /** CCP Reset-Ack sent (or a new negotiation): empty history, sequence 0 (z_comp_reset). */
  reset(): void {
    this.seqno = 0;
    zdeflate.deflateReset(this.strm);
  }

  /**
   * The sniff: are at least SNIFF_DISTINCT of SNIFF_SAMPLES bytes, spread
   * evenly over input[0, n), different? A cheap stand-in for order-0
   * entropy: above ~7.2 bits a byte, Deflate saves less on a packet than
   * its own block header costs.
   */
  private looksRandom(input: Uint8Array, n: number): boolean {
    const seen = this.seen;
    const stamp = ++this.stamp;
    if (stamp === 0xffffffff) {
      seen.fill(0);
      this.stamp = 0;
    }
    const step = Math.floor(n / SNIFF_SAMPLES) || 1;
    let distinct = 0;
    for (let i = 0, k = 0; i < n && k < SNIFF_SAMPLES; i += step, k++) {
      const b = input[i];
      if (seen[b] !== stamp) {
        seen[b] = stamp;
        distinct++;
      }
    }
    return distinct >= SNIFF_DISTINCT;
  }

  /**
   * Compress one packet of protocol `proto` (information field `data`).
   * Returns what to send: `{ proto: 0x00fd, packet }` when it shrank, else
   * the packet as it was. Protocols above 0x3fff are not touched.
   */
  compress(proto: number, data: Uint8Array): { proto: number; packet: Uint8Array } {
    if (!compressibleProtocol(proto)) return { proto, packet: data };
    const pb = protoBytes(proto);
    const isize = pb + data.length;
    const seq = this.seqno;
    this.seqno = (this.seqno + 1) & 0xffff;
    this.stats.uncPackets++;
    this.stats.uncBytes += isize;
    const s = this.strm;
    const st = s.state as DeflateWindowState;
    const store = data.length < MIN_DEFLATE || (isize >= SNIFF_MIN_BYTES && this.looksRandom(data, data.length));
    if (store && st.lookahead === 0 && st.pending === 0 && st.strstart === st.block_start) {
      // Into the history without a search (see the header), then sent as it was.
      this.protoField[0] = proto >>> 8;
      this.protoField[1] = proto & 0xff;
      appendStored(st, this.protoField.subarray(2 - pb));
      appendStored(st, data);
      this.stats.storedPackets++;
      this.stats.incPackets++;
      this.stats.incBytes += isize;
      return { proto, packet: data };
    }
    if (st.matches !== 0) {
      // Back from stored packets whose window slides left hash entries stale: clear the hash,
      // as deflateParams does (zlib's CLEAR_HASH); the next fill_window re-hashes the recent window.
      st.head.fill(0);
      st.matches = 0;
    }
    if (this.scratch.length < isize) this.scratch = new Uint8Array(isize * 2);
    const input = this.scratch;
    if (pb === 2) input[0] = proto >>> 8;
    input[pb - 1] = proto & 0xff;
    input.set(data, pb);
    // Room for the worst case (stored blocks: 5 bytes per 16 KiB, plus the flush marker).
    const need = DEFLATE_OVHD + isize + (isize >>> 3) + 64;
    if (this.out.length < need) this.out = new Uint8Array(need * 2);
    const out = this.out;
    s.input = input;
    s.next_in = 0;
    s.avail_in = isize;
    s.output = out;
    s.next_out = DEFLATE_OVHD;
    s.avail_out = out.length - DEFLATE_OVHD;
    const r = zdeflate.deflate(s, Z_SYNC_FLUSH);
    s.input = null;
    const olen = s.next_out - SYNC_TAIL.length;
    const ok = r === Z_OK && s.avail_in === 0 && s.avail_out > 0 && endsWithSyncTail(out, s.next_out);
    if (!ok) {
      // Cannot happen with the room given. The stream state is unknown, so empty our history. That is
      // safe without telling the peer: with an empty history we emit no back-reference into data the
      // peer holds and we do not, so its older history is simply never used.
      zdeflate.deflateReset(s);
    }
    // z_compress: olen (4-byte PPP header + 2 + deflated) < isize (4-byte PPP header + data).
    if (!ok || olen >= data.length) {
      this.stats.incPackets++;
      this.stats.incBytes += isize;
      return { proto, packet: data };
    }
    out[0] = seq >>> 8;
    out[1] = seq & 0xff;
    this.stats.compPackets++;
    this.stats.compBytes += olen;
    const packet = this.slab.take(olen); // a copy the caller owns: `out` is reused
    packet.set(out.subarray(0, olen));
    return { proto: PPP_COMP, packet };
  }
}

function endsWithSyncTail(b: Uint8Array, end: number): boolean {
  return end >= 4 && b[end - 4] === 0 && b[end - 3] === 0 && b[end - 2] === 0xff && b[end - 1] === 0xff;
}

/** Why a compressed packet was not delivered; `fatal` as the kernel classes it (DECOMP_FATALERROR). */
export type DeflateError = "short" | "seq" | "inflate" | "mru" | "no-proto";

export type DecompressResult =
  | { ok: true; proto: number; packet: Uint8Array }
  | { ok: false; error: DeflateError; fatal: boolean; detail: string };

export interface DeflateDecompressorStats {
  /** Compressed packets delivered, and their bytes on the wire / after inflating. */
  compPackets: number;
  compBytes: number;
  uncBytes: number;
  /** Uncompressed packets added to the history (z_incomp). */
  incPackets: number;
  incBytes: number;
  /** Failures by reason. */
  errors: Record<string, number>;
}

/** The receive side: sequence check, inflate, and history for uncompressed packets (z_decompress, z_incomp). */
export class DeflateDecompressor {
  private readonly strm = new ZStream();
  /** Sequence number expected next. */
  private seqno = 0;
  private out: Uint8Array;
  /** Where delivered packets are carved from. */
  private readonly slab = new Slab();
  /** incomp's protocol field, as deflate saw it (1 or 2 bytes, right-aligned). */
  private readonly protoField = new Uint8Array(2);
  readonly stats: DeflateDecompressorStats = {
    compPackets: 0, compBytes: 0, uncBytes: 0, incPackets: 0, incBytes: 0, errors: {},
  };

  /** `mru`: the largest packet (protocol field excluded) we accept after inflating. */
  constructor(readonly windowBits: number, readonly mru: number) {
    checkWindow(windowBits);
    const r = zinflate.inflateInit2(this.strm, -windowBits);
    if (r !== Z_OK) throw new RangeError(`inflateInit2 failed (${r}) for window ${windowBits}`);
    this.out = new Uint8Array(mru + 2 + 1); // protocol (2) + mru, and one byte to see an overrun
  }

  /** CCP Reset-Ack received (or a new negotiation): empty history, sequence 0 (z_decomp_reset). */
  reset(): void {
    this.seqno = 0;
    zinflate.inflateReset(this.strm);
  }

  /** Sequence number expected next (for logs and tests). */
  get expectedSeq(): number {
    return this.seqno;
  }

  private fail(error: DeflateError, fatal: boolean, detail: string): DecompressResult {
    this.stats.errors[error] = (this.stats.errors[error] ?? 0) + 1;
    return { ok: false, error, fatal, detail };
  }

  /** One received 0x00fd packet (information field: sequence number + compressed data). */
  decompress(packet: Uint8Array): DecompressResult {
    if (packet.length <= DEFLATE_OVHD) return this.fail("short", false, `short packet (${packet.length})`);
    const seq = (packet[0] << 8) | packet[1];
    if (seq !== this.seqno) return this.fail("seq", false, `bad seq # ${seq}, expected ${this.seqno}`);
    this.seqno = (this.seqno + 1) & 0xffff;

    const s = this.strm;
    s.output = this.out;
    s.next_out = 0;
    s.avail_out = this.out.length;
    for (const chunk of [packet.subarray(DEFLATE_OVHD), SYNC_TAIL]) {
      s.input = chunk;
      s.next_in = 0;
      s.avail_in = chunk.length;
      const r = zinflate.inflate(s, Z_SYNC_FLUSH);
      if (r !== Z_OK && !(r === Z_BUF_ERROR && s.avail_in === 0 && s.avail_out > 0)) {
        s.input = null;
        if (r === Z_STREAM_END) return this.fail("inflate", true, "final block in a PPP Deflate stream");
        return this.fail("inflate", true, `inflate returned ${r} (${s.msg})`);
      }
      if (s.avail_out === 0) {
        s.input = null;
        return this.fail("mru", true, "ran out of mru");
      }
    }
    s.input = null;
    const n = s.next_out;
    if (n === 0) return this.fail("no-proto", false, "didn't get proto");
    let proto: number;
    let start: number;
    if (this.out[0] & 1) {
      proto = this.out[0];
      start = 1;
    } else {
      if (n < 2) return this.fail("no-proto", false, "didn't get proto");
      proto = (this.out[0] << 8) | this.out[1];
      start = 2;
    }
    if (n - start > this.mru) return this.fail("mru", true, "ran out of mru");
    this.stats.compPackets++;
    this.stats.compBytes += packet.length;
    this.stats.uncBytes += n;
    const delivered = this.slab.take(n - start); // a copy the caller owns: `out` is reused
    delivered.set(this.out.subarray(start, n));
    return { ok: true, proto, packet: delivered };
  }

  /**
   * A packet that arrived uncompressed while the decompressor runs: add it to
   * the history, as the peer's compressor did (z_incomp): the protocol
   * field and data are copied into the inflate window, as
   * zlib_inflateIncomp does. That needs the stream between blocks, as it is
   * after every whole packet; false (counted as an "incomp" error) if not,
   * and the next compressed packet will fail.
   */
  incomp(proto: number, data: Uint8Array): boolean {
    if (!compressibleProtocol(proto)) return true;
    this.seqno = (this.seqno + 1) & 0xffff;
    const pb = protoBytes(proto);
    const len = pb + data.length;
    const st = this.strm.state as InflateWindowState;
    if (!((st.mode === INFLATE_TYPE || st.mode === INFLATE_TYPEDO || st.mode === INFLATE_HEAD) && st.bits === 0)) {
      // Inside a block (the last compressed packet did not end on a flush): no place to add it.
      this.stats.errors["incomp"] = (this.stats.errors["incomp"] ?? 0) + 1;
      return false;
    }
    this.protoField[0] = proto >>> 8;
    this.protoField[1] = proto & 0xff;
    appendToWindow(st, this.protoField.subarray(2 - pb));
    appendToWindow(st, data);
    this.stats.incPackets++;
    this.stats.incBytes += len;
    return true;
  }
}
