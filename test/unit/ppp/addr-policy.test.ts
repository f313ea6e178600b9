/** pppd's secrets-file IP column semantics (auth.c auth_ip_addr). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { addressAllowed } from "../../../src/ppp/addr-policy.js";
import { ip } from "./harness.js";

test("empty list allows any address", () => {
  assert.equal(addressAllowed(ip("1.2.3.4"), []), true);
});

test("exact address, CIDR, '*', deny entries, first match wins, no match denies", () => {
  assert.equal(addressAllowed(ip("192.168.7.2"), ["192.168.7.2"]), true);
  assert.equal(addressAllowed(ip("192.168.7.3"), ["192.168.7.2"]), false);
  assert.equal(addressAllowed(ip("192.168.7.3"), ["192.168.7.0/24"]), true);
  assert.equal(addressAllowed(ip("192.168.8.3"), ["192.168.7.0/24"]), false);
  assert.equal(addressAllowed(ip("10.1.2.3"), ["*"]), true);
  assert.equal(addressAllowed(ip("192.168.7.9"), ["-192.168.7.9", "192.168.7.0/24"]), false);
  assert.equal(addressAllowed(ip("192.168.7.8"), ["-192.168.7.9", "192.168.7.0/24"]), true);
  assert.equal(addressAllowed(ip("10.0.0.1"), ["-10.0.0.0/8", "*"]), false);
  assert.equal(addressAllowed(ip("11.0.0.1"), ["-10.0.0.0/8", "*"]), true);
  assert.equal(addressAllowed(ip("10.0.0.1"), ["10.0.0.0/0"]), false, "pppd: /0 is an invalid address length, skipped");
});

test("malformed entries are skipped, not thrown", () => {
  assert.equal(addressAllowed(ip("1.2.3.4"), ["bogus", "1.2.3.4/33", "1.2.3.4"]), true);
  assert.equal(addressAllowed(ip("1.2.3.4"), ["bogus"]), false);
});
