import { test } from "node:test";
import assert from "node:assert/strict";
import { Policy, parseRule, PolicyError } from "../../../proxy/masquerade/policy.js";

const SERVER = "192.168.7.1";

test("the server address maps to the host's loopback", () => {
  assert.deepEqual(new Policy().decide(SERVER, 80, SERVER), { ok: true, host: "127.0.0.1" });
});

test("the host's loopback can be switched off", () => {
  const d = new Policy({ hostLoopback: false }).decide(SERVER, 80, SERVER);
  assert.equal(d.ok, false);
});

test("loopback is never reachable directly", () => {
  const d = new Policy().decide("127.0.0.1", 22, SERVER);
  assert.equal(d.ok, false);
  assert.match((d as { reason: string }).reason, /only through the server address/);
});

test("multicast, broadcast and 0/8 are refused", () => {
  for (const a of ["224.0.0.1", "255.255.255.255", "0.1.2.3"]) assert.equal(new Policy().decide(a, 1, SERVER).ok, false, a);
});

test("deny rules win over allow rules, and ports narrow a rule", () => {
  const p = new Policy({ allow: ["0.0.0.0/0:80,443"], deny: ["10.1.0.0/16"] });
  assert.deepEqual(p.decide("10.2.3.4", 80, SERVER), { ok: true, host: "10.2.3.4" });
  assert.equal(p.decide("10.2.3.4", 22, SERVER).ok, false);
  assert.equal(p.decide("10.1.3.4", 80, SERVER).ok, false);
});

test("rules apply to the server address too", () => {
  const p = new Policy({ deny: [`${SERVER}:22`] });
  assert.equal(p.decide(SERVER, 22, SERVER).ok, false);
  assert.equal(p.decide(SERVER, 80, SERVER).ok, true);
});

test("malformed rules are refused with the rule named", () => {
  assert.throws(() => parseRule("10.0.0.0/33"), PolicyError);
  assert.throws(() => parseRule("example.com"), /example\.com/);
  assert.throws(() => parseRule("1.2.3.4:70000"), /70000/);
  assert.deepEqual(parseRule("10.9.8.7/8:1000-2000").ports, [[1000, 2000]]);
  assert.equal(parseRule("10.9.8.7/8").net, 0x0a000000);
});
