/**
 * IPCP (RFC 1332, RFC 1877) on top of the shared automaton: IP-Address,
 * IP-Compression-Protocol (VJ when `vj`; codec and pppd's rules in vj.ts), Primary and
 * Secondary DNS (129/131) and WINS (130/132, rejected). Semantics as pppd's
 * ipcp.c: `local:remote` addresses, the answering side Naks the peer's
 * 0.0.0.0 with its remote address and hands out ms-dns; the calling side
 * asks with 0.0.0.0 and takes what it is Nak'd.
 */
import type { Millis } from "../../stack/util/time.js";
import { formatIp4, readIp4, type Ip4 } from "../../stack/util/addr.js";
import type { SessionConfig } from "./session-config.js";
import { CONFACK, CONFNAK, CONFREJ, Fsm, type FsmCallbacks, type ReqVerdict } from "./fsm.js";
import {
  OptionProtocol, concatOptions, encodeOption, parseOptions, u32, type OptionSpec, type OptionTable,
} from "./options.js";
import { MAX_STATES, PROTO_VJC_COMP, vjCheck, vjNak, vjOption, type VjAllow, type VjOptionValue } from "./vj.js";
import { addressAllowed } from "./addr-policy.js";

/** RFC 1332 §3 / RFC 1877 §1 option types. */
export const CI_ADDRS = 1;
export const CI_ADDR = 3;
export const CI_MS_DNS1 = 129;
export const CI_MS_WINS1 = 130;
export const CI_MS_DNS2 = 131;
export const CI_MS_WINS2 = 132;
/** pppd's fallback remote address when none is known. */
export const DEFAULT_REMOTE = 0x0a404040; // 10.64.64.64

/** pppd's IPCP option set (undefined = not negotiated). */
export interface IpcpOptions {
  addr?: Ip4;
  /** IP-Compression-Protocol (VJ): in got, what the peer will send us; in his, what we send it. */
  vj?: VjOptionValue;
  dns1?: Ip4;
  dns2?: Ip4;
}

interface IpcpCtx {
  /** The address we give the peer (0 = none) and whether we take its own choice. */
  hisAddr: Ip4;
  acceptRemote: boolean;
  /** Our address (0 = let the peer choose) and whether we take the peer's Nak for it. */
  acceptLocal: boolean;
  msDns: readonly Ip4[];
  /** Addresses the authenticated peer may use (pppd secrets IP column); undefined = any. */
  allowedRemote: string[] | undefined;
  /** What VJ the peer may ask us for (pppd `novj`; 16 slots and slot-id compression, pppd's defaults). */
  vjAllow: VjAllow;
}

const ipText = (d: Uint8Array): string => formatIp4(readIp4(d, 0));

function dnsSpec(type: number, index: 0 | 1, key: "dns1" | "dns2"): OptionSpec<IpcpOptions, IpcpCtx> {
  return {
    type, name: key, ...u32,
    // pppd 2.4.9 ipcp_printpkt: "ms-dns1" for 129, "ms-dns2" for 131 (seen in the interop guest's log).
    print: (d) => (d.length === 4 ? `ms-dns${index + 1} ${ipText(d)}` : undefined),
    get: (o) => o[key],
    set: (o, v) => (o[key] = v),
    check: (v: Ip4, c) => {
      // pppd setdnsaddr: each `ms-dns` also becomes the secondary, so one ms-dns answers both 129 and 131.
      const ours = c.msDns[index] ?? c.msDns[0];
      if (ours === undefined) return { kind: "rej" };
      return v === ours ? { kind: "ack" } : { kind: "nak", value: ours };
    },
    nak: (v: Ip4, t, _c, asRej) => ((t[key] = asRej ? undefined : v), true),
  };
}

function winsSpec(type: number): OptionSpec<IpcpOptions, IpcpCtx> {
  return {
    type, name: "ms-wins", ...u32,
    print: (d) => (d.length === 4 ? `ms-wins ${ipText(d)}` : undefined),
    get: () => undefined,
    set: () => {},
  };
}

/** The IPCP option table: each option declared once. */
export const IPCP_OPTIONS: OptionTable<IpcpOptions, IpcpCtx> = [
  {
    type: CI_ADDRS, name: "addrs", decode: (d) => d, encode: (v: Uint8Array) => v,
    print: (d) => (d.length === 8 ? `addrs ${ipText(d)} ${ipText(d.subarray(4))}` : undefined),
    get: () => undefined,
    set: () => {},
  },
  {
    ...vjOption,
    get: (o) => o.vj,
    set: (o, v) => (o.vj = v),
    // pppd ipcp_reqci CI_COMPRESSTYPE: the peer asks us to compress what we send it
    check: (v: VjOptionValue, c, his) => {
      const r = vjCheck(v, c.vjAllow);
      if (r.kind !== "ack") return r;
      his.vj = r.his;
      return { kind: "ack" };
    },
    // pppd ipcp_nakci CI_COMPRESSTYPE; ignored when we were not asking
    nak: (v: VjOptionValue, t, _c, asRej) => ((t.vj = asRej || !t.vj ? undefined : vjNak(v, t.vj)), true),
  },
  {
    type: CI_ADDR, name: "addr", ...u32,
    print: (d) => (d.length === 4 ? `addr ${ipText(d)}` : undefined),
    get: (o) => o.addr,
    set: (o, v) => (o.addr = v),
    check: (v: Ip4, c, his) => {
      // pppd ipcp_reqci CI_ADDR
      const mayTake = v !== 0 && c.acceptRemote && (c.allowedRemote === undefined || addressAllowed(v, c.allowedRemote));
      if (v !== c.hisAddr && !mayTake) {
        if (c.hisAddr === 0) return { kind: "rej" };
        return { kind: "nak", value: c.hisAddr };
      }
      if (v === 0 && c.hisAddr === 0) return { kind: "rej" };
      his.addr = v;
      return { kind: "ack" };
    },
    nak: (v: Ip4, t, c, asRej) => {
      if (asRej) t.addr = undefined;
      else if (v !== 0 && (c.acceptLocal || t.addr === 0)) t.addr = v;
      return true;
    },
  },
  dnsSpec(CI_MS_DNS1, 0, "dns1"),
  winsSpec(CI_MS_WINS1),
  dnsSpec(CI_MS_DNS2, 1, "dns2"),
  winsSpec(CI_MS_WINS2),
];

export interface IpcpHooks {
  up(now: Millis): void;
  down(now: Millis): void;
  finished(now: Millis): void;
  log(level: "info" | "debug" | "warn" | "error", text: string): void;
}

export class Ipcp extends OptionProtocol<IpcpOptions, IpcpCtx> implements FsmCallbacks, IpcpCtx {
  readonly fsm: Fsm;
  hisAddr: Ip4;
  acceptRemote: boolean;
  acceptLocal: boolean;
  msDns: readonly Ip4[];
  allowedRemote: string[] | undefined;
  vjAllow: VjAllow;

  constructor(private readonly config: SessionConfig, private readonly hooks: IpcpHooks) {
    super(IPCP_OPTIONS);
    this.vjAllow = { enabled: config.vj, maxSlotId: MAX_STATES - 1, compSlotId: true };
    this.fsm = new Fsm("IPCP", this);
    this.hisAddr = config.remoteIp ?? 0;
    // pppd ipcp_check_options: no address given means we take the peer's.
    this.acceptRemote = config.acceptRemote || config.remoteIp === undefined;
    this.acceptLocal = config.acceptLocal || config.localIp === undefined;
    this.msDns = config.msDns;
  }

  resetCi(): void {
    const c = this.config;
    this.want = {
      addr: c.localIp ?? 0,
      vj: c.vj ? { protocol: PROTO_VJC_COMP, maxSlotId: this.vjAllow.maxSlotId, compSlotId: this.vjAllow.compSlotId } : undefined,
      dns1: c.usePeerDns ? 0 : undefined,
      dns2: c.usePeerDns ? 0 : undefined,
    };
    this.got = { ...this.want };
  }

  override reqCi(body: Uint8Array, rejectIfDisagree: boolean): { verdict: ReqVerdict; reply: Uint8Array } {
    const r = super.reqCi(body, rejectIfDisagree);
    // pppd: the peer did not ask for an address but we have one for it: Nak it in.
    if (r.verdict !== CONFREJ && this.his.addr === undefined && this.hisAddr !== 0 && !rejectIfDisagree
        && !parseOptions(body).options.some((o) => o.type === CI_ADDR)) {
      const add = encodeOption(CI_ADDR, u32.encode(this.hisAddr));
      return r.verdict === CONFACK
        ? { verdict: CONFNAK, reply: add }
        : { verdict: r.verdict, reply: concatOptions([r.reply, add]) };
    }
    return r;
  }

  up(now: Millis): void {
    this.hooks.up(now);
  }

  down(now: Millis): void {
    this.hooks.down(now);
  }

  starting(): void {}

  finished(now: Millis): void {
    this.hooks.finished(now);
  }

  log(level: "info" | "debug" | "warn" | "error", text: string): void {
    this.hooks.log(level, text);
  }

  /** Our address once Opened: negotiated, else configured (pppd keeps go->ouraddr when the option is rejected); 0 = unknown. */
  get localAddr(): Ip4 {
    return this.got.addr || this.config.localIp || 0;
  }

  /** The peer's address once Opened: what it asked for, else what we wanted to give it, else pppd's default. */
  get remoteAddr(): Ip4 {
    return this.his.addr ?? (this.hisAddr || DEFAULT_REMOTE);
  }

  /** DNS servers the peer gave us (non-zero ones). */
  get peerDns(): Ip4[] {
    return [this.got.dns1, this.got.dns2].filter((a): a is Ip4 => a !== undefined && a !== 0);
  }
}
