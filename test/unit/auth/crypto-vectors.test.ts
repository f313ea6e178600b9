/** RFC 1994 CHAP-MD5 response computation and every RFC 2759 §9.2 MS-CHAPv2 vector, intermediates included. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chapMd5Response } from "../../../src/ppp/auth/chap.js";
import {
  challengeHash,
  challengeResponse,
  checkSuccessMessage,
  describeFailure,
  failureMessage,
  generateAuthenticatorResponse,
  generateNtResponse,
  hashNtPasswordHash,
  ntPasswordHash,
  passwordToUnicode,
  stripDomain,
} from "../../../src/ppp/auth/mschapv2.js";
import { hex, toHexUpper } from "./pair.js";

const enc = (s: string) => new TextEncoder().encode(s);

test("RFC 1994 §4.1: Response = MD5(Identifier || secret || Challenge) (golden values from md5sum)", () => {
  const challenge = Uint8Array.from({ length: 16 }, (_, i) => i);
  // printf '\x01gargleBlaster\x00\x01...\x0f' | md5sum
  assert.equal(toHexUpper(chapMd5Response(1, enc("gargleBlaster"), challenge)).toLowerCase(), "24257d0d9812b48e2e78b10e029193b1");
  // printf '\x7fsecret\xde\xad\xbe\xef' | md5sum
  assert.equal(toHexUpper(chapMd5Response(0x7f, enc("secret"), hex("deadbeef"))).toLowerCase(), "c2347c823274e4a65805ed62e28189ca");
});

test("CHAP-MD5 response depends on the identifier (replays under another id fail)", () => {
  const c = hex("00112233445566778899aabbccddeeff");
  assert.notEqual(toHexUpper(chapMd5Response(1, enc("s"), c)), toHexUpper(chapMd5Response(2, enc("s"), c)));
});

// RFC 2759 §9.2
const USER = "User";
const PASSWORD = "clientPass";
const AUTH_CHALLENGE = hex("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28");
const PEER_CHALLENGE = hex("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E");

test("RFC 2759 §9.2 UserName and Unicode Password octets", () => {
  assert.equal(toHexUpper(enc(USER)), "55736572");
  assert.equal(toHexUpper(passwordToUnicode(PASSWORD)), "63006C00690065006E0074005000610073007300");
});

test("RFC 2759 §9.2 8-octet Challenge (ChallengeHash)", () => {
  assert.equal(toHexUpper(challengeHash(PEER_CHALLENGE, AUTH_CHALLENGE, USER)), "D02E4386BCE91226");
});

test("RFC 2759 §9.2 PasswordHash (NtPasswordHash)", () => {
  assert.equal(toHexUpper(ntPasswordHash(PASSWORD)), "44EBBA8D5312B8D611474411F56989AE");
});

test("RFC 2759 §9.2 NT-Response (ChallengeResponse and GenerateNTResponse)", () => {
  const expected = "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF";
  assert.equal(toHexUpper(challengeResponse(hex("D02E4386BCE91226"), ntPasswordHash(PASSWORD))), expected);
  assert.equal(toHexUpper(generateNtResponse(AUTH_CHALLENGE, PEER_CHALLENGE, USER, PASSWORD)), expected);
});

test("RFC 2759 §9.2 PasswordHashHash", () => {
  assert.equal(toHexUpper(hashNtPasswordHash(ntPasswordHash(PASSWORD))), "41C00C584BD2D91C4017A2A12FA59F3F");
});

test("RFC 2759 §9.2 AuthenticatorResponse", () => {
  const nt = hex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF");
  assert.equal(generateAuthenticatorResponse(PASSWORD, nt, PEER_CHALLENGE, AUTH_CHALLENGE, USER), "S=407A5589115FD0D6209F510FE9C04566932CDA56");
});

test("RFC 2759 §8.2: a DOMAIN\\ prefix is left out of ChallengeHash", () => {
  assert.equal(stripDomain("CORP\\User"), "User");
  assert.equal(toHexUpper(challengeHash(PEER_CHALLENGE, AUTH_CHALLENGE, "CORP\\User")), "D02E4386BCE91226");
});

test("password hashing is UTF-16LE, not Latin-1, for characters above U+00FF", () => {
  assert.equal(toHexUpper(passwordToUnicode("€")), "AC20");
  assert.notEqual(toHexUpper(ntPasswordHash("€")), toHexUpper(ntPasswordHash("\u00ac")));
});

test("RFC 2759 §6 Failure message format", () => {
  assert.equal(failureMessage(AUTH_CHALLENGE), "E=691 R=0 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3 M=Access denied");
});

test("peer words a Failure message as pppd's chapms_handle_failure", () => {
  assert.equal(describeFailure("E=691 R=0 C=00 V=3 M=Access denied"), "MS-CHAP authentication failed: Access denied");
  assert.equal(describeFailure("E=691 R=1 C=00 V=0"), "MS-CHAP authentication failed: E=691 Authentication failure");
  assert.equal(describeFailure("E=648 R=0 V=3"), "MS-CHAP authentication failed: E=648 Password expired");
  assert.equal(describeFailure("E=123"), "Unknown MS-CHAP authentication failure: E=123");
  assert.equal(describeFailure("garbage"), "MS-CHAP authentication failed: garbage");
});

test("peer checks the Success message's S= (mutual authentication)", () => {
  const s = "S=407A5589115FD0D6209F510FE9C04566932CDA56";
  assert.deepEqual(checkSuccessMessage(`${s} M=Access granted`, s), { ok: true, message: "Access granted" });
  assert.deepEqual(checkSuccessMessage(s, s), { ok: true, message: "" });
  assert.deepEqual(checkSuccessMessage(s.toLowerCase().replace("s=", "S="), s), { ok: true, message: "" });
  const wrong = "S=407A5589115FD0D6209F510FE9C04566932CDA57";
  assert.deepEqual(checkSuccessMessage(`${wrong} M=ok`, s), { ok: false, reason: "MS-CHAPv2 mutual authentication failed." });
  assert.deepEqual(checkSuccessMessage("S=407A", s), { ok: false, reason: "MS-CHAPv2 Success packet is badly formed." });
  assert.deepEqual(checkSuccessMessage(`${s}junk`, s), { ok: false, reason: "MS-CHAPv2 Success packet is badly formed." });
  assert.deepEqual(checkSuccessMessage(`X=${s.slice(2)}`, s), { ok: false, reason: "MS-CHAPv2 Success packet is badly formed." });
});
