/**
 * RFC 1662 asynchronous HDLC-like framing, sans-I/O: `HdlcEncoder` turns one
 * PPP packet (protocol + information field) into escaped line bytes, and the
 * incremental `HdlcDecoder` turns line bytes, split or joined at any point,
 * back into packets. Sits between the line (src/link) and the session.
 *
 * Copies: the encoder writes escaped bytes once into a fresh output buffer;
 * the decoder unescapes once into a per-frame buffer whose view it hands
 * out (ownership passes to the consumer, so the next frame gets a new one).
 */
import { FCS16_GOOD, FCS16_INIT, fcs16 } from "./fcs.js";
import { PPP_LCP } from "./protocol-numbers.js";

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

/** True for an LCP Configure-Request … Code-Reject (codes 1-7): always sent with the default ACCM, as Linux ppp_async does (RFC 1662 §7.2). */
function isLcpControl(protocol: number, info: Uint8Array): boolean {
  return protocol === PPP_LCP && info.length > 0 && info[0] >= 1 && info[0] <= 7;
}

export class HdlcEncoder {
  /** Send ACCM: the peer asked us to escape these of 0x00-0x1f. Default until LCP is Opened. */
  accm = DEFAULT_ACCM;
  /** Address-and-Control-Field-Compression and Protocol-Field-Compression, as the peer allowed. */
  acfc = false;
  pfc = false;
  /** Extra bytes escaped on send (pppd `escape`), indexed by byte value; 0x7d/0x7e are always escaped. */
  private readonly extra = new Uint8Array(256);

  constructor(escape: readonly number[] = []) {
    this.setEscape(escape);
  }

  setEscape(bytes: readonly number[]): void {
    this.extra.fill(0);
    for (const b of bytes) this.extra[b & 0xff] = 1;
    this.extra[HDLC_FLAG] = 1;
    this.extra[HDLC_ESCAPE] = 1;
  }

  /** Back to the RFC 1662 defaults (LCP down). */
  reset(): void {
    this.accm = DEFAULT_ACCM;
    this.acfc = false;
    this.pfc = false;
  }

  /** One frame: leading flag, escaped header + info + FCS-16, trailing flag. */
  encode(protocol: number, info: Uint8Array): Uint8Array {
    const control = isLcpControl(protocol, info);
    const accm = control ? DEFAULT_ACCM : this.accm;
    const header = new Uint8Array(4);
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
    const hdr = header.subarray(0, h);
    let fcs = fcs16(hdr, FCS16_INIT);
    fcs = fcs16(info, fcs) ^ 0xffff;
    const out = new Uint8Array(2 + 2 * (h + info.length + 2));
    let o = 0;
    out[o++] = HDLC_FLAG;
    const put = (b: number): void => {
      if ((b < 0x20 && (accm >>> b) & 1) || this.extra[b]) {
        out[o++] = HDLC_ESCAPE;
        out[o++] = b ^ 0x20;
      } else out[o++] = b;
    };
    for (let i = 0; i < h; i++) put(hdr[i]);
    for (let i = 0; i < info.length; i++) put(info[i]);
    put(fcs & 0xff); // RFC 1662 §C.2: FCS goes least significant octet first
    put(fcs >>> 8);
    out[o++] = HDLC_FLAG;
    return out.subarray(0, o);
  }
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

export class HdlcDecoder {
  /** Receive ACCM: these of 0x00-0x1f are ignored when they arrive unescaped. */
  rxAccm = DEFAULT_ACCM;
  readonly counters: HdlcCounters = {
    frames: 0, octets: 0, badFcs: 0, aborted: 0, oversize: 0, runt: 0, badHeader: 0, ctrlIgnored: 0, garbage: 0,
  };
  private maxFrame = 0;
  /** True until the first flag: text before it is not a frame. */
  private hunting = true;
  private escaped = false;
  /** The frame in progress overflowed; skip to the next flag. */
  private overflow = false;
  private buf: Uint8Array | undefined;
  private len = 0;

  constructor(mru: number = DEFAULT_MRU) {
    this.setMru(mru);
  }

  /** Largest frame we accept: address/control (2) + protocol (2) + MRU + FCS-32 room (4) + slack. */
  setMru(mru: number): void {
    this.maxFrame = Math.max(mru, DEFAULT_MRU) + 8 + MRU_SLACK;
  }

  /** Feed line bytes; each complete good frame goes to `sink`. Never throws for bad input. */
  input(bytes: Uint8Array, sink: (frame: HdlcFrame) => void): void {
    const c = this.counters;
    c.octets += bytes.length;
    for (let i = 0; i < bytes.length; i++) {
      let b = bytes[i];
      if (b === HDLC_FLAG) {
        if (this.hunting) this.hunting = false;
        else if (this.escaped) c.aborted++; // RFC 1662 §4.2: 7d 7e aborts the frame
        else this.finish(sink);
        this.startFrame();
        continue;
      }
      if (this.hunting) {
        c.garbage++;
        continue;
      }
      if (b < 0x20 && (this.rxAccm >>> b) & 1) {
        c.ctrlIgnored++;
        continue;
      }
      if (this.overflow) continue;
      if (b === HDLC_ESCAPE) {
        this.escaped = true;
        continue;
      }
      if (this.escaped) {
        b ^= 0x20;
        this.escaped = false;
      }
      if (this.len >= this.maxFrame) {
        this.overflow = true;
        c.oversize++;
        continue;
      }
      if (!this.buf) this.buf = new Uint8Array(this.maxFrame);
      this.buf[this.len++] = b;
    }
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
    this.buf = undefined; // the consumer owns it now
    sink({ protocol, info: buf.subarray(p, end) });
  }
}
