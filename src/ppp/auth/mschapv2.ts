/**
 * MS-CHAPv2 (RFC 2759): the algorithms of §8 under their RFC names, and the
 * `ChapDigest` that plugs them into the CHAP exchange of ./chap.ts
 * (algorithm 0x81). MD4 and DES come from ./md4.ts and ./des.ts (Node 20's
 * OpenSSL 3 lacks both); SHA-1 from node:crypto.
 *
 * Response value (RFC 2759 §4): Peer-Challenge (16), Reserved (8, zero),
 * NT-Response (24), Flags (1, zero) = 49 octets.
 * Success message (§5): "S=<40 upper-case hex> M=<text>"; the peer checks the
 * S= part (mutual authentication) and fails if it is wrong.
 * Failure message (§6): "E=691 R=0 C=<32 hex> V=3 M=<text>".
 */
import { createHash } from "node:crypto";
import type { ChapDigest, SuccessCheck } from "./chap.js";
import { CHAP_ALG_MSCHAPV2 } from "./chap.js";
import { desEncrypt7 } from "./des.js";
import { md4 } from "./md4.js";
import { bytesEqual, bytesToText, textToBytes, toHex } from "./packet.js";

/** RFC 2759 §4: the Response value's layout. */
export const MSCHAPV2_RESPONSE_LEN = 49;
const PEER_CHALLENGE_OFF = 0;
const PEER_CHALLENGE_LEN = 16;
const RESERVED_LEN = 8;
const NT_RESPONSE_OFF = PEER_CHALLENGE_LEN + RESERVED_LEN;
const NT_RESPONSE_LEN = 24;
const FLAGS_OFF = NT_RESPONSE_OFF + NT_RESPONSE_LEN;
/** RFC 2759 §3: the authenticator's challenge is 16 octets. */
const AUTH_CHALLENGE_LEN = 16;
/** RFC 2759 §5: "S=" and 40 hex digits. */
const AUTH_RESPONSE_TEXT_LEN = 42;

/** RFC 2759 §6 error code for a bad password, and the version we speak. */
const ERROR_AUTHENTICATION_FAILURE = 691;
const MSCHAP_VERSION = 3;

/** RFC 2759 §8.7 magic constants. */
const MAGIC1 = textToBytes("Magic server to client signing constant");
const MAGIC2 = textToBytes("Pad to make it do more than one iteration");

const sha1 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash("sha1");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** The password as Windows hashes it: UTF-16 little-endian (RFC 2759 §8.3 "Unicode"). */
export function passwordToUnicode(password: string): Uint8Array {
  const out = new Uint8Array(password.length * 2);
  for (let i = 0; i < password.length; i++) {
    const c = password.charCodeAt(i);
    out[2 * i] = c & 0xff;
    out[2 * i + 1] = c >>> 8;
  }
  return out;
}

/** RFC 2759 §8.2: the user name without any "DOMAIN\" prefix. */
export function stripDomain(userName: string): string {
  const i = userName.lastIndexOf("\\");
  return i >= 0 ? userName.slice(i + 1) : userName;
}

/** RFC 2759 §8.3 NtPasswordHash: MD4 of the Unicode password. */
export function ntPasswordHash(password: string): Uint8Array {
  return md4(passwordToUnicode(password));
}

/** RFC 2759 §8.4 HashNtPasswordHash: MD4 of the hash. */
export function hashNtPasswordHash(passwordHash: Uint8Array): Uint8Array {
  return md4(passwordHash);
}

/** RFC 2759 §8.2 ChallengeHash: first 8 octets of SHA1(PeerChallenge || AuthenticatorChallenge || UserName). */
export function challengeHash(peerChallenge: Uint8Array, authenticatorChallenge: Uint8Array, userName: string): Uint8Array {
  return sha1(peerChallenge, authenticatorChallenge, textToBytes(stripDomain(userName))).subarray(0, 8);
}

/** RFC 2759 §8.5 ChallengeResponse: DES of the 8-octet challenge under the zero-padded 21-octet hash, in three 7-octet keys. */
export function challengeResponse(challenge: Uint8Array, passwordHash: Uint8Array): Uint8Array {
  const z = new Uint8Array(21);
  z.set(passwordHash.subarray(0, 16));
  const out = new Uint8Array(24);
  for (let i = 0; i < 3; i++) out.set(desEncrypt7(z.subarray(7 * i, 7 * i + 7), challenge), 8 * i);
  return out;
}

/** RFC 2759 §8.1 GenerateNTResponse. */
export function generateNtResponse(
  authenticatorChallenge: Uint8Array,
  peerChallenge: Uint8Array,
  userName: string,
  password: string,
): Uint8Array {
  return challengeResponse(challengeHash(peerChallenge, authenticatorChallenge, userName), ntPasswordHash(password));
}

/** RFC 2759 §8.7 GenerateAuthenticatorResponse: "S=" and 40 upper-case hex digits. */
export function generateAuthenticatorResponse(
  password: string,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: string,
): string {
  const hashHash = hashNtPasswordHash(ntPasswordHash(password));
  const digest = sha1(hashHash, ntResponse, MAGIC1);
  const challenge = challengeHash(peerChallenge, authenticatorChallenge, userName);
  return "S=" + toHex(sha1(digest, challenge, MAGIC2), true);
}

/** RFC 2759 §6 Failure message. R=0: we allow no retry; the session ends the link. */
export function failureMessage(authenticatorChallenge: Uint8Array, text = "Access denied"): string {
  return `E=${ERROR_AUTHENTICATION_FAILURE} R=0 C=${toHex(authenticatorChallenge, true)} V=${MSCHAP_VERSION} M=${text}`;
}

/** pppd chap_ms.c: what to say for an E= code when the message carries no M= text. */
const ERROR_TEXT: Record<number, string> = {
  646: "E=646 Restricted logon hours",
  647: "E=647 Account disabled",
  648: "E=648 Password expired",
  649: "E=649 No dialin permission",
  691: "E=691 Authentication failure",
  709: "E=709 Error changing password",
};

/** The peer's reason for a Failure message, as pppd's chapms_handle_failure words it. */
export function describeFailure(message: string): string {
  if (!message.startsWith("E=")) return `MS-CHAP authentication failed: ${message}`;
  const m = / M=(.*)$/s.exec(message);
  if (m) return `MS-CHAP authentication failed: ${m[1]}`;
  const code = parseInt(message.slice(2), 10);
  const known = ERROR_TEXT[code];
  return known ? `MS-CHAP authentication failed: ${known}` : `Unknown MS-CHAP authentication failure: ${message}`;
}

/** The peer's check of a Success message against the authenticator response it computed (RFC 2759 §5; pppd chapms2_check_success). */
export function checkSuccessMessage(message: string, expected: string | undefined): SuccessCheck {
  if (message.length < AUTH_RESPONSE_TEXT_LEN || !message.startsWith("S=") || expected === undefined) {
    return { ok: false, reason: "MS-CHAPv2 Success packet is badly formed." };
  }
  const got = message.slice(0, AUTH_RESPONSE_TEXT_LEN).toUpperCase();
  if (!bytesEqual(textToBytes(got), textToBytes(expected.toUpperCase()))) {
    return { ok: false, reason: "MS-CHAPv2 mutual authentication failed." };
  }
  const rest = message.slice(AUTH_RESPONSE_TEXT_LEN);
  if (rest.startsWith(" M=")) return { ok: true, message: rest.slice(3) };
  if (rest.length === 0) return { ok: true, message: "" };
  return { ok: false, reason: "MS-CHAPv2 Success packet is badly formed." };
}

export const mschapv2Digest: ChapDigest = {
  algorithm: CHAP_ALG_MSCHAPV2,
  method: "mschapv2",
  makeChallenge: (rng) => rng.fill(new Uint8Array(AUTH_CHALLENGE_LEN)),

  makeResponse: ({ challenge, user, secret, rng }) => {
    const peerChallenge = rng.fill(new Uint8Array(PEER_CHALLENGE_LEN));
    const nt = generateNtResponse(challenge, peerChallenge, user, secret);
    const value = new Uint8Array(MSCHAPV2_RESPONSE_LEN); // Reserved and Flags stay zero
    value.set(peerChallenge, PEER_CHALLENGE_OFF);
    value.set(nt, NT_RESPONSE_OFF);
    return { value, expect: generateAuthenticatorResponse(secret, nt, peerChallenge, challenge, user) };
  },

  verifyResponse: ({ challenge, value, name, secret }) => {
    if (value.length !== MSCHAPV2_RESPONSE_LEN) return { ok: false, message: failureMessage(challenge) };
    const peerChallenge = value.subarray(PEER_CHALLENGE_OFF, PEER_CHALLENGE_OFF + PEER_CHALLENGE_LEN);
    const nt = value.subarray(NT_RESPONSE_OFF, NT_RESPONSE_OFF + NT_RESPONSE_LEN);
    const expected = generateNtResponse(challenge, peerChallenge, name, secret);
    if (!bytesEqual(nt, expected)) return { ok: false, message: failureMessage(challenge) };
    const s = generateAuthenticatorResponse(secret, nt, peerChallenge, challenge, name);
    // pppd chapms2_verify_response: a set Flags octet asks for no M= text.
    return { ok: true, message: value[FLAGS_OFF] ? s : `${s} M=Access granted` };
  },

  failureMessage: (challenge) => failureMessage(challenge),
  checkSuccess: (message, expect) => checkSuccessMessage(bytesToText(message), expect),
  failureReason: (message) => describeFailure(bytesToText(message)),
};
