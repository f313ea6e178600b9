/**
 * The face of src/ppp/auth that the PPP session (src/ppp/session.ts) uses:
 * factories for the authenticator and peer machines of PAP, CHAP-MD5,
 * MS-CHAP (v1) and MS-CHAPv2 (all behind the AuthMachine contract of
 * ./auth-machine.ts), the pppd-format packet describer, and pppd's secrets
 * matching.
 *
 * Routing note for the session: PAP and CHAP packets of both directions share
 * one protocol number. PAP AuthReq and CHAP Response go to the authenticator,
 * the other codes to the peer (`authPacketRole`); a machine handed a packet of
 * the other direction just counts it as dropped.
 */
import type { AuthMachine, AuthenticatorOptions, AuthPeerOptions } from "./auth-machine.js";
import { PPP_CHAP, PPP_PAP } from "./auth-machine.js";
import type { AuthMethod } from "../session-config.js";
import { ChapAuthenticator, ChapPeer, chapMd5Digest, CHAP_RESPONSE, type ChapDigest } from "./chap.js";
import { mschapv1Digest } from "./mschapv1.js";
import { mschapv2Digest } from "./mschapv2.js";
import { PapAuthenticator, PapPeer, PAP_AUTH_REQ } from "./pap.js";

export { describeAuthPacket } from "./describe.js";
export { lookupSecret, addressAllowed, peerSecretFor } from "./secrets-match.js";
export { CHAP_ALG_MD5, CHAP_ALG_MSCHAP, CHAP_ALG_MSCHAPV2 } from "./chap.js";
export { PPP_PAP, PPP_CHAP } from "./auth-machine.js";
export type { AuthMachine, AuthEvent, AuthenticatorOptions, AuthPeerOptions, AuthDescriber } from "./auth-machine.js";

function chapDigest(method: Exclude<AuthMethod, "pap">): ChapDigest {
  return method === "chap-md5" ? chapMd5Digest : method === "mschap" ? mschapv1Digest : mschapv2Digest;
}

/** The machine that authenticates the peer with `opts.method`. */
export function createAuthenticator(opts: AuthenticatorOptions): AuthMachine {
  if (opts.method === "pap") return new PapAuthenticator(opts);
  return new ChapAuthenticator(chapDigest(opts.method), opts);
}

/** The machine that authenticates us to the peer with `opts.method`. */
export function createAuthPeer(opts: AuthPeerOptions): AuthMachine {
  if (opts.method === "pap") return new PapPeer(opts);
  return new ChapPeer(chapDigest(opts.method), opts);
}

/** Which of our two machines a received PAP/CHAP packet is for; undefined for other protocols or an empty packet. */
export function authPacketRole(protocol: number, packet: Uint8Array): "authenticator" | "peer" | undefined {
  if (packet.length < 1) return undefined;
  if (protocol === PPP_PAP) return packet[0] === PAP_AUTH_REQ ? "authenticator" : "peer";
  if (protocol === PPP_CHAP) return packet[0] === CHAP_RESPONSE ? "authenticator" : "peer";
  return undefined;
}
