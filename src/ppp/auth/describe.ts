/**
 * pppd-format one-line descriptions of PAP and CHAP packets for debug logs,
 * matching pppd 2.4.9's upap_printpkt (upap.c) and chap_print_pkt
 * (chap-new.c). The session wraps them: `sent [PAP AuthReq id=0x1 ...]`.
 *
 * Secrets never appear: a PAP password always prints as <hidden> (pppd's
 * hide-password default), and an Authenticate-Request too malformed to find
 * its password field is summarised by size, never dumped in hex as pppd would.
 */
import { PPP_CHAP, PPP_PAP, type AuthDescriber } from "./auth-machine.js";
import { CHAP_CHALLENGE, CHAP_FAILURE, CHAP_RESPONSE, CHAP_SUCCESS } from "./chap.js";
import { PAP_AUTH_ACK, PAP_AUTH_NAK, PAP_AUTH_REQ } from "./pap.js";
import { AUTH_HEADER_LEN, printString, toHex } from "./packet.js";

const PAP_CODE_NAMES = ["AuthReq", "AuthAck", "AuthNak"];
const CHAP_CODE_NAMES = ["Challenge", "Response", "Success", "Failure"];

/** pppd's trailing-octets format: " %.2x" each. */
const hexTail = (b: Uint8Array): string => Array.from(b, (x) => ` ${x.toString(16).padStart(2, "0")}`).join("");

/** Code and id as pppd prints them, or undefined when the header is unusable. */
function header(packet: Uint8Array, names: string[]): { text: string; code: number; data: Uint8Array } | undefined {
  if (packet.length < AUTH_HEADER_LEN) return undefined;
  const code = packet[0];
  const len = (packet[2] << 8) | packet[3];
  if (len < AUTH_HEADER_LEN || len > packet.length) return undefined;
  const name = code >= 1 && code <= names.length ? names[code - 1] : `code=0x${code.toString(16)}`;
  return { text: `${name} id=0x${packet[1].toString(16)}`, code, data: packet.subarray(AUTH_HEADER_LEN, len) };
}

function describePap(packet: Uint8Array): string {
  const h = header(packet, PAP_CODE_NAMES);
  if (!h) return `PAP <${packet.length} octets, malformed>`;
  const d = h.data;
  let out = `PAP ${h.text}`;
  let rest = d;
  if (h.code === PAP_AUTH_REQ) {
    const ulen = d.length >= 1 ? d[0] : -1;
    const wlen = ulen >= 0 && d.length >= ulen + 2 ? d[ulen + 1] : -1;
    if (wlen < 0 || d.length < ulen + wlen + 2) {
      // pppd would dump these octets in hex, password and all; we do not.
      return `${out} <${d.length} octets, malformed>`;
    }
    out += ` user=${printString(d.subarray(1, 1 + ulen))} password=<hidden>`;
    rest = d.subarray(ulen + wlen + 2);
  } else if (h.code === PAP_AUTH_ACK || h.code === PAP_AUTH_NAK) {
    if (d.length >= 1 && d.length >= d[0] + 1) {
      out += ` ${printString(d.subarray(1, 1 + d[0]))}`;
      rest = d.subarray(1 + d[0]);
    }
  }
  return out + hexTail(rest);
}

function describeChap(packet: Uint8Array): string {
  const h = header(packet, CHAP_CODE_NAMES);
  if (!h) return `CHAP${hexTail(packet)}`;
  const d = h.data;
  let out = `CHAP ${h.text}`;
  switch (h.code) {
    case CHAP_CHALLENGE:
    case CHAP_RESPONSE: {
      if (d.length < 1 || d.length < d[0] + 1) return out;
      const clen = d[0];
      return `${out} <${toHex(d.subarray(1, 1 + clen))}>, name = ${printString(d.subarray(1 + clen))}`;
    }
    case CHAP_SUCCESS:
    case CHAP_FAILURE:
      return `${out} ${printString(d)}`;
    default:
      return out + hexTail(d);
  }
}

/** `PAP AuthReq id=0x1 user="zaphod" password=<hidden>`, `CHAP Challenge id=0x1 <4a5b...>, name = "server"`, ... */
export const describeAuthPacket: AuthDescriber = (protocol, packet) => {
  if (protocol === PPP_PAP) return describePap(packet);
  if (protocol === PPP_CHAP) return describeChap(packet);
  return `proto=0x${protocol.toString(16)}${hexTail(packet)}`;
};
