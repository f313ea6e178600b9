/**
 * LCP (RFC 1661) on top of the shared automaton (fsm.ts): its option table
 * (MRU, ACCM, Auth-Protocol, Magic-Number, PFC, ACFC, plus print-only
 * entries for options we always reject: Quality, Callback, MRRU, SSNHF,
 * Endpoint Discriminator), the LCP-only codes (Protocol-Reject, Echo,
 * Discard, Identification, Time-Remaining), magic-number loopback detection
 * and the echo keepalive. Sans-I/O; the session owns framing and phases.
 */
import type { Millis } from "../../stack/util/time.js";
import type { Rng } from "../../stack/util/rng.js";
import { formatIp4, readIp4 } from "../../stack/util/addr.js";
import type { AuthMethod, SessionConfig } from "./session-config.js";
import {
  DISCREQ, ECHOREP, ECHOREQ, Fsm, IDENTIF, PROTREJ, TIMEREM, type FsmCallbacks,
} from "./fsm.js";
import { OptionProtocol, flag, hexBytes, hx, u16, u32, type OptionSpec, type OptionTable } from "./options.js";
import { PPP_CHAP, PPP_PAP } from "./protocol-numbers.js";

/** RFC 1661 §6 option types. */
export const CI_MRU = 1;
export const CI_ASYNCMAP = 2;
export const CI_AUTHTYPE = 3;
export const CI_QUALITY = 4;
export const CI_MAGICNUMBER = 5;
export const CI_PCOMPRESSION = 7;
export const CI_ACCOMPRESSION = 8;
/** RFC 1570 / RFC 1990 options Windows sends and we reject. */
export const CI_CALLBACK = 13;
export const CI_MRRU = 17;
export const CI_SSNHF = 18;
export const CI_EPDISC = 19;

/** RFC 1661 §6.1 default MRU, and pppd's PPP_MINMRU floor. */
export const DEFAULT_MRU = 1500;
export const MIN_MRU = 128;
/** RFC 1994 §2 CHAP algorithms: MD5; RFC 2759 MS-CHAPv2; RFC 2433 MS-CHAP (v1). */
export const CHAP_MD5 = 0x05;
export const CHAP_MSV2 = 0x81;
export const CHAP_MSV1 = 0x80;
/** pppd lcp_loopbackfail: Naks of our magic in a row before "Serial line is looped back." */
export const LOOPBACK_FAIL = 10;

export interface AuthOpt {
  proto: number;
  alg?: number;
}

/** pppd's want/got/his LCP option set; undefined = not negotiated. */
export interface LcpOptions {
  mru?: number;
  accm?: number;
  auth?: AuthOpt;
  magic?: number;
  pfc?: true;
  acfc?: true;
}

export function authOpt(method: AuthMethod): AuthOpt {
  if (method === "pap") return { proto: PPP_PAP };
  return { proto: PPP_CHAP, alg: method === "chap-md5" ? CHAP_MD5 : method === "mschap" ? CHAP_MSV1 : CHAP_MSV2 };
}

export function authMethodOf(a: AuthOpt): AuthMethod | undefined {
  if (a.proto === PPP_PAP && a.alg === undefined) return "pap";
  if (a.proto === PPP_CHAP && a.alg === CHAP_MD5) return "chap-md5";
  if (a.proto === PPP_CHAP && a.alg === CHAP_MSV1) return "mschap";
  if (a.proto === PPP_CHAP && a.alg === CHAP_MSV2) return "mschapv2";
  return undefined;
}

/** What the option checks need to know about the LCP instance. */
interface LcpCtx {
  got: LcpOptions;
  /** As peer: methods we accept, in the order we suggest them. */
  peerMethods: AuthMethod[];
  /** As authenticator: methods we require and have not given up on. */
  authCandidates: AuthMethod[];
  allowPfc: boolean;
  allowAcfc: boolean;
  wantMru: number;
  rng: Rng;
  loopedBack: boolean;
}

const CHAP_ALG_NAMES: Record<number, string> = { [CHAP_MD5]: " MD5", [CHAP_MSV1]: " MS", [CHAP_MSV2]: " MS-v2" };
const EPD_CLASS_NAMES = ["null", "local", "IP", "MAC", "magic", "phone"];

/** pppd multilink.c epdisc_to_str. */
function epdiscToStr(cls: number, v: Uint8Array): string {
  if (cls === 0 && v.length === 0) return "null";
  if (cls === 2 && v.length === 4) return "IP:" + formatIp4(readIp4(v, 0));
  let c2 = ".";
  let mask = 0;
  if (cls === 3 && v.length === 6) c2 = ":";
  else if (cls === 4 && v.length % 4 === 0) mask = 3;
  let s = cls <= 5 ? EPD_CLASS_NAMES[cls] : String(cls);
  let c = ":";
  for (let i = 0; i < v.length && i < 20; i++) {
    if ((i & mask) === 0) {
      s += c;
      c = c2;
    }
    s += v[i].toString(16).padStart(2, "0");
  }
  return s;
}

/** Options we never negotiate but print as pppd does (and Reject). */
function printOnly(type: number, name: string, print: (d: Uint8Array) => string | undefined): OptionSpec<LcpOptions, LcpCtx> {
  return { type, name, decode: (d) => d, encode: (v: Uint8Array) => v, print, get: () => undefined, set: () => {} };
}

/** PFC / ACFC (RFC 1661 §6.5, §6.6): empty options; a Nak of one means the peer will not do it. */
function compressionFlag(
  type: number, name: string, key: "pfc" | "acfc", allow: "allowPfc" | "allowAcfc",
): OptionSpec<LcpOptions, LcpCtx> {
  return {
    type, name, ...flag,
    print: (d) => (d.length === 0 ? name : undefined),
    get: (o) => o[key],
    set: (o, v) => (o[key] = v),
    check: (_v, c, his) => (c[allow] ? ((his[key] = true), { kind: "ack" }) : { kind: "rej" }),
    nak: (_v, t) => ((t[key] = undefined), true),
  };
}

/** The LCP option table: each option declared once. */
export const LCP_OPTIONS: OptionTable<LcpOptions, LcpCtx> = [
  {
    type: CI_MRU, name: "mru", ...u16,
    print: (d) => (d.length === 2 ? `mru ${(d[0] << 8) | d[1]}` : undefined),
    get: (o) => o.mru,
    set: (o, v) => (o.mru = v),
    check: (v: number, _c, his) => {
      if (v < MIN_MRU) return { kind: "nak", value: MIN_MRU };
      his.mru = v;
      return { kind: "ack" };
    },
    nak: (v: number, t, c, asRej) => {
      if (asRej) t.mru = undefined;
      else if (v <= c.wantMru || v <= DEFAULT_MRU) t.mru = v; // pppd lcp_nakci
      return true;
    },
  },
  {
    type: CI_ASYNCMAP, name: "asyncmap", ...u32,
    print: (d) => (d.length === 4 ? `asyncmap ${hx(u32.decode(d)!)}` : undefined),
    get: (o) => o.accm,
    set: (o, v) => (o.accm = v),
    check: (v: number, _c, his) => {
      his.accm = v;
      return { kind: "ack" };
    },
    nak: (v: number, t, c, asRej) => {
      if (asRej) t.accm = undefined;
      else t.accm = ((c.got.accm ?? 0) | v) >>> 0; // escape what both want
      return true;
    },
  },
  {
    type: CI_AUTHTYPE, name: "auth",
    decode: (d) => (d.length === 2 ? { proto: (d[0] << 8) | d[1] } : d.length === 3 ? { proto: (d[0] << 8) | d[1], alg: d[2] } : undefined),
    encode: (a: AuthOpt) => (a.alg === undefined ? u16.encode(a.proto) : Uint8Array.of(a.proto >>> 8, a.proto & 0xff, a.alg)),
    print: (d) => {
      if (d.length < 2) return undefined;
      const proto = (d[0] << 8) | d[1];
      let rest = d.subarray(2);
      let s = "auth ";
      if (proto === PPP_PAP) s += "pap";
      else if (proto === PPP_CHAP) {
        s += "chap";
        if (rest.length && CHAP_ALG_NAMES[rest[0]]) {
          s += CHAP_ALG_NAMES[rest[0]];
          rest = rest.subarray(1);
        }
      } else if (proto === 0xc227) s += "eap";
      else s += hx(proto);
      return s + hexBytes(rest);
    },
    get: (o) => o.auth,
    set: (o, v) => (o.auth = v),
    check: (v: AuthOpt, c, his) => {
      const m = authMethodOf(v);
      if (m && c.peerMethods.includes(m) && his.auth === undefined) {
        his.auth = v;
        return { kind: "ack" };
      }
      if (c.peerMethods.length === 0 || his.auth !== undefined) return { kind: "rej" };
      return { kind: "nak", value: authOpt(c.peerMethods[0]) };
    },
    nak: (v: AuthOpt, t, c, asRej) => {
      if (t.auth === undefined) return true; // not asking: ignore the suggestion (pppd)
      const current = authMethodOf(t.auth);
      const suggested = authMethodOf(v);
      if (!asRej && suggested && suggested !== current && c.authCandidates.includes(suggested)) {
        t.auth = authOpt(suggested);
        return true;
      }
      c.authCandidates = c.authCandidates.filter((m) => m !== current);
      t.auth = c.authCandidates.length ? authOpt(c.authCandidates[0]) : undefined;
      return true;
    },
  },
  printOnly(CI_QUALITY, "quality", (d) => {
    if (d.length < 2) return undefined;
    const p = (d[0] << 8) | d[1];
    return `quality ${p === 0xc025 ? "lqr" : hx(p)}${hexBytes(d.subarray(2))}`;
  }),
  {
    type: CI_MAGICNUMBER, name: "magic", ...u32,
    print: (d) => (d.length === 4 ? `magic ${hx(u32.decode(d)!)}` : undefined),
    get: (o) => o.magic,
    set: (o, v) => (o.magic = v),
    check: (v: number, c, his) => {
      if (c.got.magic !== undefined && v === c.got.magic) return { kind: "nak", value: c.rng.u32() }; // RFC 1661 §6.4
      his.magic = v;
      return { kind: "ack" };
    },
    neverReject: true,
    nak: (_v: number, t, c) => {
      if (t.magic === undefined) return true;
      // RFC 1661 §6.4: the peer saw our own magic: pick another; maybe looped back. Never
      // dropped after Max-Failure (pppd), so LOOPBACK_FAIL can be reached.
      t.magic = c.rng.u32();
      c.loopedBack = true;
      return true;
    },
  },
  compressionFlag(CI_PCOMPRESSION, "pcomp", "pfc", "allowPfc"),
  compressionFlag(CI_ACCOMPRESSION, "accomp", "acfc", "allowAcfc"),
  printOnly(CI_CALLBACK, "callback", (d) =>
    d.length >= 1 ? `callback ${d[0] === 6 ? "CBCP" : hx(d[0])}${hexBytes(d.subarray(1))}` : undefined),
  printOnly(CI_MRRU, "mrru", (d) => (d.length === 2 ? `mrru ${(d[0] << 8) | d[1]}` : undefined)),
  printOnly(CI_SSNHF, "ssnhf", (d) => (d.length === 0 ? "ssnhf" : undefined)),
  printOnly(CI_EPDISC, "endpoint", (d) => (d.length >= 1 ? `endpoint [${epdiscToStr(d[0], d.subarray(1))}]` : undefined)),
];

/** What the session learns from LCP and must do for it. */
export interface LcpHooks {
  up(now: Millis): void;
  down(now: Millis): void;
  starting(now: Millis): void;
  finished(now: Millis): void;
  log(level: "info" | "debug" | "warn" | "error", text: string): void;
  /** The peer Protocol-Rejected `protocol` (LCP Opened). True if it is one we run. */
  protocolRejected(protocol: number, now: Millis): boolean;
}

/** As peer: what we accept, in the order our Nak suggests it. */
const ALL_METHODS: AuthMethod[] = ["mschapv2", "mschap", "chap-md5", "pap"];

export class Lcp extends OptionProtocol<LcpOptions, LcpCtx> implements FsmCallbacks, LcpCtx {
  readonly fsm: Fsm;
  peerMethods: AuthMethod[];
  authCandidates: AuthMethod[] = [];
  allowPfc: boolean;
  allowAcfc: boolean;
  wantMru: number;
  loopedBack = false;
  /** Consecutive Naks of our magic (pppd try.numloops). */
  private numLoops = 0;
  // echo keepalive (pppd lcp_echo_*)
  private echoDeadline: Millis | undefined;
  private echosPending = 0;
  private echoNumber = 0;

  constructor(private readonly config: SessionConfig, readonly rng: Rng, private readonly hooks: LcpHooks) {
    super(LCP_OPTIONS);
    this.fsm = new Fsm("LCP", this, {
      passive: config.passive,
      silent: config.silent,
      restartMs: config.lcpRestartMs,
      maxConfigure: config.lcpMaxConfigure,
    });
    this.peerMethods = ALL_METHODS.filter((m) => !config.refuseAuth.includes(m));
    this.allowPfc = config.pcomp;
    this.allowAcfc = config.accomp;
    this.wantMru = config.mru;
  }

  // --- FsmCallbacks ---------------------------------------------------------

  resetCi(): void {
    const c = this.config;
    this.want = {
      mru: c.mru !== DEFAULT_MRU ? c.mru : undefined, // pppd asks for MRU only when not the default
      accm: c.asyncmap >>> 0,
      auth: c.requireAuth.length ? authOpt(c.requireAuth[0]) : undefined,
      magic: c.magic ? this.rng.u32() : undefined,
      pfc: c.pcomp ? true : undefined,
      acfc: c.accomp ? true : undefined,
    };
    this.got = { ...this.want };
    this.authCandidates = [...c.requireAuth];
    this.numLoops = 0;
  }

  override nakCi(body: Uint8Array, treatAsReject: boolean, now: Millis): boolean {
    this.loopedBack = false;
    if (!super.nakCi(body, treatAsReject)) return false;
    if (this.loopedBack) {
      if (++this.numLoops >= LOOPBACK_FAIL) {
        this.hooks.log("info", "Serial line is looped back.");
        this.fsm.close("Loopback detected", now);
      }
    } else this.numLoops = 0;
    return true;
  }

  up(now: Millis): void {
    this.echosPending = 0;
    this.echoNumber = 0;
    this.hooks.up(now);
    if (this.config.lcpEchoInterval > 0) this.echoCheck(now);
  }

  down(now: Millis): void {
    this.echoDeadline = undefined;
    this.hooks.down(now);
  }

  starting(now: Millis): void {
    this.hooks.starting(now);
  }

  finished(now: Millis): void {
    this.hooks.finished(now);
  }

  log(level: "info" | "debug" | "warn" | "error", text: string): void {
    this.hooks.log(level, text);
  }

  extCode(code: number, id: number, data: Uint8Array, now: Millis): boolean {
    const opened = this.fsm.state === "Opened";
    switch (code) {
      case PROTREJ: {
        if (!opened || data.length < 2) {
          this.hooks.log("debug", `Protocol-Reject discarded: LCP in state ${this.fsm.state}`);
          return true;
        }
        const proto = (data[0] << 8) | data[1];
        if (!this.hooks.protocolRejected(proto, now)) this.hooks.log("warn", `Protocol-Reject for unsupported protocol ${hx(proto)}`);
        return true;
      }
      case ECHOREQ: {
        if (!opened) return true;
        const reply = new Uint8Array(Math.max(4, data.length));
        reply.set(data);
        reply.set(u32.encode(this.got.magic ?? 0), 0); // RFC 1661 §5.8: our magic in the reply
        this.fsm.sendData(ECHOREP, id, reply);
        return true;
      }
      case ECHOREP:
        this.receivedEchoReply(data);
        return true;
      case DISCREQ:
      case IDENTIF: // RFC 1570 §2.1: informational, silently accepted
      case TIMEREM:
        return true;
      default:
        return false;
    }
  }

  // --- commands from the session -----------------------------------------

  /** Send a Protocol-Reject for a frame of a protocol we do not run (RFC 1661 §5.7). */
  protocolReject(protocol: number, info: Uint8Array): void {
    const maxData = (this.his.mru ?? DEFAULT_MRU) - 4 - 2;
    const data = new Uint8Array(2 + Math.min(info.length, maxData));
    data[0] = protocol >>> 8;
    data[1] = protocol & 0xff;
    data.set(info.subarray(0, data.length - 2), 2);
    this.fsm.sendData(PROTREJ, this.fsm.nextId(), data);
  }

  pollTimeout(): Millis | undefined {
    const f = this.fsm.pollTimeout();
    if (this.echoDeadline === undefined) return f;
    return f === undefined || this.echoDeadline < f ? this.echoDeadline : f;
  }

  handleTimeout(now: Millis): void {
    this.fsm.handleTimeout(now);
    if (this.echoDeadline !== undefined && now >= this.echoDeadline) {
      this.echoDeadline = undefined;
      this.echoCheck(now);
    }
  }

  // --- echo keepalive (pppd LcpEchoCheck / LcpSendEchoRequest) --------------

  private echoCheck(now: Millis): void {
    const c = this.config;
    if (c.lcpEchoFailure !== 0 && this.echosPending >= c.lcpEchoFailure) {
      if (this.fsm.state === "Opened") {
        this.hooks.log("info", `No response to ${this.echosPending} echo-requests`);
        this.hooks.log("info", "Serial link appears to be disconnected.");
        this.fsm.close("Peer not responding", now);
      }
      this.echosPending = 0;
    }
    if (this.fsm.state !== "Opened") return;
    this.fsm.sendData(ECHOREQ, this.echoNumber++ & 0xff, u32.encode(this.got.magic ?? 0));
    this.echosPending++;
    this.echoDeadline = now + c.lcpEchoInterval * 1000;
  }

  private receivedEchoReply(data: Uint8Array): void {
    if (data.length < 4) {
      this.hooks.log("debug", `lcp: received short Echo-Reply, length ${data.length}`);
      return;
    }
    const magic = u32.decode(data.subarray(0, 4))!;
    if (this.got.magic !== undefined && magic === this.got.magic) {
      this.hooks.log("warn", "appear to have received our own echo-reply!");
      return;
    }
    this.echosPending = 0;
  }
}
