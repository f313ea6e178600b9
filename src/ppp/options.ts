/**
 * The generic PPP option-table machinery (RFC 1661 §6 TLV options), shared
 * by LCP and IPCP. Each option kind is declared ONCE in its protocol's table
 * (type, name, codec, printer, negotiation rules); building our
 * Configure-Request, checking Ack/Nak/Rej and answering the peer's request,
 * and the pppd-format debug printer all derive from that one declaration.
 *
 * Option sets follow pppd: `want` (what we would like), `got` (what we are
 * asking now, after Naks/Rejects), `allow` (what we let the peer ask) and
 * `his` (what the peer asked and we acked).
 */
import { CONFACK, CONFNAK, CONFREJ, type ReqVerdict } from "./fsm.js";

/** What we answer to one option of the peer's Configure-Request. */
export type OptionVerdict<V> = { kind: "ack" } | { kind: "nak"; value: V } | { kind: "rej" };

export interface OptionSpec<O, C, V = any> {
  type: number;
  name: string;
  /** Value bytes (after type and length) to a value; undefined when malformed. */
  decode(data: Uint8Array): V | undefined;
  encode(value: V): Uint8Array;
  /** pppd's text for the value bytes, e.g. "mru 1500"; undefined = pppd prints only hex. */
  print(data: Uint8Array): string | undefined;
  /** Our option set's value for this option (undefined = not asking). */
  get(o: O): V | undefined;
  set(o: O, v: V | undefined): void;
  /** The peer asks for `value`; record it in `his` on ack. Absent = we reject this option. */
  check?(value: V, ctx: C, his: O): OptionVerdict<V>;
  /** Keep Nak'ing even after Max-Failure (pppd lcp_reqci exempts CI_MAGICNUMBER, so loopback can be detected). */
  neverReject?: boolean;
  /** The peer Nak'd our value (`value` = its suggestion). Adjust `tryO`. False if the Nak is bogus. Absent = adopt the suggestion. */
  nak?(value: V, tryO: O, ctx: C, treatAsReject: boolean): boolean;
}

export type OptionTable<O, C> = readonly OptionSpec<O, C>[];

export interface RawOption {
  type: number;
  /** Value bytes, after type and length. */
  data: Uint8Array;
  /** The whole option, type and length included. */
  raw: Uint8Array;
}

/** Split an option list; `ok` false when a length field is bad (the rest is in `rest`). */
export function parseOptions(body: Uint8Array): { options: RawOption[]; ok: boolean; rest: Uint8Array } {
  const options: RawOption[] = [];
  let p = 0;
  while (p < body.length) {
    const len = body[p + 1];
    if (p + 1 >= body.length || len < 2 || p + len > body.length) return { options, ok: false, rest: body.subarray(p) };
    options.push({ type: body[p], data: body.subarray(p + 2, p + len), raw: body.subarray(p, p + len) });
    p += len;
  }
  return { options, ok: true, rest: body.subarray(p) };
}

export function encodeOption(type: number, data: Uint8Array): Uint8Array {
  const o = new Uint8Array(2 + data.length);
  o[0] = type;
  o[1] = o.length;
  o.set(data, 2);
  return o;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

function spec<O, C>(table: OptionTable<O, C>, type: number): OptionSpec<O, C> | undefined {
  return table.find((s) => s.type === type);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Our Configure-Request options: every option `o` has a value for, in table order. */
export function buildRequest<O, C>(table: OptionTable<O, C>, o: O): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of table) {
    const v = s.get(o);
    if (v !== undefined) parts.push(encodeOption(s.type, s.encode(v)));
  }
  return concat(parts);
}

/** RFC 1661 §5.2: a Configure-Ack must repeat our request exactly. */
export function ackMatches(sent: Uint8Array, ack: Uint8Array): boolean {
  return bytesEqual(sent, ack);
}

/** RFC 1661 §5.4: a Configure-Reject lists only options we sent, unchanged. The new `try` set, or undefined if bogus. */
export function applyReject<O extends object, C>(
  table: OptionTable<O, C>, got: O, body: Uint8Array, clone: (o: O) => O = (o) => ({ ...o }),
): O | undefined {
  const { options, ok } = parseOptions(body);
  if (!ok) return undefined;
  const tryO = clone(got);
  for (const opt of options) {
    const s = spec(table, opt.type);
    const v = s?.get(got);
    if (!s || v === undefined || !bytesEqual(s.encode(v), opt.data)) return undefined;
    s.set(tryO, undefined);
  }
  return tryO;
}

/** RFC 1661 §5.3: a Configure-Nak suggests values (or asks for options we did not send). */
export function applyNak<O extends object, C>(
  table: OptionTable<O, C>, got: O, body: Uint8Array, ctx: C, treatAsReject: boolean, clone: (o: O) => O = (o) => ({ ...o }),
): O | undefined {
  const { options, ok } = parseOptions(body);
  if (!ok) return undefined;
  const tryO = clone(got);
  for (const opt of options) {
    const s = spec(table, opt.type);
    if (!s) continue; // an option we know nothing of: ignore the suggestion
    const v = s.decode(opt.data);
    if (v === undefined) return undefined;
    if (s.nak) {
      if (!s.nak(v, tryO, ctx, treatAsReject)) return undefined;
    } else if (treatAsReject) s.set(tryO, undefined);
    else s.set(tryO, v);
  }
  return tryO;
}

/**
 * Answer the peer's Configure-Request (pppd *_reqci): Ack if every option is
 * acceptable; else Nak the disagreeing ones (our suggestions), unless some
 * must be Rejected, in which case Reject only those. `his` is filled in.
 */
export function answerRequest<O, C>(
  table: OptionTable<O, C>, body: Uint8Array, ctx: C, his: O, rejectIfDisagree: boolean,
): { verdict: ReqVerdict; reply: Uint8Array; naks: Uint8Array[] } {
  const { options, ok, rest } = parseOptions(body);
  const rejs: Uint8Array[] = [];
  const naks: Uint8Array[] = [];
  for (const opt of options) {
    const s = spec(table, opt.type);
    const v = s?.check ? s.decode(opt.data) : undefined;
    const verdict: OptionVerdict<unknown> = s?.check && v !== undefined ? s.check(v, ctx, his) : { kind: "rej" };
    if (verdict.kind === "rej" || (verdict.kind === "nak" && rejectIfDisagree && !s!.neverReject)) rejs.push(opt.raw);
    else if (verdict.kind === "nak") naks.push(encodeOption(opt.type, s!.encode(verdict.value)));
  }
  if (!ok) rejs.push(rest); // pppd: a bad length rejects the remainder
  if (rejs.length) return { verdict: CONFREJ, reply: concat(rejs), naks };
  if (naks.length) return { verdict: CONFNAK, reply: concat(naks), naks };
  return { verdict: CONFACK, reply: body, naks };
}

/**
 * The option half of a protocol's FSM callbacks (pppd's *_addci, *_ackci,
 * *_nakci, *_rejci, *_reqci), all derived from the protocol's table. The
 * subclass is the table's context `C` (what the option checks consult).
 */
export abstract class OptionProtocol<O extends object, C> {
  want = {} as O;
  got = {} as O;
  his = {} as O;
  /** Our last Configure-Request's options: an Ack must repeat them exactly. */
  private lastReq: Uint8Array = new Uint8Array(0);

  constructor(private readonly table: OptionTable<O, C>) {}

  private get ctx(): C {
    return this as unknown as C;
  }

  buildConfReq(): Uint8Array {
    this.lastReq = buildRequest(this.table, this.got);
    return this.lastReq;
  }

  ackCi(body: Uint8Array): boolean {
    return ackMatches(this.lastReq, body);
  }

  nakCi(body: Uint8Array, treatAsReject: boolean, _now?: number): boolean {
    const t = applyNak(this.table, this.got, body, this.ctx, treatAsReject);
    if (t) this.got = t;
    return t !== undefined;
  }

  rejCi(body: Uint8Array): boolean {
    const t = applyReject(this.table, this.got, body);
    if (t) this.got = t;
    return t !== undefined;
  }

  reqCi(body: Uint8Array, rejectIfDisagree: boolean, _now?: number): { verdict: ReqVerdict; reply: Uint8Array } {
    this.his = {} as O;
    const { verdict, reply } = answerRequest(this.table, body, this.ctx, this.his, rejectIfDisagree);
    return { verdict, reply };
  }
}

/** Join option byte strings (for protocols appending unsolicited Naks). */
export { concat as concatOptions };

/** pppd's option-list text: ` <mru 1500> <asyncmap 0x0>`, unknown ones as ` < 17 04 00 00>`. */
export function formatOptions<O, C>(table: OptionTable<O, C>, body: Uint8Array): { text: string; used: number } {
  let text = "";
  let p = 0;
  while (body.length - p >= 2) {
    const olen = body[p + 1];
    if (olen < 2 || olen > body.length - p) break;
    const opt = body.subarray(p, p + olen);
    const s = spec(table, opt[0]);
    const shown = s?.print(opt.subarray(2));
    text += shown !== undefined ? ` <${shown}>` : ` <${hexBytes(opt)}>`;
    p += olen;
  }
  return { text, used: p };
}

/** " %.2x" per byte, as pppd prints leftovers. */
export function hexBytes(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += " " + x.toString(16).padStart(2, "0");
  return s;
}

/** "0x" + hex, pppd's %x. */
export function hx(n: number): string {
  return "0x" + (n >>> 0).toString(16);
}

// --- codecs shared by the tables ------------------------------------------

export const u16 = {
  decode: (d: Uint8Array): number | undefined => (d.length === 2 ? (d[0] << 8) | d[1] : undefined),
  encode: (v: number): Uint8Array => Uint8Array.of(v >>> 8, v & 0xff),
};

export const u32 = {
  decode: (d: Uint8Array): number | undefined =>
    d.length === 4 ? ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0 : undefined,
  encode: (v: number): Uint8Array => Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff),
};

export const flag = {
  decode: (d: Uint8Array): true | undefined => (d.length === 0 ? true : undefined),
  encode: (_v: true): Uint8Array => new Uint8Array(0),
};
