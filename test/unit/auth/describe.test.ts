/** describeAuthPacket: golden strings in pppd 2.4.9's format, and secrets never printed. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeAuthPacket, PPP_CHAP, PPP_PAP } from "../../../src/ppp/auth/index.js";
import { buildAuthPacket, lengthPrefixed } from "../../../src/ppp/auth/packet.js";
import { hex } from "./pair.js";

const enc = (s: string) => new TextEncoder().encode(s);
const authReq = (id: number, user: string, pass: string) => buildAuthPacket(1, id, lengthPrefixed(enc(user)), lengthPrefixed(enc(pass)));

test("PAP AuthReq prints user and hides the password", () => {
  const line = describeAuthPacket(PPP_PAP, authReq(1, "zaphod", "gargleBlaster"));
  assert.equal(line, 'PAP AuthReq id=0x1 user="zaphod" password=<hidden>');
  assert.ok(!line.includes("gargle"));
});

test("PAP AuthAck / AuthNak print the message", () => {
  assert.equal(describeAuthPacket(PPP_PAP, buildAuthPacket(2, 1, lengthPrefixed(enc("Login ok")))), 'PAP AuthAck id=0x1 "Login ok"');
  assert.equal(describeAuthPacket(PPP_PAP, buildAuthPacket(3, 0x1f, lengthPrefixed(enc("Login incorrect")))), 'PAP AuthNak id=0x1f "Login incorrect"');
});

test("PAP unknown code and trailing octets as pppd prints them", () => {
  assert.equal(describeAuthPacket(PPP_PAP, buildAuthPacket(9, 2, hex("0a0b"))), "PAP code=0x9 id=0x2 0a 0b");
  assert.equal(describeAuthPacket(PPP_PAP, buildAuthPacket(2, 1, lengthPrefixed(enc("ok")), hex("ff"))), 'PAP AuthAck id=0x1 "ok" ff');
});

test("PAP AuthReq too malformed to find its password is summarised, never dumped in hex", () => {
  // Peer-ID length 6, password length 13, but the password is cut short.
  const full = authReq(1, "zaphod", "gargleBlaster");
  const cut = buildAuthPacket(1, 1, full.subarray(4, full.length - 3));
  const line = describeAuthPacket(PPP_PAP, cut);
  assert.equal(line, "PAP AuthReq id=0x1 <18 octets, malformed>");
  const secretHex = Buffer.from("gargleBlast").toString("hex");
  assert.ok(!line.replace(/ /g, "").includes(secretHex.slice(0, 6)));
  // Header shorter than its Length field.
  assert.equal(describeAuthPacket(PPP_PAP, full.subarray(0, 10)), "PAP <10 octets, malformed>");
});

test("CHAP Challenge and Response print value in hex and the name", () => {
  const chal = buildAuthPacket(1, 1, lengthPrefixed(hex("4a5b6c7d")), enc("server"));
  assert.equal(describeAuthPacket(PPP_CHAP, chal), 'CHAP Challenge id=0x1 <4a5b6c7d>, name = "server"');
  const resp = buildAuthPacket(2, 0xab, lengthPrefixed(hex("00112233445566778899aabbccddeeff")), enc("zaphod"));
  assert.equal(describeAuthPacket(PPP_CHAP, resp), 'CHAP Response id=0xab <00112233445566778899aabbccddeeff>, name = "zaphod"');
});

test("CHAP Success / Failure print the message", () => {
  assert.equal(describeAuthPacket(PPP_CHAP, buildAuthPacket(3, 1, enc("Access granted"))), 'CHAP Success id=0x1 "Access granted"');
  assert.equal(
    describeAuthPacket(PPP_CHAP, buildAuthPacket(4, 2, enc("E=691 R=0 C=00 V=3 M=Access denied"))),
    'CHAP Failure id=0x2 "E=691 R=0 C=00 V=3 M=Access denied"',
  );
  assert.equal(describeAuthPacket(PPP_CHAP, buildAuthPacket(3, 1)), 'CHAP Success id=0x1 ""');
});

test("print_string escapes as pppd: quotes, backslash, \\n \\r \\t, octal for the rest", () => {
  const chal = buildAuthPacket(1, 1, lengthPrefixed(hex("01")), Uint8Array.of(0x61, 0x22, 0x5c, 0x0a, 0x0d, 0x09, 0x01, 0xff));
  assert.equal(describeAuthPacket(PPP_CHAP, chal), 'CHAP Challenge id=0x1 <01>, name = "a\\"\\\\\\n\\r\\t\\001\\377"');
});

test("CHAP unknown code, truncated value, bad header; unknown protocol", () => {
  assert.equal(describeAuthPacket(PPP_CHAP, buildAuthPacket(7, 3, hex("0102"))), "CHAP code=0x7 id=0x3 01 02");
  assert.equal(describeAuthPacket(PPP_CHAP, buildAuthPacket(1, 3, hex("10ab"))), "CHAP Challenge id=0x3");
  assert.equal(describeAuthPacket(PPP_CHAP, hex("0101")), "CHAP 01 01");
  assert.equal(describeAuthPacket(0xc025, hex("0102")), "proto=0xc025 01 02");
});

test("octets past Length (padding) are not part of the description", () => {
  const p = buildAuthPacket(3, 1, enc("ok"));
  const padded = new Uint8Array(p.length + 3);
  padded.set(p);
  assert.equal(describeAuthPacket(PPP_CHAP, padded), 'CHAP Success id=0x1 "ok"');
});
