/** MD4 (RFC 1320 §A.5 test suite) and single-block DES (FIPS 46 vectors, RFC 2759 §9.3 key expansion). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { md4 } from "../../../src/ppp/auth/md4.js";
import { desEncryptBlock, desEncrypt7, expandDesKey } from "../../../src/ppp/auth/des.js";
import { ntPasswordHash } from "../../../src/ppp/auth/mschapv2.js";
import { hex, toHexUpper } from "./pair.js";

const RFC1320_SUITE: [string, string][] = [
  ["", "31d6cfe0d16ae931b73c59d7e0c089c0"],
  ["a", "bde52cb31de33e46245e05fbdbd6fb24"],
  ["abc", "a448017aaf21d8525fc10ae87aa6729d"],
  ["message digest", "d9130a8164549fe818874806e1c7014b"],
  ["abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"],
  ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"],
  ["12345678901234567890123456789012345678901234567890123456789012345678901234567890", "e33b4ddc9c38f2199c3e7b164fcc0536"],
];

for (const [input, digest] of RFC1320_SUITE) {
  test(`MD4 RFC 1320 suite: MD4("${input.length > 20 ? input.slice(0, 20) + "..." : input}")`, () => {
    assert.equal(toHexUpper(md4(new TextEncoder().encode(input))).toLowerCase(), digest);
  });
}

test("MD4 padding boundaries (55, 56, 63, 64 octets) differ and are stable in length", () => {
  const seen = new Set<string>();
  for (const n of [55, 56, 63, 64, 65, 119, 120]) {
    const d = md4(new Uint8Array(n).fill(0x61));
    assert.equal(d.length, 16);
    seen.add(toHexUpper(d));
  }
  assert.equal(seen.size, 7);
});

test("MD4 reads a subarray view at a non-zero offset correctly", () => {
  const backing = new Uint8Array(10);
  backing.set(new TextEncoder().encode("abc"), 5);
  assert.equal(toHexUpper(md4(backing.subarray(5, 8))).toLowerCase(), "a448017aaf21d8525fc10ae87aa6729d");
});

const DES_VECTORS: [string, string, string][] = [
  // key, plaintext, ciphertext
  ["133457799BBCDFF1", "0123456789ABCDEF", "85E813540F0AB405"], // the classic worked example
  ["0123456789ABCDEF", "4E6F772069732074", "3FA40E8A984D4815"], // "Now is t"
  ["7CA110454A1A6E57", "01A1D6D039776742", "690F5B0D9A26939B"], // NBS validation set
  ["0000000000000000", "0000000000000000", "8CA64DE9C1B123A7"],
  ["FFFFFFFFFFFFFFFF", "FFFFFFFFFFFFFFFF", "7359B2163E4EDC58"],
];

for (const [key, pt, ct] of DES_VECTORS) {
  test(`DES encrypt key=${key} pt=${pt}`, () => {
    assert.equal(toHexUpper(desEncryptBlock(hex(key), hex(pt))), ct);
  });
}

test("DES ignores the parity bits of the key", () => {
  const a = desEncryptBlock(hex("133457799BBCDFF1"), hex("0123456789ABCDEF"));
  const b = desEncryptBlock(hex("123456789ABCDEF0"), hex("0123456789ABCDEF")); // each octet's low bit flipped
  assert.equal(toHexUpper(a), toHexUpper(b));
});

test("RFC 2759 §9.3 DES key generation from PasswordHash of 'MyPw'", () => {
  const hash = ntPasswordHash("MyPw");
  assert.equal(toHexUpper(hash), "FC156AF7EDCD6C0EDDE3337D427F4EAC");
  assert.equal(toHexUpper(expandDesKey(hash.subarray(0, 7))), "FD0B5B5E7F6E34D9");
  assert.equal(toHexUpper(expandDesKey(hash.subarray(7, 14))), "0E6E796737EA08FE");
});

test("desEncrypt7 equals DES under the expanded key", () => {
  const k7 = hex("FC156AF7EDCD6C");
  const pt = hex("0123456789ABCDEF");
  assert.equal(toHexUpper(desEncrypt7(k7, pt)), toHexUpper(desEncryptBlock(hex("FD0B5B5E7F6E34D9"), pt)));
});
