/**
 * RFC 1662 asynchronous HDLC-like framing, sans-I/O: `HdlcEncoder` turns one
 * PPP packet (protocol + information field) into escaped line bytes, and the
 * incremental `HdlcDecoder` turns line bytes, split or joined at any point,
 * back into packets. Sits between the line (src/link) and the session.
 *
 * Copies: the encoder writes escaped bytes once into an output region;
 * the decoder unescapes once into a per-frame region whose view it hands
 * out (ownership passes to the consumer, so the next frame gets a new one).
 * Regions are carved from 64 KiB slabs (stack/util/slab.ts), never reused once handed out:
 * a fresh off-heap ArrayBuffer per frame costs more than the framing itself
 * (about 3 µs each on the bench machine). A view keeps its whole slab alive.
 *
 * Speed: FCS-16 runs four bytes a step (fcs.ts), on encode in the same
 * pass that tests four bytes for escaping; the escape/receive-class
 * decisions are 256-entry tables rebuilt when the ACCM or escape set
 * changes; runs of plain bytes are copied with `set()`, and with a receive
 * ACCM of 0 the decoder finds 0x7d/0x7e with `indexOf`.
 */
import { FCS16_GOOD, FCS16_INIT, FCS16_T1, FCS16_T2, FCS16_T3, FCS16_T4, FCS16_T5, FCS16_T6, FCS16_T7, FCS16_TABLE, fcs16 } from "./fcs.js";
import { PPP_LCP } from "./protocol-numbers.js";
import { Slab } from "../../stack/util/slab.js";

/** RFC 1662 §3.1 Flag Sequence. */
export const HDLC_FLAG = 0x7e;
/** RFC 1662 §4.2 Control Escape. */
export const HDLC_ESCAPE = 0x7d;
/** RFC 1662 §3.1 All-Stations address and UI control field. */
export const HDLC_ALL_STATIONS = 0xff;
export const HDLC_UI = 0x03;
/** RFC 1662 §7.1 default Async-Control-Character-Map: escape all of 0x00-0x1f. */
export const DEFAULT_ACCM = 0xffffffff;
/** Bytes above the MRU we still take (peers miscount the header); beyond this a frame is dropped as oversize. */
const MRU_SLACK = 64;
/** RFC 1661 §6.1 default MRU. */
export const DEFAULT_MRU = 1500;
/** Runs shorter than this are copied by a byte loop: a `subarray()` + `set()` costs more. */
const MIN_SET_RUN = 24;

/** True for an LCP Configure-Request … Code-Reject (codes 1-7): always sent with the default ACCM, as Linux ppp_async does (RFC 1662 §7.2). */
function isLcpControl(protocol: number, info: Uint8Array): boolean {
  return protocol === PPP_LCP && info.length > 0 && info[0] >= 1 && info[0] <= 7;
}

export class HdlcEncoder {
  /** Address-and-Control-Field-Compression and Protocol-Field-Compression, as the peer allowed. */
  acfc = false;
  pfc = false;
  private sendAccm = DEFAULT_ACCM;
  /** Extra bytes escaped on send (pppd `escape`); 0x7d/0x7e are always escaped. */
  private extra: readonly number[] = [];
  /** escMap[b] = 1 when b goes out as 0x7d, b ^ 0x20 under `accm` + the extra set; rebuilt when either changes. */
  private readonly escMap = new Uint8Array(256);
  /** The same under DEFAULT_ACCM, for LCP Configure-Request … Code-Reject. */
  private readonly escMapDefault = new Uint8Array(256);
  /** True when escMap holds only 0x7d/0x7e (send ACCM 0, no `escape` bytes): encode finds them with indexOf. */
  private flagsOnly = false;
  /** The FCS the last escapeFlags()/escapeMapped() ended with. */
  private lastFcs = 0;
  /** While escaping a frame: where the pending plain run of info starts. */
  private runStart = 0;
  /** Address/control/protocol scratch (at most 4 bytes), reused per frame. */
  private readonly header = new Uint8Array(4);
  /** Where output frames are carved from. */
  private readonly slab = new Slab();

  constructor(escape: readonly number[] = []) {
    this.setEscape(escape);
  }

  /** Send ACCM: the peer asked us to escape these of 0x00-0x1f. Default until LCP is Opened. */
  get accm(): number {
    return this.sendAccm;
  }
  set accm(v: number) {
    this.sendAccm = v;
    buildEscMap(this.escMap, v, this.extra);
    this.flagsOnly = countEscaped(this.escMap) === 2;
  }

  setEscape(bytes: readonly number[]): void {
    this.extra = [...bytes];
    buildEscMap(this.escMap, this.sendAccm, this.extra);
    buildEscMap(this.escMapDefault, DEFAULT_ACCM, this.extra);
    this.flagsOnly = countEscaped(this.escMap) === 2;
  }

  /** Back to the RFC 1662 defaults (LCP down). */
  reset(): void {
    this.accm = DEFAULT_ACCM;
    this.acfc = false;
    this.pfc = false;
  }

  /**
   * One frame: leading flag, escaped header + info + FCS-16, trailing flag,
   * written once into a slab region reserved for the worst case (every
   * byte escaped); the view returned covers only the bytes written.
   * One pass over the info field folds it into the FCS and finds the bytes
   * to escape; plain runs between them are copied whole. Under send ACCM 0
   * with no extra escapes (the usual case once LCP is up) only 0x7d/0x7e
   * need escaping, tested eight bytes at a time on 32-bit words
   * (escapeFlags); otherwise each byte is looked up in the escape map
   * (escapeMapped).
   */
  encode(protocol: number, info: Uint8Array): Uint8Array {
    const esc = isLcpControl(protocol, info) ? this.escMapDefault : this.escMap;
    const header = this.header;
    let h = 0;
    // RFC 1661 §6.6: never compress Address/Control on an LCP packet (the kernel does on Echo; we accept that on receive).
    if (protocol === PPP_LCP || !this.acfc) {
      header[h++] = HDLC_ALL_STATIONS;
      header[h++] = HDLC_UI;
    }
    // RFC 1661 §6.5: only protocols 0x00xx may be compressed (so never LCP).
    if (this.pfc && protocol < 0x100) header[h++] = protocol;
    else {
      header[h++] = protocol >>> 8;
      header[h++] = protocol & 0xff;
    }
    const n = info.length;
    const slab = this.slab;
    const start = slab.reserve(2 + 2 * (h + n + 2));
    const out = slab.bytes;
    let o = start;
    out[o++] = HDLC_FLAG;
    for (let i = 0; i < h; i++) o = putEscaped(out, o, header[i], esc);
    let fcs = fcs16(header.subarray(0, h), FCS16_INIT);
    o = esc === this.escMap && this.flagsOnly ? this.escapeFlags(info, fcs, out, o) : this.escapeMapped(info, fcs, esc, out, o);
    fcs = this.lastFcs;
    fcs ^= 0xffff;
    // RFC 1662 §C.2: FCS goes least significant octet first.
    o = putEscaped(out, o, fcs & 0xff, esc);
    o = putEscaped(out, o, fcs >>> 8, esc);
    out[o++] = HDLC_FLAG;
    slab.commit(o - start);
    return out.subarray(start, o);
  }

  /**
   * Only 0x7d/0x7e escaped: eight bytes a step, FCS by slicing-by-8 and a
   * SWAR test of both 32-bit words for a 0x7d or 0x7e byte (no table
   * lookups); a hit re-checks its eight bytes one by one. Returns the new
   * end of `out`; the FCS is left in `lastFcs`.
   */
  private escapeFlags(info: Uint8Array, fcs: number, out: Uint8Array, o: number): number {
    const n = info.length;
    const t0 = FCS16_TABLE, t1 = FCS16_T1, t2 = FCS16_T2, t3 = FCS16_T3;
    const t4 = FCS16_T4, t5 = FCS16_T5, t6 = FCS16_T6, t7 = FCS16_T7;
    const esc = this.escMap; // exactly 0x7d and 0x7e here
    this.runStart = 0;
    let i = 0;
    for (const n8 = n - 7; i < n8; i += 8) {
      const b0 = info[i], b1 = info[i + 1], b2 = info[i + 2], b3 = info[i + 3];
      const b4 = info[i + 4], b5 = info[i + 5], b6 = info[i + 6], b7 = info[i + 7];
      const x = fcs ^ (b0 | (b1 << 8));
      fcs = t7[x & 0xff] ^ t6[x >>> 8] ^ t5[b2] ^ t4[b3] ^ t3[b4] ^ t2[b5] ^ t1[b6] ^ t0[b7];
      const lo = b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
      const hi = b4 | (b5 << 8) | (b6 << 16) | (b7 << 24);
      if ((hasByte7d7e(lo) | hasByte7d7e(hi)) !== 0) o = this.escapeSome(info, i, i + 8, esc, out, o);
    }
    this.lastFcs = fcs16(info.subarray(i), fcs);
    o = this.escapeSome(info, i, n, esc, out, o);
    return copyRun(info, this.runStart, n, out, o);
  }

  /**
   * Escape the bytes of info[from, to) that `esc` marks: each ends the
   * pending plain run (which starts at `runStart`), copied whole before it.
   * Returns the new end of `out`.
   */
  private escapeSome(info: Uint8Array, from: number, to: number, esc: Uint8Array, out: Uint8Array, o: number): number {
    for (let j = from; j < to; j++) {
      const b = info[j];
      if (esc[b] === 0) continue;
      o = copyRun(info, this.runStart, j, out, o);
      out[o++] = HDLC_ESCAPE;
      out[o++] = b ^ 0x20;
      this.runStart = j + 1;
    }
    return o;
  }

  /**
   * The general case: one pass over `info`, four bytes a step, folds them
   * into the FCS (slicing-by-4) and tests all four against `esc` at once;
   * plain runs are copied whole, escaped bytes break them. Returns the new
   * end of `out`; the FCS is left in `lastFcs`.
   */
  private escapeMapped(info: Uint8Array, fcs: number, esc: Uint8Array, out: Uint8Array, o: number): number {
    const n = info.length;
    const T0 = FCS16_TABLE;
    const T1 = FCS16_T1;
    const T2 = FCS16_T2;
    const T3 = FCS16_T3;
    this.runStart = 0;
    let i = 0;
    for (const n4 = n - 3; i < n4; i += 4) {
      const b0 = info[i];
      const b1 = info[i + 1];
      const b2 = info[i + 2];
      const b3 = info[i + 3];
      const x = fcs ^ (b0 | (b1 << 8));
      fcs = T3[x & 0xff] ^ T2[x >>> 8] ^ T1[b2] ^ T0[b3];
      if ((esc[b0] | esc[b1] | esc[b2] | esc[b3]) !== 0) o = this.escapeSome(info, i, i + 4, esc, out, o);
    }
    this.lastFcs = fcs16(info.subarray(i), fcs);
    o = this.escapeSome(info, i, n, esc, out, o);
    return copyRun(info, this.runStart, n, out, o);
  }
}

/** Copy info[from, to) to out[o..]: set() for long runs, a byte loop for short ones. Returns the new end. */
function copyRun(info: Uint8Array, from: number, to: number, out: Uint8Array, o: number): number {
  if (to - from >= MIN_SET_RUN) {
    out.set(info.subarray(from, to), o);
    return o + to - from;
  }
  for (let k = from; k < to; k++) out[o++] = info[k];
  return o;
}

/** Write `b` at out[o], escaped when `esc[b]`; returns the new end. */
function putEscaped(out: Uint8Array, o: number, b: number, esc: Uint8Array): number {
  if (esc[b] === 0) {
    out[o] = b;
    return o + 1;
  }
  out[o] = HDLC_ESCAPE;
  out[o + 1] = b ^ 0x20;
  return o + 2;
}

/** Non-zero when some byte of the 32-bit word `w` is 0x7d or 0x7e (the "has zero byte" bit trick on w ^ 0x7d7d7d7d and w ^ 0x7e7e7e7e). */
function hasByte7d7e(w: number): number {
  const a = w ^ 0x7d7d7d7d;
  const b = w ^ 0x7e7e7e7e;
  return ((a - 0x01010101) & ~a & 0x80808080) | ((b - 0x01010101) & ~b & 0x80808080);
}

/** How many bytes `map` escapes. */
function countEscaped(map: Uint8Array): number {
  let c = 0;
  for (let b = 0; b < 256; b++) c += map[b];
  return c;
}

/** Fill `map` with 1 for every byte sent escaped: ACCM bits of 0x00-0x1f, the extra set, and 0x7d/0x7e (RFC 1662 §4.2). */
function buildEscMap(map: Uint8Array, accm: number, extra: readonly number[]): void {
  for (let b = 0; b < 0x20; b++) map[b] = (accm >>> b) & 1;
  map.fill(0, 0x20);
  for (const b of extra) map[b & 0xff] = 1;
  map[HDLC_FLAG] = 1;
  map[HDLC_ESCAPE] = 1;
}

export interface HdlcFrame {
  protocol: number;
  /** The information field (for control protocols: code, id, length, data). */
  info: Uint8Array;
}

/** Decoder counters: every dropped frame or byte is counted under its reason. */
export interface HdlcCounters {
  frames: number;
  octets: number;
  badFcs: number;
  aborted: number;
  oversize: number;
  runt: number;
  badHeader: number;
  /** Unescaped characters in the receive ACCM, ignored per RFC 1662 §7.1. */
  ctrlIgnored: number;
  /** Bytes seen before the first flag (e.g. DCC "CLIENT" text). */
  garbage: number;
}

/** Receive byte classes for HdlcDecoder's table (`rxClass`). */
const RX_DATA = 0;
const RX_FLAG = 1;
const RX_ESCAPE = 2;
/** In the receive ACCM: ignored when it arrives unescaped (RFC 1662 §7.1). */
const RX_IGNORED = 3;

export class HdlcDecoder {
  readonly counters: HdlcCounters = {
    frames: 0, octets: 0, badFcs: 0, aborted: 0, oversize: 0, runt: 0, badHeader: 0, ctrlIgnored: 0, garbage: 0,
  };
  private recvAccm = DEFAULT_ACCM;
  /** rxClass[b]: RX_DATA, RX_FLAG (0x7e), RX_ESCAPE (0x7d) or RX_IGNORED (in rxAccm); rebuilt in place when rxAccm changes. */
  private readonly rxClass = new Uint8Array(256);
  private maxFrame = 0;
  /** True until the first flag: text before it is not a frame. */
  private hunting = true;
  private escaped = false;
  /** The frame in progress overflowed; skip to the next flag. */
  private overflow = false;
  /** Unescaped bytes of the frame in progress; at least maxFrame long (setMru grows it). */
  private buf: Uint8Array | undefined;
  private len = 0;
  /** Where frame buffers are carved from. */
  private readonly slab = new Slab();

  constructor(mru: number = DEFAULT_MRU) {
    this.setMru(mru);
    this.rxAccm = DEFAULT_ACCM;
  }

  /** Receive ACCM: these of 0x00-0x1f are ignored when they arrive unescaped. */
  get rxAccm(): number {
    return this.recvAccm;
  }
  set rxAccm(v: number) {
    this.recvAccm = v;
    const t = this.rxClass;
    for (let b = 0; b < 0x20; b++) t[b] = (v >>> b) & 1 ? RX_IGNORED : RX_DATA;
    t[HDLC_FLAG] = RX_FLAG;
    t[HDLC_ESCAPE] = RX_ESCAPE;
  }

  /** Largest frame we accept: address/control (2) + protocol (2) + MRU + FCS-32 room (4) + slack. */
  setMru(mru: number): void {
    this.maxFrame = Math.max(mru, DEFAULT_MRU) + 8 + MRU_SLACK;
    // A frame in progress keeps its bytes when the limit grows (the sink may raise the MRU mid-chunk).
    const old = this.buf;
    if (old && old.length < this.maxFrame) {
      this.buf = this.frameBuf();
      this.buf.set(old.subarray(0, this.len));
    }
  }

  /** A maxFrame-long region for the next frame; taken from the slab only when the frame is handed out. */
  private frameBuf(): Uint8Array {
    const start = this.slab.reserve(this.maxFrame);
    return this.slab.bytes.subarray(start, start + this.maxFrame);
  }

  /**
   * Feed line bytes; each complete good frame goes to `sink`. Never throws for bad input.
   * Text before the first flag is skipped with indexOf; inside a frame plain
   * bytes are copied by a tight loop (one class-table lookup each), long runs
   * under receive ACCM 0 by indexOf + set(); the frame state lives in locals
   * (written back before `sink` runs and at the end). Counters and drops are
   * exactly those of the byte-at-a-time decoder (test/unit/ppp/hdlc-fast.test.ts).
   */
  input(chunk: Uint8Array, sink: (frame: HdlcFrame) => void): void {
    // A plain view: the link's chunk is usually a Node Buffer, whose subarray() (used below per run) costs several times more.
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    const c = this.counters;
    const end = bytes.length;
    c.octets += end;
    let i = 0;
    if (this.hunting) {
      const f = bytes.indexOf(HDLC_FLAG);
      if (f < 0) {
        c.garbage += end;
        return;
      }
      c.garbage += f;
      this.hunting = false;
      this.startFrame();
      i = f + 1;
    }
    const cls = this.rxClass;
    let buf = this.buf;
    let len = this.len;
    let escaped = this.escaped;
    let overflow = this.overflow;
    let max = this.maxFrame;
    // With receive ACCM 0 only 0x7d and 0x7e are special: find them with indexOf
    // (positions cached until passed; `end` when there is none).
    let runs = this.recvAccm === 0;
    let next7d = -1;
    let next7e = -1;
    for (; i < end; i++) {
      if (!escaped && !overflow) {
        // Copy plain bytes in a tight loop; after MIN_SET_RUN of them (receive ACCM 0 only)
        // find the run's end with indexOf and copy the rest with set(). Probing first keeps
        // dense escaping from paying an indexOf per escape.
        if (buf === undefined) buf = this.buf = this.frameBuf();
        let stop = i + MIN_SET_RUN;
        if (stop > end) stop = end;
        if (stop - i > max - len) stop = i + (max > len ? max - len : 0);
        let b0 = 0;
        while (i < stop && cls[(b0 = bytes[i])] === RX_DATA) {
          buf[len++] = b0;
          i++;
        }
        if (runs && i === stop && i < end) {
          if (next7e < i) {
            next7e = bytes.indexOf(HDLC_FLAG, i);
            if (next7e < 0) next7e = end;
          }
          if (next7d < i) {
            next7d = bytes.indexOf(HDLC_ESCAPE, i);
            if (next7d < 0) next7d = end;
          }
          let run = (next7d < next7e ? next7d : next7e) - i;
          if (len + run > max) run = max - len; // the byte after the limit takes the oversize path below
          if (run > 0) {
            buf.set(bytes.subarray(i, i + run), len);
            len += run;
            i += run;
          }
        }
        if (i >= end) break;
      }
      let b = bytes[i];
      const k = cls[b];
      if (k !== RX_DATA) {
        if (k === RX_FLAG) {
          if (escaped) c.aborted++; // RFC 1662 §4.2: 7d 7e aborts the frame
          else {
            this.len = len;
            this.overflow = overflow;
            this.buf = buf;
            this.finish(sink);
            runs = this.recvAccm === 0; // the sink may have changed the ACCM or the MRU
          }
          len = 0;
          escaped = false;
          overflow = false;
          buf = this.buf;
          max = this.maxFrame;
        } else if (k === RX_IGNORED) c.ctrlIgnored++;
        else if (!overflow) escaped = true; // RX_ESCAPE
        continue;
      }
      if (overflow) continue;
      if (escaped) {
        b ^= 0x20;
        escaped = false;
      }
      if (len >= max) {
        overflow = true;
        c.oversize++;
        continue;
      }
      if (buf === undefined) buf = this.buf = this.frameBuf();
      buf[len++] = b;
    }
    this.buf = buf;
    this.len = len;
    this.escaped = escaped;
    this.overflow = overflow;
  }

  private startFrame(): void {
    this.len = 0;
    this.escaped = false;
    this.overflow = false;
  }

  private finish(sink: (frame: HdlcFrame) => void): void {
    const c = this.counters;
    const n = this.len;
    if (this.overflow || n === 0) return; // oversize already counted; empty = back-to-back flags
    const buf = this.buf!;
    if (n < 4) {
      c.runt++;
      return;
    }
    // RFC 1662 §C.2: FCS-16 over the unescaped frame including its FCS.
    if (fcs16(buf.subarray(0, n)) !== FCS16_GOOD) {
      c.badFcs++;
      return;
    }
    let p = 0;
    if (buf[0] === HDLC_ALL_STATIONS) {
      if (buf[1] !== HDLC_UI) {
        c.badHeader++;
        return;
      }
      p = 2;
    }
    const end = n - 2;
    let protocol: number;
    if (p < end && buf[p] & 1) protocol = buf[p++]; // RFC 1661 §6.5 compressed protocol field
    else if (p + 1 < end && buf[p + 1] & 1) {
      protocol = (buf[p] << 8) | buf[p + 1];
      p += 2;
    } else {
      c.badHeader++;
      return;
    }
    c.frames++;
    this.slab.commit(n);
    this.buf = undefined; // the consumer owns it now
    sink({ protocol, info: buf.subarray(p, end) });
  }
}
