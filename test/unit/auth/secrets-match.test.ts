/** pppd's secrets-file matching: lookupSecret precedence and the IP-address column (addressAllowed). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { lookupSecret, addressAllowed, peerSecretFor } from "../../../src/ppp/auth/index.js";
import type { SecretEntry } from "../../../src/ppp/session-config.js";
import { parseIp4 } from "../../../stack/util/addr.js";

const e = (client: string, server: string, secret: string, origin: string, addresses: string[] = []): SecretEntry => ({
  client,
  server,
  secret,
  addresses,
  origin,
});

test("lookupSecret: the HOWTO line `zaphod * gargleBlaster *` matches zaphod against any server", () => {
  const entries = [e("zaphod", "*", "gargleBlaster", "pap-secrets:1", ["*"])];
  assert.equal(lookupSecret(entries, "zaphod", "ppproxy")?.origin, "pap-secrets:1");
  assert.equal(lookupSecret(entries, "arthur", "ppproxy"), undefined);
});

test("lookupSecret: exact client and server beats exact client, beats exact server, beats wildcards", () => {
  const entries = [
    e("*", "*", "s0", "any"),
    e("*", "srv", "s1", "server-only"),
    e("zaphod", "*", "s2", "client-only"),
    e("zaphod", "srv", "s3", "both"),
  ];
  assert.equal(lookupSecret(entries, "zaphod", "srv")?.origin, "both");
  assert.equal(lookupSecret(entries, "zaphod", "other")?.origin, "client-only");
  assert.equal(lookupSecret(entries, "ford", "srv")?.origin, "server-only");
  assert.equal(lookupSecret(entries, "ford", "other")?.origin, "any");
  // Order in the file does not change precedence.
  assert.equal(lookupSecret([...entries].reverse(), "zaphod", "srv")?.origin, "both");
  assert.equal(lookupSecret([...entries].reverse(), "zaphod", "other")?.origin, "client-only");
});

test("lookupSecret: the first of equally specific lines wins", () => {
  const entries = [e("zaphod", "*", "first", "line1"), e("zaphod", "*", "second", "line2")];
  assert.equal(lookupSecret(entries, "zaphod", "x")?.origin, "line1");
});

test("lookupSecret: names match exactly (case-sensitive, no partial match)", () => {
  const entries = [e("Zaphod", "*", "s", "l1"), e("zap", "*", "s", "l2")];
  assert.equal(lookupSecret(entries, "zaphod", "x"), undefined);
  assert.equal(lookupSecret([], "zaphod", "x"), undefined);
});

test("peerSecretFor: pppd's order: a non-empty `password` option wins, else the (user, authenticator) line", () => {
  const entries = [e("zaphod", "*", "fromFile", "l1"), e("zaphod", "srv", "forSrv", "l2"), e("ford", "*", "fords", "l3")];
  assert.equal(peerSecretFor(entries, "zaphod")("srv"), "forSrv");
  assert.equal(peerSecretFor(entries, "zaphod")(""), "fromFile");
  assert.equal(peerSecretFor(entries, "zaphod", "")("srv"), "forSrv", "an empty password option counts as unset");
  assert.equal(peerSecretFor(entries, "zaphod", "literal")("srv"), "literal");
  assert.equal(peerSecretFor(entries, "arthur")("srv"), undefined);
});

const ip = (s: string) => parseIp4(s)!;

test("addressAllowed: empty list allows any address; lone '-' allows none", () => {
  assert.equal(addressAllowed(ip("192.168.7.2"), []), true);
  assert.equal(addressAllowed(ip("192.168.7.2"), ["-"]), false);
});

test("addressAllowed: '*' allows any address", () => {
  assert.equal(addressAllowed(ip("10.1.2.3"), ["*"]), true);
});

test("addressAllowed: exact addresses and prefixes", () => {
  assert.equal(addressAllowed(ip("192.168.7.2"), ["192.168.7.2"]), true);
  assert.equal(addressAllowed(ip("192.168.7.3"), ["192.168.7.2"]), false);
  assert.equal(addressAllowed(ip("192.168.7.200"), ["192.168.7.0/24"]), true);
  assert.equal(addressAllowed(ip("192.168.8.1"), ["192.168.7.0/24"]), false);
  assert.equal(addressAllowed(ip("10.200.0.1"), ["10.0.0.0/8"]), true);
  assert.equal(addressAllowed(ip("255.255.255.255"), ["0.0.0.0/1", "128.0.0.0/1"]), true);
  assert.equal(addressAllowed(ip("192.168.7.9"), ["192.168.7.9/32"]), true);
});

test("addressAllowed: deny patterns, first match decides, nothing matched denies", () => {
  const pats = ["-192.168.7.5", "192.168.7.0/24"];
  assert.equal(addressAllowed(ip("192.168.7.5"), pats), false);
  assert.equal(addressAllowed(ip("192.168.7.6"), pats), true);
  assert.equal(addressAllowed(ip("10.0.0.1"), pats), false);
  // Order matters: an earlier permit wins over a later deny.
  assert.equal(addressAllowed(ip("192.168.7.5"), ["192.168.7.0/24", "-192.168.7.5"]), true);
  // pppd's own spelling of deny.
  assert.equal(addressAllowed(ip("192.168.7.5"), ["!192.168.7.5", "*"]), false);
  assert.equal(addressAllowed(ip("192.168.7.6"), ["!192.168.7.5", "*"]), true);
  assert.equal(addressAllowed(ip("10.0.0.1"), ["-10.0.0.0/8", "*"]), false);
  // Only denies: everything else is denied too (pppd's closing deny-all).
  assert.equal(addressAllowed(ip("192.168.7.6"), ["-192.168.7.5"]), false);
});

test("addressAllowed: '-' ends the list; malformed patterns are skipped", () => {
  assert.equal(addressAllowed(ip("192.168.7.2"), ["-", "192.168.7.2"]), false);
  assert.equal(addressAllowed(ip("192.168.7.2"), ["192.168.7.2", "-"]), true);
  assert.equal(addressAllowed(ip("192.168.7.2"), ["bogus", "300.1.1.1", "1.2.3.4/0", "1.2.3.4/33", "192.168.7.2"]), true);
  assert.equal(addressAllowed(ip("192.168.7.2"), ["bogus"]), false);
});
