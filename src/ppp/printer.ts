/**
 * pppd's debug packet format (`sent [LCP ConfReq id=0x1 <asyncmap 0x0>
 * <magic 0x5f3c0a12> <pcomp> <accomp>]`), as main.c format_packet and
 * lcp.c/ipcp.c *_printpkt print it. Option text comes from the option
 * tables in lcp.ts and ipcp.ts; authentication packets are described by the
 * auth module, which prints secrets as <hidden>. Used by the session when
 * `debug` is on; users grep these lines, so they must match pppd exactly.
 */
import type { AuthDescriber } from "./auth/auth-machine.js";
import {
  CONFACK, CONFNAK, CONFREJ, CONFREQ, DISCREQ, ECHOREP, ECHOREQ, HEADER_LEN, IDENTIF, TERMACK, TERMREQ, TIMEREM,
} from "./fsm.js";
import { LCP_OPTIONS } from "./lcp.js";
import { IPCP_OPTIONS } from "./ipcp.js";
import { formatOptions, hexBytes, hx, u32, type OptionTable } from "./options.js";
import { PPP_CCP, PPP_CHAP, PPP_IPCP, PPP_LCP, PPP_PAP, PROTOCOL_NAMES } from "./protocol-numbers.js";
// ccp.ts uses printString from here; the cycle is harmless (only functions, called after load).
import { formatCcpPacket } from "./compress/ccp.js";

const LCP_CODENAMES = [
  "ConfReq", "ConfAck", "ConfNak", "ConfRej", "TermReq", "TermAck", "CodeRej", "ProtRej",
  "EchoReq", "EchoRep", "DiscReq", "Ident", "TimeRem",
];
const IPCP_CODENAMES = LCP_CODENAMES.slice(0, 7);
const PAP_CODENAMES = ["AuthReq", "AuthAck", "AuthNak"];
const CHAP_CODENAMES = ["Challenge", "Response", "Success", "Failure"];

/** pppd print_string: quoted, printable ASCII as is, the rest escaped. */
export function printString(b: Uint8Array): string {
  let s = '"';
  for (const c of b) {
    if (c >= 0x20 && c <= 0x7e) s += (c === 0x5c || c === 0x22 ? "\\" : "") + String.fromCharCode(c);
    else if (c === 10) s += "\\n";
    else if (c === 13) s += "\\r";
    else if (c === 9) s += "\\t";
    else s += "\\" + c.toString(8).padStart(3, "0");
  }
  return s + '"';
}

const readU32 = (b: Uint8Array): number => u32.decode(b.subarray(0, 4))!;

/** One control-protocol packet (pppd lcp_printpkt / ipcp_printpkt); returns text and bytes used (0 = unparsable). */
function fsmPacket(info: Uint8Array, names: string[], table: OptionTable<any, any>, isLcp: boolean): { text: string; used: number } {
  if (info.length < HEADER_LEN) return { text: "", used: 0 };
  const code = info[0];
  const id = info[1];
  const len = (info[2] << 8) | info[3];
  if (len < HEADER_LEN || len > info.length) return { text: "", used: 0 };
  let text = code >= 1 && code <= names.length ? ` ${names[code - 1]}` : ` code=${hx(code)}`;
  text += ` id=${hx(id)}`;
  let body = info.subarray(HEADER_LEN, len);
  switch (code) {
    case CONFREQ:
    case CONFACK:
    case CONFNAK:
    case CONFREJ: {
      const f = formatOptions(table, body);
      text += f.text;
      body = body.subarray(f.used);
      break;
    }
    case TERMREQ:
    case TERMACK:
      if (body.length > 0 && body[0] >= 0x20 && body[0] < 0x7f) {
        text += " " + printString(body);
        body = body.subarray(body.length);
      }
      break;
    default:
      if (!isLcp) break;
      if ((code === ECHOREQ || code === ECHOREP || code === DISCREQ || code === IDENTIF || code === TIMEREM) && body.length >= 4) {
        text += ` magic=${hx(readU32(body))}`;
        body = body.subarray(4);
        if (code === TIMEREM && body.length >= 4) {
          text += ` seconds=${readU32(body)}`;
          body = body.subarray(4);
        }
        if ((code === IDENTIF || code === TIMEREM) && body.length > 0) {
          text += " " + printString(body);
          body = body.subarray(body.length);
        }
      }
  }
  text += rest(body, isLcp ? 32 : Infinity);
  return { text, used: len };
}

/** Leftover bytes in hex, at most `cap` then " ...". */
function rest(b: Uint8Array, cap: number): string {
  if (b.length <= cap) return hexBytes(b);
  return hexBytes(b.subarray(0, cap)) + " ...";
}

function authFallback(protocol: number, info: Uint8Array): string {
  const name = PROTOCOL_NAMES.get(protocol)!;
  if (info.length < HEADER_LEN) return `[${name}]`;
  const names = protocol === PPP_PAP ? PAP_CODENAMES : CHAP_CODENAMES;
  const code = info[0];
  const cn = code >= 1 && code <= names.length ? names[code - 1] : `code=${hx(code)}`;
  return `[${name} ${cn} id=${hx(info[1])} <hidden>]`;
}

/** The `%P` part of pppd's `sent %P` / `rcvd %P` lines: `[LCP ConfReq id=0x1 ...]`. */
export function formatPacket(protocol: number, info: Uint8Array, describeAuth?: AuthDescriber): string {
  if (protocol === PPP_PAP || protocol === PPP_CHAP) {
    if (!describeAuth) return authFallback(protocol, info);
    try {
      return `[${describeAuth(protocol, info)}]`;
    } catch {
      return authFallback(protocol, info); // never let a describer failure leak bytes or throw
    }
  }
  let head: string;
  let r: { text: string; used: number };
  if (protocol === PPP_LCP) {
    head = "LCP";
    r = fsmPacket(info, LCP_CODENAMES, LCP_OPTIONS, true);
  } else if (protocol === PPP_IPCP) {
    head = "IPCP";
    r = fsmPacket(info, IPCP_CODENAMES, IPCP_OPTIONS, false);
  } else if (protocol === PPP_CCP) {
    return formatCcpPacket(info); // pppd prints CCP by name even under noccp
  } else {
    return `[proto=${hx(protocol)}]` + rest(info, 32);
  }
  return `[${head}${r.text}]` + rest(info.subarray(r.used), 32);
}

/** A whole debug line: `sent [...]` or `rcvd [...]`. */
export function debugLine(dir: "sent" | "rcvd", protocol: number, info: Uint8Array, describeAuth?: AuthDescriber): string {
  return `${dir} ${formatPacket(protocol, info, describeAuth)}`;
}
