/**
 * MS-CHAP version 1 (RFC 2433): the algorithms of its Appendix A under their
 * RFC names, and the `ChapDigest` that plugs them into the CHAP exchange of
 * ./chap.ts (algorithm 0x80). The primitives MS-CHAPv2 inherited from it
 * (NtPasswordHash, ChallengeResponse = three DES encryptions) are shared with
 * ./mschapv2.ts rather than copied; MD4 and DES come from ./md4.ts, ./des.ts.
 *
 * Challenge (RFC 2433 §4): 8 octets.
 * Response value (§5): LM-Response (24), NT-Response (24), Flags (1) = 49
 * octets. We send as pppd built without MSLANMAN (Debian's) does: the
 * LM-Response zero and Flags = 1 ("use the NT-Response").
 * Success message: pppd's "Access granted"; the peer checks nothing in it
 * (MS-CHAPv1 has no mutual authentication; pppd's check_success is NULL).
 * Failure message (§7): pppd's "E=691 R=1 C=<16 lower-case hex> V=0".
 *
 * Authenticator: a Response with Flags = 0 asks us to check the LM-Response
 * (old Windows 95 clients). pppd does that only when built with MSLANMAN;
 * we do it, for retro peers, and log that the weak LAN Manager hash was used.
 */
import type { ChapDigest } from "./chap.js";
import { CHAP_ALG_MSCHAP } from "./chap.js";
import { desEncrypt7 } from "./des.js";
import { challengeResponse, describeFailure, ntPasswordHash } from "./mschapv2.js";
import { bytesEqual, bytesToText, toHex } from "./packet.js";

/** RFC 2433 §4: the authenticator's challenge is 8 octets (one DES block). */
export const MSCHAPV1_CHALLENGE_LEN = 8;
/** RFC 2433 §5: the Response value's layout. */
export const MSCHAPV1_RESPONSE_LEN = 49;
const LM_RESPONSE_OFF = 0;
const RESPONSE_PART_LEN = 24;
const NT_RESPONSE_OFF = 24;
const FLAGS_OFF = 48;
/** RFC 2433 §5 Flags bit 0: 1 = use the NT-Response, 0 = use the LM-Response (what we send). */
const FLAG_USE_NT = 0x01;

/** RFC 2433 App. A (LmPasswordHash): a LAN Manager password is at most 14 OEM characters. */
const LM_PASSWORD_MAX = 14;
/** RFC 2433 App. A DesHash: the clear text "KGS!@#$%" (rasapi32.dll's StdText in pppd). */
const LM_MAGIC = Uint8Array.of(0x4b, 0x47, 0x53, 0x21, 0x40, 0x23, 0x24, 0x25);

/** RFC 2433 §7 error code for a bad password, the retry flag and change-password version pppd sends. */
const ERROR_AUTHENTICATION_FAILURE = 691;
const RETRY_ALLOWED = 1;
const CHANGE_PASSWORD_VERSION = 0;

/** RFC 2433 App. A NtChallengeResponse: ChallengeResponse(Challenge, NtPasswordHash(Password)). */
export function ntChallengeResponse(challenge: Uint8Array, password: string): Uint8Array {
  return challengeResponse(challenge, ntPasswordHash(password));
}

/**
 * RFC 2433 App. A LmPasswordHash: the password upper-cased, cut or
 * zero-padded to 14 octets, each 7-octet half DES-encrypts "KGS!@#$%".
 * Upper-casing is pppd's ChapMS_LANMan toupper() in the C locale: a-z only,
 * one octet per character (so the length never changes, unlike
 * String.prototype.toUpperCase on "ß").
 */
export function lmPasswordHash(password: string): Uint8Array {
  const oem = new Uint8Array(LM_PASSWORD_MAX);
  for (let i = 0; i < Math.min(password.length, LM_PASSWORD_MAX); i++) {
    const c = password.charCodeAt(i) & 0xff;
    oem[i] = c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
  }
  const out = new Uint8Array(16);
  out.set(desEncrypt7(oem.subarray(0, 7), LM_MAGIC), 0);
  out.set(desEncrypt7(oem.subarray(7, 14), LM_MAGIC), 8);
  return out;
}

/** RFC 2433 App. A LmChallengeResponse: ChallengeResponse(Challenge, LmPasswordHash(Password)). */
export function lmChallengeResponse(challenge: Uint8Array, password: string): Uint8Array {
  return challengeResponse(challenge, lmPasswordHash(password));
}

/** The 49-octet Response value as pppd (without MSLANMAN) sends it: LM zero, NT-Response, Flags = 1. */
export function mschapv1Response(challenge: Uint8Array, password: string): Uint8Array {
  const value = new Uint8Array(MSCHAPV1_RESPONSE_LEN);
  value.set(ntChallengeResponse(challenge, password), NT_RESPONSE_OFF);
  value[FLAGS_OFF] = FLAG_USE_NT;
  return value;
}

/** pppd chapms_verify_response's Failure text: "E=691 R=1 C=<challenge> V=0" (no M= for v1). */
export function mschapv1FailureMessage(challenge: Uint8Array): string {
  return `E=${ERROR_AUTHENTICATION_FAILURE} R=${RETRY_ALLOWED} C=${toHex(challenge)} V=${CHANGE_PASSWORD_VERSION}`;
}

/** The authenticator's verdict on a Response value; `usedLm` when the peer asked for the LAN Manager response. */
export function verifyMschapv1Response(
  challenge: Uint8Array,
  value: Uint8Array,
  password: string,
): { ok: boolean; usedLm: boolean } {
  if (value.length !== MSCHAPV1_RESPONSE_LEN || challenge.length !== MSCHAPV1_CHALLENGE_LEN) return { ok: false, usedLm: false };
  // pppd tests the whole octet (`if (!response[MS_CHAP_USENT])`), so any non-zero Flags means NT.
  if (value[FLAGS_OFF] !== 0) {
    const nt = value.subarray(NT_RESPONSE_OFF, NT_RESPONSE_OFF + RESPONSE_PART_LEN);
    return { ok: bytesEqual(nt, ntChallengeResponse(challenge, password)), usedLm: false };
  }
  const lm = value.subarray(LM_RESPONSE_OFF, LM_RESPONSE_OFF + RESPONSE_PART_LEN);
  return { ok: bytesEqual(lm, lmChallengeResponse(challenge, password)), usedLm: true };
}

export const mschapv1Digest: ChapDigest = {
  algorithm: CHAP_ALG_MSCHAP,
  method: "mschap",
  challengeLength: MSCHAPV1_CHALLENGE_LEN,
  makeChallenge: (rng) => rng.fill(new Uint8Array(MSCHAPV1_CHALLENGE_LEN)),
  makeResponse: ({ challenge, secret }) => ({ value: mschapv1Response(challenge, secret) }),
  verifyResponse: ({ challenge, value, secret }) => {
    const { ok, usedLm } = verifyMschapv1Response(challenge, value, secret);
    return {
      ok,
      message: ok ? "Access granted" : mschapv1FailureMessage(challenge),
      log: usedLm ? "MS-CHAP: peer asked for the LAN Manager response (weak hash); checked that" : undefined,
    };
  },
  failureMessage: (challenge) => mschapv1FailureMessage(challenge),
  // pppd chapms_digest: check_success is NULL, any Success is accepted.
  checkSuccess: (message) => ({ ok: true, message: bytesToText(message) }),
  failureReason: (message) => describeFailure(bytesToText(message)),
};
