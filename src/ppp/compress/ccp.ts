/**
 * CCP, the Compression Control Protocol (RFC 1962; PPP protocol 0x80fd),
 * on the shared RFC 1661 automaton (fsm.ts) and option-table machinery
 * (options.ts), as pppd's ccp.c runs it with the Linux kernel's
 * ppp_generic.c doing the data path. Options: Deflate (RFC 1979, type 26)
 * and the draft number 24 pppd also offers, BSD-Compress (RFC 1977, type
 * 21); Predictor and MPPE are printed but always rejected (not
 * implemented). As in pppd, each direction uses the FIRST option of the
 * request that was acked (go->method / ho->method): our request lists
 * Deflate before BSD-Compress, so Deflate wins when both are acked.
 *
 * Besides negotiation, the `Ccp` object owns the data path:
 * `transmit(proto, info)` compresses outgoing network-layer packets into
 * 0x00fd, `receive(proto, info, now)` decompresses incoming 0x00fd and
 * feeds uncompressed packets to the decompressor's history. As in the
 * kernel (ppp_ccp_peek), our compressor starts when we SEND a Configure-Ack
 * and our decompressor when we RECEIVE one; a Configure-Request,
 * Terminate-Request or Terminate-Ack in either direction stops both. A
 * decompression failure sends a Reset-Request (RFC 1962 §2.3) and drops
 * compressed packets until the Reset-Ack; a Reset-Request from the peer
 * resets our compressor as our Reset-Ack goes out.
 *
 * pppd options map to `CcpConfig`: `noccp` = { enabled: false },
 * `nodeflate` = no `deflate`, `deflate R[,T]` = { deflate: { rx: R, tx: T } }
 * (R: the window we ask the peer to compress with; T: the largest window we
 * agree to compress with; 0 turns that direction off), `nodeflatedraft` =
 * { deflateDraft: false }; `bsdcomp R[,T]` = { bsdComp: { rx: R, tx: T } }
 * (code sizes 9..15, 0 = off that way), `nobsdcomp` = no `bsdComp`. Unlike
 * pppd (whose default is `bsdcomp 15`), BSD-Compress is off unless asked
 * for, so the default Configure-Request stays `<deflate 15> <deflate(old#) 15>`.
 */
import type { Millis } from "../../../stack/util/time.js";
import { earliest } from "../../../stack/util/time.js";
import { CONFACK, CONFREJ, CONFREQ, Fsm, HEADER_LEN, TERMACK, TERMREQ, type FsmCallbacks, type ReqVerdict } from "../fsm.js";
import { OptionProtocol, formatOptions, hexBytes, hx, type OptionSpec, type OptionTable } from "../options.js";
import { printString } from "../printer.js";
import {
  DEFLATE_MAX_SIZE, DEFLATE_MIN_SIZE, DEFLATE_MIN_WORKS, DeflateCompressor, DeflateDecompressor, PPP_COMP,
  type DeflateCompressorOptions,
} from "./deflate.js";
import {
  BSD_CURRENT_VERSION, BSD_MAX_BITS, BSD_MIN_BITS, BsdCompressor, BsdDecompressor, bsdMakeOpt, bsdNbits, bsdVersion,
} from "./bsd-comp.js";

/** RFC 1962 PPP protocol numbers. */
export const PPP_CCP = 0x80fd;
export { PPP_COMP };
const PPP_LCP = 0xc021;

/** RFC 1962 §2.1 Reset-Request and Reset-Ack codes. */
export const CCP_RESETREQ = 14;
export const CCP_RESETACK = 15;

/** Option types: RFC 1979 Deflate, the draft's number pppd also sends, RFC 1977 BSD-Compress, Predictor, MPPE. */
export const CI_DEFLATE = 26;
export const CI_DEFLATE_DRAFT = 24;
export const CI_BSD_COMPRESS = 21;
export const CI_PREDICTOR_1 = 1;
export const CI_PREDICTOR_2 = 2;
export const CI_MPPE = 18;
/** RFC 1979 §3: option length 4; method 8 (deflate) in the low nibble; check method 0 (sequence). */
export const CILEN_DEFLATE = 4;
/** RFC 1977 §3: option length 3 (version << 5 | code size). */
export const CILEN_BSD_COMPRESS = 3;
export const DEFLATE_METHOD_VAL = 8;
export const DEFLATE_CHK_SEQUENCE = 0;
/** pppd ccp.c RACKTIMEOUT: one second between Reset-Requests. */
export const RACK_TIMEOUT_MS = 1000;

/** pppd's CCP settings (see the header for the option names). */
export interface CcpConfig {
  enabled: boolean;
  /** Deflate windows; undefined = `nodeflate`. */
  deflate?: { tx: number; rx: number };
  /** Offer and accept the draft option number 24 too (pppd default; `nodeflatedraft` turns it off). */
  deflateDraft?: boolean;
  /**
   * BSD-Compress code sizes (pppd `bsdcomp R[,T]`): rx = what we ask the
   * peer to compress with, tx = the largest we agree to compress with; 0
   * turns that direction off; undefined = `nobsdcomp` (our default).
   */
  bsdComp?: { tx: number; rx: number };
  /** pppd: an inflate error (not a sequence gap) takes CCP down ("Lost compression sync"). Default: Reset-Request instead. */
  closeOnFatalError?: boolean;
  /** zlib tuning of our compressor (the peer does not care). */
  compressor?: DeflateCompressorOptions;
  /** Largest packet we accept after decompression (default 1500; the session passes its MRU). */
  mru?: number;
}

/** pppd's defaults: CCP on, `deflate 15` both ways, draft number offered too. */
export function defaultCcpConfig(): CcpConfig {
  return { enabled: true, deflate: { tx: DEFLATE_MAX_SIZE, rx: DEFLATE_MAX_SIZE }, deflateDraft: true };
}

/**
 * pppd's `deflate` option value, "R" or "R,T" (ccp.c setdeflate): each 0 or
 * 8..15; 8 becomes 9 with pppd's warning. Throws a message naming the option.
 */
export function parseDeflateOption(value: string): { deflate: { tx: number; rx: number } | undefined; warning?: string } {
  const m = /^\s*(\d+)\s*(?:,\s*(\d+)\s*)?$/.exec(value);
  if (!m) throw new RangeError(`invalid parameter '${value}' for deflate option`);
  let rx = Number(m[1]);
  let tx = m[2] !== undefined ? Number(m[2]) : rx;
  const bad = (n: number): boolean => n !== 0 && (n < DEFLATE_MIN_SIZE || n > DEFLATE_MAX_SIZE);
  if (bad(rx) || bad(tx)) throw new RangeError(`deflate option values must be 0 or ${DEFLATE_MIN_SIZE} .. ${DEFLATE_MAX_SIZE}`);
  let warning: string | undefined;
  if (rx === DEFLATE_MIN_SIZE || tx === DEFLATE_MIN_SIZE) {
    if (rx === DEFLATE_MIN_SIZE) rx = DEFLATE_MIN_WORKS;
    if (tx === DEFLATE_MIN_SIZE) tx = DEFLATE_MIN_WORKS;
    warning = `deflate option value of ${DEFLATE_MIN_SIZE} changed to ${DEFLATE_MIN_WORKS} to avoid zlib bug`;
  }
  if (rx === 0 && tx === 0) return { deflate: undefined, warning };
  return { deflate: { rx, tx }, warning };
}

/**
 * pppd's `bsdcomp` option value, "R" or "R,T" (ccp.c setbsdcomp): each 0 or
 * 9..15. Throws pppd's message. Both 0 = `nobsdcomp` (undefined).
 */
export function parseBsdCompOption(value: string): { bsdComp: { tx: number; rx: number } | undefined } {
  const m = /^\s*(\d+)\s*(?:,\s*(\d+)\s*)?$/.exec(value);
  if (!m) throw new RangeError(`invalid parameter '${value}' for bsdcomp option`);
  const rx = Number(m[1]);
  const tx = m[2] !== undefined ? Number(m[2]) : rx;
  const bad = (n: number): boolean => n !== 0 && (n < BSD_MIN_BITS || n > BSD_MAX_BITS);
  if (bad(rx) || bad(tx)) throw new RangeError(`bsdcomp option values must be 0 or ${BSD_MIN_BITS} .. ${BSD_MAX_BITS}`);
  if (rx === 0 && tx === 0) return { bsdComp: undefined };
  return { bsdComp: { rx, tx } };
}

/** One Deflate option's value (RFC 1979 §3). */
export interface DeflateValue {
  size: number;
  method: number;
  check: number;
}

/** pppd's ccp_options, for what we implement: window per option number, and the first option (the method). */
export interface CcpOptions {
  deflate?: number;
  deflateDraft?: number;
  /** BSD-Compress code size (pppd bsd_bits; undefined = not asking / not asked). */
  bsd?: number;
  /** The first option of the request: the method used (pppd go->method / ho->method); -1 none. */
  method: number;
}

interface CcpCtx {
  /** Largest window we agree to compress with (0 = Deflate not allowed). */
  allowSize: number;
  allowDraft: boolean;
  /** Largest BSD-Compress code size we agree to compress with (0 = not allowed). */
  allowBsd: number;
}

const deflateCodec = {
  decode: (d: Uint8Array): DeflateValue | undefined =>
    d.length >= 2 ? { size: (d[0] >> 4) + 8, method: d[0] & 0x0f, check: d[1] } : undefined,
  encode: (v: DeflateValue): Uint8Array => Uint8Array.of(((v.size - 8) << 4) | v.method, v.check),
};

const deflateOf = (size: number): DeflateValue => ({ size, method: DEFLATE_METHOD_VAL, check: DEFLATE_CHK_SEQUENCE });

/** pppd ccp_printpkt: "deflate 15", "deflate(old#) 15", " method N" / " check N" when unusual, leftovers in hex. */
function printDeflate(type: number, d: Uint8Array): string | undefined {
  if (d.length < 2) return undefined;
  let s = `deflate${type === CI_DEFLATE_DRAFT ? "(old#)" : ""} ${(d[0] >> 4) + 8}`;
  if ((d[0] & 0x0f) !== DEFLATE_METHOD_VAL) s += ` method ${d[0] & 0x0f}`;
  if (d[1] !== DEFLATE_CHK_SEQUENCE) s += ` check ${d[1]}`;
  return s + hexBytes(d.subarray(2));
}

function deflateSpec(type: number, key: "deflate" | "deflateDraft"): OptionSpec<CcpOptions, CcpCtx, DeflateValue> {
  return {
    type, name: type === CI_DEFLATE ? "deflate" : "deflate(old#)",
    decode: (d) => (d.length === CILEN_DEFLATE - 2 ? deflateCodec.decode(d) : undefined),
    encode: deflateCodec.encode,
    print: (d) => printDeflate(type, d),
    get: (o) => (o[key] !== undefined ? deflateOf(o[key]!) : undefined),
    set: (o, v) => (o[key] = v?.size),
    // pppd ccp_reqci CI_DEFLATE / CI_DEFLATE_DRAFT
    check: (v, c, his) => {
      if (c.allowSize === 0 || (type === CI_DEFLATE_DRAFT && !c.allowDraft)) return { kind: "rej" };
      his[key] = v.size;
      if (v.method !== DEFLATE_METHOD_VAL || v.check !== DEFLATE_CHK_SEQUENCE || v.size > c.allowSize
          || v.size < DEFLATE_MIN_WORKS) {
        return { kind: "nak", value: deflateOf(c.allowSize) };
      }
      return { kind: "ack" };
    },
    // pppd ccp_nakci: stop asking for Deflate if we do not understand the suggestion; take a smaller window.
    nak: (v, t) => {
      if (v.method !== DEFLATE_METHOD_VAL || v.size < DEFLATE_MIN_WORKS || v.check !== DEFLATE_CHK_SEQUENCE) {
        t.deflate = undefined;
        t.deflateDraft = undefined;
      } else {
        if (t.deflate !== undefined && v.size < t.deflate) t.deflate = v.size;
        if (t.deflateDraft !== undefined && v.size < t.deflateDraft) t.deflateDraft = v.size;
      }
      return true;
    },
  };
}

/** One BSD-Compress option's value (RFC 1977 §3). */
export interface BsdValue {
  version: number;
  bits: number;
}

/** RFC 1977 BSD-Compress, negotiated as pppd ccp.c does (ccp_reqci / ccp_nakci CI_BSD_COMPRESS). */
const bsdSpec: OptionSpec<CcpOptions, CcpCtx, BsdValue> = {
  type: CI_BSD_COMPRESS, name: "bsd",
  decode: (d) => (d.length === CILEN_BSD_COMPRESS - 2 ? { version: bsdVersion(d[0]), bits: bsdNbits(d[0]) } : undefined),
  encode: (v) => Uint8Array.of(bsdMakeOpt(v.version, v.bits)),
  // pppd ccp_printpkt: "bsd v1 15", leftovers in hex
  print: (d) => (d.length >= 1 ? `bsd v${bsdVersion(d[0])} ${bsdNbits(d[0])}${hexBytes(d.subarray(1))}` : undefined),
  get: (o) => (o.bsd !== undefined ? { version: BSD_CURRENT_VERSION, bits: o.bsd } : undefined),
  set: (o, v) => (o.bsd = v?.bits),
  check: (v, c, his) => {
    if (c.allowBsd === 0) return { kind: "rej" };
    his.bsd = v.bits;
    if (v.version !== BSD_CURRENT_VERSION || v.bits > c.allowBsd || v.bits < BSD_MIN_BITS) {
      return { kind: "nak", value: { version: BSD_CURRENT_VERSION, bits: c.allowBsd } };
    }
    return { kind: "ack" };
  },
  // pppd ccp_nakci: another version = stop asking; a smaller size is taken (one we cannot do = stop asking).
  nak: (v, t) => {
    if (v.version !== BSD_CURRENT_VERSION || v.bits < BSD_MIN_BITS) t.bsd = undefined;
    else if (t.bsd !== undefined && v.bits < t.bsd) t.bsd = v.bits;
    return true;
  },
};

/** Options we only print (pppd ccp_printpkt) and always reject. */
function printOnly(type: number, name: string, print: (d: Uint8Array) => string | undefined): OptionSpec<CcpOptions, CcpCtx> {
  return { type, name, decode: (d) => d, encode: (v: Uint8Array) => v, print, get: () => undefined, set: () => {} };
}

/** The CCP option table, in the order pppd puts them in its Configure-Request. */
export const CCP_OPTIONS: OptionTable<CcpOptions, CcpCtx> = [
  deflateSpec(CI_DEFLATE, "deflate"),
  deflateSpec(CI_DEFLATE_DRAFT, "deflateDraft"),
  bsdSpec,
  printOnly(CI_PREDICTOR_1, "predictor 1", (d) => `predictor 1${hexBytes(d)}`),
  printOnly(CI_PREDICTOR_2, "predictor 2", (d) => `predictor 2${hexBytes(d)}`),
];

const CCP_CODENAMES: (string | undefined)[] = [
  "ConfReq", "ConfAck", "ConfNak", "ConfRej", "TermReq", "TermAck", "CodeRej",
  undefined, undefined, undefined, undefined, undefined, undefined, "ResetReq", "ResetAck",
];

/** pppd ccp_printpkt, whole: `[CCP ConfReq id=0x1 <deflate 15> <deflate(old#) 15>]`, for `sent`/`rcvd` debug lines. */
export function formatCcpPacket(info: Uint8Array): string {
  if (info.length < HEADER_LEN) return "[CCP]" + hexBytes(info);
  const code = info[0];
  const len = (info[2] << 8) | info[3];
  if (len < HEADER_LEN || len > info.length) return "[CCP]" + hexBytes(info);
  const name = code >= 1 && code <= CCP_CODENAMES.length ? CCP_CODENAMES[code - 1] : undefined;
  let text = `[CCP ${name ?? `code=${hx(code)}`} id=${hx(info[1])}`;
  let body = info.subarray(HEADER_LEN, len);
  if (code >= CONFREQ && code <= CONFREJ) {
    const f = formatOptions(CCP_OPTIONS, body);
    text += f.text;
    body = body.subarray(f.used);
  } else if ((code === TERMREQ || code === TERMACK) && body.length > 0 && body[0] >= 0x20 && body[0] < 0x7f) {
    text += " " + printString(body);
    body = body.subarray(body.length);
  }
  return text + hexBytes(body) + "]" + hexBytes(info.subarray(len));
}

/** pppd method_name(): "Deflate (15)", "Deflate(old#) (15/12)", "BSD-Compress (15)", "BSD-Compress (15/12)". */
function methodName(o: CcpOptions, o2?: CcpOptions): string {
  if (o.method === CI_BSD_COMPRESS) {
    if (o2 && o2.bsd !== o.bsd) return `BSD-Compress (${o.bsd}/${o2.bsd})`;
    return `BSD-Compress (${o.bsd})`;
  }
  const size = (x: CcpOptions): number | undefined => (x.method === CI_DEFLATE ? x.deflate : x.deflateDraft);
  if (o.method !== CI_DEFLATE && o.method !== CI_DEFLATE_DRAFT) return o.method < 0 ? "(none)" : `Method ${o.method}`;
  const old = o.method === CI_DEFLATE_DRAFT ? "(old#)" : "";
  const s2 = o2 ? size(o2) : undefined;
  if (o2 && s2 !== size(o)) return `Deflate${old} (${size(o)}/${s2})`;
  return `Deflate${old} (${size(o)})`;
}

const anyCompress = (o: CcpOptions): boolean => o.deflate !== undefined || o.deflateDraft !== undefined || o.bsd !== undefined;

/** What the data path holds: a Deflate or a BSD-Compress codec (same shape). */
type PacketCompressor = DeflateCompressor | BsdCompressor;
type PacketDecompressor = DeflateDecompressor | BsdDecompressor;

export interface CcpHooks {
  /** This-Layer-Up / -Down: compression negotiated, or gone. */
  up?(now: Millis): void;
  down?(now: Millis): void;
  log(level: "info" | "debug" | "warn" | "error", text: string): void;
}

export interface CcpStats {
  /** Packets compressed / sent as they were by the data path. */
  txCompressed: number;
  txUncompressed: number;
  rxDecompressed: number;
  /** Compressed packets dropped by reason (not-running, error-state, seq, inflate, ...). */
  rxDrops: Record<string, number>;
  resetReqSent: number;
  resetReqRcvd: number;
  resetAckRcvd: number;
}

export class Ccp extends OptionProtocol<CcpOptions, CcpCtx> implements FsmCallbacks, CcpCtx {
  readonly fsm: Fsm;
  allowSize: number;
  allowDraft: boolean;
  allowBsd: number;
  /** Our last Configure-Request's options (for the first/fast Ack and the method). */
  private sentReq: Uint8Array = new Uint8Array(0);
  /** Our compressor, running between our Configure-Ack and the next renegotiation (SC_COMP_RUN). */
  private compressor: PacketCompressor | undefined;
  /** Our decompressor, running between the peer's Configure-Ack and the next renegotiation (SC_DECOMP_RUN). */
  private decompressor: PacketDecompressor | undefined;
  /** A decompression failed: drop compressed packets until a Reset-Ack (SC_DC_ERROR). */
  private rxError = false;
  /** pppd ccp_localstate RACK_PENDING / RREQ_REPEAT, the id of our Reset-Request, its timer. */
  private rackPending = false;
  private rreqRepeat = false;
  private resetId = 0;
  private rackDeadline: Millis | undefined;
  readonly stats: CcpStats = {
    txCompressed: 0, txUncompressed: 0, rxDecompressed: 0, rxDrops: {}, resetReqSent: 0, resetReqRcvd: 0, resetAckRcvd: 0,
  };

  constructor(private readonly config: CcpConfig, private readonly hooks: CcpHooks) {
    super(CCP_OPTIONS);
    this.want = { method: -1 };
    this.got = { method: -1 };
    this.his = { method: -1 };
    this.fsm = new Fsm("CCP", this);
    for (const [k, v] of Object.entries(config.deflate ?? {})) {
      if (v !== 0 && (!Number.isInteger(v) || v < DEFLATE_MIN_WORKS || v > DEFLATE_MAX_SIZE)) {
        throw new RangeError(`deflate ${k} window ${v}: must be 0 or ${DEFLATE_MIN_WORKS} .. ${DEFLATE_MAX_SIZE} (use parseDeflateOption for pppd's 'deflate' values)`);
      }
    }
    for (const [k, v] of Object.entries(config.bsdComp ?? {})) {
      if (v !== 0 && (!Number.isInteger(v) || v < BSD_MIN_BITS || v > BSD_MAX_BITS)) {
        throw new RangeError(`bsdcomp ${k} code size ${v}: must be 0 or ${BSD_MIN_BITS} .. ${BSD_MAX_BITS} (use parseBsdCompOption for pppd's 'bsdcomp' values)`);
      }
    }
    const d = config.enabled ? config.deflate : undefined;
    this.allowSize = d?.tx ?? 0;
    this.allowDraft = config.deflateDraft ?? true;
    this.allowBsd = config.enabled ? config.bsdComp?.tx ?? 0 : 0;
  }

  /** False under `noccp`: the session then Protocol-Rejects CCP, as pppd does. */
  get enabled(): boolean {
    return this.config.enabled;
  }

  // --- commands (pppd ccp_open / ccp_close / lowerup / lowerdown / protrej) ----------

  /** Network phase: CCP may come up. Silent (wait for the peer) when we ask for nothing. */
  open(now: Millis): void {
    if (!this.config.enabled) return;
    this.resetCi();
    this.fsm.silent = !anyCompress(this.got);
    this.fsm.open(now);
  }

  close(reason: string, now: Millis): void {
    this.stopData();
    this.fsm.close(reason, now);
  }

  lowerUp(now: Millis): void {
    this.fsm.lowerUp(now);
  }

  lowerDown(now: Millis): void {
    this.stopData();
    this.fsm.lowerDown(now);
  }

  /** LCP got a Protocol-Reject for CCP: the peer does not do compression. */
  protocolRejected(now: Millis): void {
    this.stopData();
    this.fsm.lowerDown(now);
  }

  /** One received CCP packet (information field). */
  input(packet: Uint8Array, now: Millis): void {
    const code = packet.length >= HEADER_LEN ? packet[0] : -1;
    // ppp_ccp_peek, inbound: the peer's Configure-Request renegotiates what it receives, so only our
    // compressor stops (our decompressor keeps running); a Terminate-* stops both directions.
    if (code === CONFREQ) this.stopCompressor();
    else if (code === TERMREQ || code === TERMACK) this.stopData();
    const old = this.fsm.state;
    this.fsm.input(packet, now);
    if (old === "Opened" && code === TERMREQ && this.fsm.state !== "Opened") this.hooks.log("info", "Compression disabled by peer.");
    if (old === "ReqSent" && code === TERMACK && !anyCompress(this.got)) this.close("No compression negotiated", now);
  }

  /** The next CCP packet to send; the data path watches it go, as ppp_ccp_peek does. */
  pollTransmit(): Uint8Array | undefined {
    const p = this.fsm.pollTransmit();
    if (!p) return undefined;
    switch (p[0]) {
      case CONFREQ:
        // ppp_ccp_peek, outbound: our own Configure-Request renegotiates what we receive.
        this.stopDecompressor();
        break;
      case TERMREQ:
      case TERMACK:
        this.stopData();
        break;
      case CONFACK:
        // We agreed to the peer's request: start compressing with what it asked for.
        this.startCompressor();
        break;
      case CCP_RESETACK:
        this.compressor?.reset();
        break;
    }
    return p;
  }

  pollTimeout(): Millis | undefined {
    return earliest(this.fsm.pollTimeout(), this.rackDeadline);
  }

  handleTimeout(now: Millis): void {
    this.fsm.handleTimeout(now);
    if (this.rackDeadline !== undefined && now >= this.rackDeadline) {
      // pppd ccp_rack_timeout
      this.rackDeadline = undefined;
      if (this.fsm.state === "Opened" && this.rreqRepeat) {
        this.sendResetReq(this.resetId, now);
        this.rreqRepeat = false;
      } else this.rackPending = false;
    }
  }

  // --- data path ---------------------------------------------------------------------

  /** True while we compress what we send. */
  get transmitting(): boolean {
    return this.compressor !== undefined;
  }

  /** True while we decompress what we receive. */
  get receiving(): boolean {
    return this.decompressor !== undefined;
  }

  /** An outgoing packet: compressed into 0x00fd when the compressor runs and it shrinks. */
  transmit(proto: number, info: Uint8Array): { proto: number; info: Uint8Array } {
    if (!this.compressor || proto === PPP_LCP || proto === PPP_CCP) return { proto, info };
    const r = this.compressor.compress(proto, info);
    if (r.proto === PPP_COMP) this.stats.txCompressed++;
    else this.stats.txUncompressed++;
    return { proto: r.proto, info: r.packet };
  }

  /**
   * An incoming packet: 0x00fd is decompressed (undefined when dropped; a
   * Reset-Request may be queued), anything else passes through and, while
   * the decompressor runs, goes into its history.
   */
  receive(proto: number, info: Uint8Array, now: Millis): { proto: number; info: Uint8Array } | undefined {
    if (proto !== PPP_COMP) {
      if (this.decompressor && !this.rxError) this.decompressor.incomp(proto, info);
      return { proto, info };
    }
    if (!this.decompressor) return this.rxDrop("not-running", now);
    if (this.rxError) return this.rxDrop("error-state", now);
    const r = this.decompressor.decompress(info);
    if (!r.ok) {
      this.rxError = true;
      this.hooks.log("debug", `CCP: decompression failed: ${r.detail}`);
      if (r.fatal && this.config.closeOnFatalError && this.fsm.state === "Opened") {
        this.stats.rxDrops[r.error] = (this.stats.rxDrops[r.error] ?? 0) + 1;
        this.hooks.log("error", "Lost compression sync: disabling compression");
        this.close("Lost compression sync", now);
        return undefined;
      }
      return this.rxDrop(r.error, now);
    }
    this.stats.rxDecompressed++;
    return { proto: r.proto, info: r.packet };
  }

  /** Count a dropped compressed packet and ask the peer to reset (pppd ccp_datainput). */
  private rxDrop(reason: string, now: Millis): undefined {
    this.stats.rxDrops[reason] = (this.stats.rxDrops[reason] ?? 0) + 1;
    if (this.fsm.state === "Opened") {
      if (!this.rackPending) {
        this.resetId = this.fsm.nextId();
        this.sendResetReq(this.resetId, now);
        this.rackPending = true;
      } else this.rreqRepeat = true;
    }
    return undefined;
  }

  private sendResetReq(id: number, now: Millis): void {
    this.stats.resetReqSent++;
    this.fsm.sendData(CCP_RESETREQ, id, new Uint8Array(0));
    this.rackDeadline = now + RACK_TIMEOUT_MS;
  }

  /** The kernel's comp_init with the Configure-Ack's first option: the peer's first (acked) option is our method. */
  private startCompressor(): void {
    const h = this.his;
    if (h.method === CI_BSD_COMPRESS && h.bsd !== undefined) {
      this.compressor = new BsdCompressor(h.bsd);
      return;
    }
    const size = h.method === CI_DEFLATE ? h.deflate : h.method === CI_DEFLATE_DRAFT ? h.deflateDraft : undefined;
    this.compressor = size !== undefined ? new DeflateCompressor(size, this.config.compressor) : undefined;
  }

  /** decomp_init with the first option of our acked request. */
  private startDecompressor(): void {
    const g = this.got;
    const mru = this.config.mru ?? 1500;
    this.rxError = false;
    if (g.method === CI_BSD_COMPRESS && g.bsd !== undefined) {
      this.decompressor = new BsdDecompressor(g.bsd, mru);
      return;
    }
    const size = g.method === CI_DEFLATE ? g.deflate : g.method === CI_DEFLATE_DRAFT ? g.deflateDraft : undefined;
    this.decompressor = size !== undefined ? new DeflateDecompressor(size, mru) : undefined;
  }

  /** The running codecs, for stats and tests (undefined when that direction is off). */
  get codecs(): { compressor: PacketCompressor | undefined; decompressor: PacketDecompressor | undefined } {
    return { compressor: this.compressor, decompressor: this.decompressor };
  }

  private stopCompressor(): void {
    this.compressor = undefined;
  }

  private stopDecompressor(): void {
    this.decompressor = undefined;
    this.rxError = false;
  }

  private stopData(): void {
    this.stopCompressor();
    this.stopDecompressor();
  }

  // --- FsmCallbacks (pppd ccp_resetci, addci, ackci, nakci, rejci, reqci, up, down, extcode) ---

  resetCi(): void {
    const c = this.config;
    const rx = c.enabled ? c.deflate?.rx ?? 0 : 0;
    const bsdRx = c.enabled ? c.bsdComp?.rx ?? 0 : 0;
    this.want = {
      deflate: rx ? rx : undefined,
      deflateDraft: rx && (c.deflateDraft ?? true) ? rx : undefined,
      bsd: bsdRx ? bsdRx : undefined,
      method: -1,
    };
    this.got = { ...this.want };
  }

  override buildConfReq(): Uint8Array {
    this.sentReq = super.buildConfReq();
    this.got.method = this.sentReq.length ? this.sentReq[0] : -1; // pppd ccp_addci: go->method
    return this.sentReq;
  }

  override ackCi(body: Uint8Array): boolean {
    const req = this.sentReq;
    // pppd ccp_ackci also copes with a "first/fast ack" that repeats only our first option.
    const ok = super.ackCi(body) || (req.length >= 2 && bytesEqual(body, req.subarray(0, req[1])));
    if (ok && this.fsm.state !== "Opened") this.startDecompressor(); // ppp_ccp_peek: inbound ConfAck
    return ok;
  }

  override reqCi(body: Uint8Array, rejectIfDisagree: boolean): { verdict: ReqVerdict; reply: Uint8Array } {
    const r = super.reqCi(body, rejectIfDisagree);
    // pppd ccp_reqci: ho->method is the first option the peer asked for.
    this.his.method = r.verdict === CONFACK && body.length > 0 ? body[0] : -1;
    return r;
  }

  up(now: Millis): void {
    const go = this.got;
    const ho = this.his;
    if (anyCompress(go)) {
      if (anyCompress(ho)) {
        if (go.method === ho.method) this.hooks.log("info", `${methodName(go, ho)} compression enabled`);
        else this.hooks.log("info", `${methodName(go)} / ${methodName(ho)} compression enabled`);
      } else this.hooks.log("info", `${methodName(go)} receive compression enabled`);
    } else if (anyCompress(ho)) this.hooks.log("info", `${methodName(ho)} transmit compression enabled`);
    this.hooks.up?.(now);
  }

  down(now: Millis): void {
    this.rackPending = false;
    this.rreqRepeat = false;
    this.rackDeadline = undefined;
    this.stopData();
    this.hooks.down?.(now);
  }

  starting(): void {}

  finished(): void {}

  extCode(code: number, id: number, _data: Uint8Array, _now: Millis): boolean {
    switch (code) {
      case CCP_RESETREQ:
        this.stats.resetReqRcvd++;
        // Our compressor resets as the Reset-Ack goes out (pollTransmit), so nothing compressed
        // with the old history follows it.
        if (this.fsm.state === "Opened") this.fsm.sendData(CCP_RESETACK, id, new Uint8Array(0));
        return true;
      case CCP_RESETACK:
        this.stats.resetAckRcvd++;
        // ppp_ccp_peek: an inbound Reset-Ack resets the decompressor and clears the error, whatever its id.
        if (this.decompressor) {
          this.decompressor.reset();
          this.rxError = false;
        }
        if (this.rackPending && id === this.resetId) {
          this.rackPending = false;
          this.rreqRepeat = false;
          this.rackDeadline = undefined;
        }
        return true;
      default:
        return false;
    }
  }

  log(level: "info" | "debug" | "warn" | "error", text: string): void {
    this.hooks.log(level, text);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
