/**
 * CHAP-MD5 and MS-CHAPv2 authenticator <-> peer back to back on a ManualClock:
 * success, wrong secret, lost packets of every kind, giving up; plus the
 * RFC 2759 §9.2 exchange driven through the machines themselves.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createAuthenticator, createAuthPeer, describeAuthPacket, PPP_CHAP } from "../../../src/ppp/auth/index.js";
import type { AuthMethod, SecretEntry } from "../../../src/ppp/session-config.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { buildAuthPacket, lengthPrefixed } from "../../../src/ppp/auth/packet.js";
import { AuthPair, fixedRng, hex, toHexUpper, type Direction } from "./pair.js";

const SECRETS: SecretEntry[] = [
  { client: "zaphod", server: "server", secret: "gargleBlaster", addresses: ["192.168.7.0/24"], origin: "chap-secrets:1" },
  { client: "*", server: "elsewhere", secret: "other", addresses: [], origin: "chap-secrets:2" },
];
const enc = (s: string) => new TextEncoder().encode(s);

function chapPair(method: AuthMethod, secret: string | undefined, seed: number, drop?: (dir: Direction, n: number, p: Uint8Array) => boolean) {
  const asked: string[] = [];
  const authenticator = createAuthenticator({ method, ourName: "server", secrets: SECRETS, rng: new SeededRng(seed) });
  const peer = createAuthPeer({ method, user: "zaphod", secretFor: (n) => (asked.push(n), secret), rng: new SeededRng(seed + 1000) });
  return { pair: new AuthPair(authenticator, peer, drop), asked };
}

const FAILURE_REASON: Record<string, string> = {
  "chap-md5": "CHAP authentication failed: Access denied",
  mschapv2: "MS-CHAP authentication failed: Access denied",
};

for (const method of ["chap-md5", "mschapv2"] as const) {
  test(`${method}: right secret -> Success, success on both sides`, () => {
    const { pair, asked } = chapPair(method, "gargleBlaster", 1);
    pair.drive();
    const a = AuthPair.outcomes(pair.authEvents);
    const p = AuthPair.outcomes(pair.peerEvents);
    assert.equal(a.length, 1);
    assert.equal(a[0].type, "success");
    assert.equal(a[0].type === "success" && a[0].peerName, "zaphod");
    assert.deepEqual(a[0].type === "success" && a[0].addresses, ["192.168.7.0/24"]);
    assert.deepEqual(p, [{ type: "success", peerName: "server", addresses: [], message: "Access granted" }]);
    assert.deepEqual(asked, ["server"], "the peer looks its secret up by the challenger's name");
    const lines = pair.wire.map((w) => describeAuthPacket(PPP_CHAP, w.packet));
    assert.match(lines[0], /^CHAP Challenge id=0x[0-9a-f]+ <[0-9a-f]{32}>, name = "server"$/);
    assert.match(lines[1], new RegExp(`^CHAP Response id=0x[0-9a-f]+ <[0-9a-f]{${method === "chap-md5" ? 32 : 98}}>, name = "zaphod"$`));
    assert.match(lines[2], method === "chap-md5" ? /^CHAP Success id=0x[0-9a-f]+ "Access granted"$/ : /^CHAP Success id=0x[0-9a-f]+ "S=[0-9A-F]{40} M=Access granted"$/);
    assert.equal(new Set(pair.wire.map((w) => w.packet[1])).size, 1, "one identifier throughout");
    for (const l of lines) assert.ok(!l.includes("gargle"));
    assert.equal(pair.authenticator.pollTimeout(), undefined);
    assert.equal(pair.peer.pollTimeout(), undefined);
  });

  test(`${method}: wrong secret -> Failure, failure on both sides`, () => {
    const { pair } = chapPair(method, "wrong", 2);
    pair.drive();
    assert.deepEqual(AuthPair.outcomes(pair.authEvents), [{ type: "failure", reason: "Peer zaphod failed CHAP authentication" }]);
    assert.deepEqual(AuthPair.outcomes(pair.peerEvents), [{ type: "failure", reason: FAILURE_REASON[method] }]);
    if (method === "mschapv2") {
      const challenge = pair.wire[0].packet.subarray(5, 21);
      assert.equal(
        describeAuthPacket(PPP_CHAP, pair.wire[2].packet).replace(/id=0x[0-9a-f]+/, "id=X"),
        `CHAP Failure id=X "E=691 R=0 C=${toHexUpper(challenge)} V=3 M=Access denied"`,
      );
    }
  });

  test(`${method}: no secret on the peer -> warns, answers anyway, authenticator refuses`, () => {
    const { pair } = chapPair(method, undefined, 3);
    pair.drive();
    assert.ok(pair.peerEvents.some((e) => e.type === "log" && e.text === "No CHAP secret found for authenticating us to server"));
    assert.equal(AuthPair.outcomes(pair.authEvents)[0].type, "failure");
    assert.equal(AuthPair.outcomes(pair.peerEvents)[0].type, "failure");
  });

  test(`${method}: lost Challenge -> retransmitted after 3 s, same id and value`, () => {
    const { pair } = chapPair(method, "gargleBlaster", 4, (dir, n) => dir === "a->p" && n === 0);
    pair.drive();
    const [first, second] = pair.sentBy("a->p");
    assert.equal(second.at, 3000);
    assert.deepEqual(second.packet, first.packet);
    assert.equal(AuthPair.outcomes(pair.authEvents)[0].type, "success");
    assert.equal(AuthPair.outcomes(pair.peerEvents)[0].type, "success");
  });

  test(`${method}: lost Response -> authenticator re-challenges, peer resends the identical Response`, () => {
    const { pair } = chapPair(method, "gargleBlaster", 5, (dir, n) => dir === "p->a" && n === 0);
    pair.drive();
    const responses = pair.sentBy("p->a");
    assert.ok(responses.length >= 2);
    assert.deepEqual(responses[1].packet, responses[0].packet, "same id, same value (same MS-CHAPv2 peer challenge)");
    assert.equal(AuthPair.outcomes(pair.authEvents)[0].type, "success");
    assert.equal(AuthPair.outcomes(pair.peerEvents)[0].type, "success");
  });

  test(`${method}: lost Success -> peer resends its Response, authenticator repeats Success once decided`, () => {
    const { pair } = chapPair(method, "gargleBlaster", 6, (dir, n) => dir === "a->p" && n === 1);
    pair.drive();
    const fromAuth = pair.sentBy("a->p").map((w) => w.packet[0]);
    assert.deepEqual(fromAuth, [1, 3, 3], "Challenge, Success (lost), Success again");
    assert.equal(pair.sentBy("p->a")[1].at, 3000);
    assert.equal(AuthPair.outcomes(pair.authEvents).length, 1, "the authenticator decides once");
    assert.equal(AuthPair.outcomes(pair.peerEvents)[0].type, "success");
  });

  test(`${method}: silent peer -> 10 challenges, then pppd-worded failure`, () => {
    const { pair } = chapPair(method, "gargleBlaster", 7, (dir) => dir === "p->a");
    pair.drive();
    const challenges = pair.sentBy("a->p");
    assert.deepEqual(challenges.map((c) => c.at), Array.from({ length: 10 }, (_, i) => i * 3000));
    assert.deepEqual(AuthPair.outcomes(pair.authEvents), [{ type: "failure", reason: "Peer failed to respond to CHAP challenge" }]);
  });

  test(`${method}: authenticator never answers -> peer resends its Response 10 times then fails`, () => {
    const { pair } = chapPair(method, "gargleBlaster", 8, (dir, n) => dir === "a->p" && n > 0);
    pair.drive();
    assert.equal(pair.sentBy("p->a").length, 10);
    assert.deepEqual(AuthPair.outcomes(pair.peerEvents), [{ type: "failure", reason: "No response to CHAP responses" }]);
    assert.equal(AuthPair.outcomes(pair.authEvents)[0].type, "success", "the authenticator did decide; only its answers were lost");
  });

  test(`${method}: random loss (30%) over 50 seeds: the peer never succeeds alone`, () => {
    let bothOk = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const loss = new SeededRng(seed * 7919);
      const { pair } = chapPair(method, "gargleBlaster", seed, () => loss.next() < 0.3);
      pair.drive();
      const a = AuthPair.outcomes(pair.authEvents);
      const p = AuthPair.outcomes(pair.peerEvents);
      assert.ok(a.length <= 1 && p.length <= 1, `seed ${seed}: at most one verdict per side`);
      if (p[0]?.type === "success") {
        assert.equal(a[0]?.type, "success", `seed ${seed}: peer accepted but authenticator did not`);
        bothOk++;
      }
    }
    assert.ok(bothOk >= 45, `only ${bothOk}/50 seeds succeeded`);
  });
}

test("chap-md5: challenge and identifier come from the injected Rng (seeded runs repeat)", () => {
  const run = () => {
    const { pair } = chapPair("chap-md5", "gargleBlaster", 42);
    pair.drive();
    return pair.wire.map((w) => toHexUpper(w.packet));
  };
  assert.deepEqual(run(), run());
  const other = chapPair("chap-md5", "gargleBlaster", 43).pair;
  other.drive();
  assert.notDeepEqual(toHexUpper(other.wire[0].packet), run()[0]);
});

test("chap-md5: the secrets line is chosen by (peer name, our name)", () => {
  const authenticator = createAuthenticator({ method: "chap-md5", ourName: "elsewhere", secrets: SECRETS, rng: new SeededRng(9) });
  const peer = createAuthPeer({ method: "chap-md5", user: "zaphod", secretFor: () => "other", rng: new SeededRng(10) });
  const pair = new AuthPair(authenticator, peer);
  pair.drive();
  assert.equal(AuthPair.outcomes(pair.authEvents)[0].type, "success", "zaphod@elsewhere uses line 2 (* elsewhere other)");
});

test("chap authenticator: a Response with another identifier is dropped", () => {
  const auth = createAuthenticator({ method: "chap-md5", ourName: "server", secrets: SECRETS, rng: new SeededRng(11) });
  auth.start(0);
  const chal = auth.pollTransmit()!;
  const wrongId = (chal[1] + 1) & 0xff;
  auth.input(buildAuthPacket(2, wrongId, lengthPrefixed(new Uint8Array(16)), enc("zaphod")), 10);
  assert.equal(auth.pollTransmit(), undefined);
  const ev = auth.pollEvent();
  assert.equal(ev?.type, "log");
  assert.match(ev?.type === "log" ? ev.text : "", /unexpected id/);
  assert.equal(auth.pollTimeout(), 3000, "still waiting for the right Response");
});

test("chap authenticator: after giving up, a late Response is dropped, not judged", () => {
  const auth = createAuthenticator({ method: "chap-md5", ourName: "server", secrets: SECRETS, rng: new SeededRng(12) });
  const peer = createAuthPeer({ method: "chap-md5", user: "zaphod", secretFor: () => "gargleBlaster", rng: new SeededRng(13) });
  auth.start(0);
  peer.start(0);
  const chal = auth.pollTransmit()!;
  for (let t = 3000; t <= 30_000; t += 3000) auth.handleTimeout(t);
  let retransmits = 0;
  while (auth.pollTransmit()) retransmits++;
  assert.equal(retransmits, 9);
  const events: string[] = [];
  for (let e = auth.pollEvent(); e; e = auth.pollEvent()) events.push(e.type === "failure" ? e.reason : e.type);
  assert.deepEqual(events, ["Peer failed to respond to CHAP challenge"]);
  peer.input(chal, 30_001);
  auth.input(peer.pollTransmit()!, 30_002);
  assert.equal(auth.pollTransmit(), undefined);
  const after = auth.pollEvent();
  assert.equal(after?.type, "log", "only a drop trace, no verdict");
  assert.equal(auth.pollEvent(), undefined);
});

// RFC 2759 §9.2, through the machines.
const AUTH_CHALLENGE = hex("5B5D7C7D7B3F2F3E3C2C602132262628");
const PEER_CHALLENGE = hex("21402324255E262A28295F2B3A337C7E");
const NT_RESPONSE = hex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF");
const AUTH_RESPONSE = "S=407A5589115FD0D6209F510FE9C04566932CDA56";

test("mschapv2 peer: answers the RFC 2759 §9.2 challenge with the RFC's NT-Response and accepts its S=", () => {
  const peer = createAuthPeer({ method: "mschapv2", user: "User", secretFor: () => "clientPass", rng: fixedRng(PEER_CHALLENGE) });
  peer.start(0);
  peer.input(buildAuthPacket(1, 0x42, lengthPrefixed(AUTH_CHALLENGE), enc("server")), 0);
  const resp = peer.pollTransmit()!;
  assert.equal(resp[0], 2);
  assert.equal(resp[1], 0x42);
  assert.equal(resp[4], 49, "Value-Size");
  const value = resp.subarray(5, 54);
  assert.equal(toHexUpper(value.subarray(0, 16)), toHexUpper(PEER_CHALLENGE));
  assert.equal(toHexUpper(value.subarray(16, 24)), "0000000000000000", "Reserved");
  assert.equal(toHexUpper(value.subarray(24, 48)), toHexUpper(NT_RESPONSE));
  assert.equal(value[48], 0, "Flags");
  assert.equal(new TextDecoder().decode(resp.subarray(54)), "User");
  peer.input(buildAuthPacket(3, 0x42, enc(`${AUTH_RESPONSE} M=welcome`)), 10);
  assert.deepEqual(peer.pollEvent(), { type: "success", peerName: "server", addresses: [], message: "welcome" });
});

test("mschapv2 peer: a Success with a wrong authenticator response fails (mutual authentication)", () => {
  const peer = createAuthPeer({ method: "mschapv2", user: "User", secretFor: () => "clientPass", rng: fixedRng(PEER_CHALLENGE) });
  peer.start(0);
  peer.input(buildAuthPacket(1, 7, lengthPrefixed(AUTH_CHALLENGE), enc("server")), 0);
  peer.pollTransmit();
  peer.input(buildAuthPacket(3, 7, enc("S=0000000000000000000000000000000000000000 M=Access granted")), 10);
  assert.deepEqual(peer.pollEvent(), { type: "failure", reason: "MS-CHAPv2 mutual authentication failed." });
  assert.equal(peer.pollTimeout(), undefined);
});

test("mschapv2 authenticator: verifies the RFC 2759 §9.2 Response and sends the RFC's S= in Success", () => {
  const secrets: SecretEntry[] = [{ client: "User", server: "*", secret: "clientPass", addresses: [], origin: "t" }];
  const auth = createAuthenticator({ method: "mschapv2", ourName: "server", secrets, rng: fixedRng(AUTH_CHALLENGE) });
  auth.start(0);
  const chal = auth.pollTransmit()!;
  assert.equal(toHexUpper(chal.subarray(5, 21)), toHexUpper(AUTH_CHALLENGE));
  const value = new Uint8Array(49);
  value.set(PEER_CHALLENGE, 0);
  value.set(NT_RESPONSE, 24);
  auth.input(buildAuthPacket(2, chal[1], lengthPrefixed(value), enc("User")), 5);
  const status = auth.pollTransmit()!;
  assert.equal(describeAuthPacket(PPP_CHAP, status), `CHAP Success id=0x${chal[1].toString(16)} "${AUTH_RESPONSE} M=Access granted"`);
  assert.deepEqual(auth.pollEvent(), { type: "success", peerName: "User", addresses: [], message: `${AUTH_RESPONSE} M=Access granted` });
  // One bit off in the NT-Response: a fresh authenticator refuses.
  const auth2 = createAuthenticator({ method: "mschapv2", ourName: "server", secrets, rng: fixedRng(AUTH_CHALLENGE) });
  auth2.start(0);
  const chal2 = auth2.pollTransmit()!;
  value[30] ^= 1;
  auth2.input(buildAuthPacket(2, chal2[1], lengthPrefixed(value), enc("User")), 5);
  assert.equal(auth2.pollTransmit()![0], 4);
  assert.deepEqual(auth2.pollEvent(), { type: "failure", reason: "Peer User failed CHAP authentication" });
});

test("mschapv2 authenticator: a Response of the wrong size is refused with an RFC 2759 Failure", () => {
  const auth = createAuthenticator({ method: "mschapv2", ourName: "server", secrets: SECRETS, rng: fixedRng(AUTH_CHALLENGE) });
  auth.start(0);
  const chal = auth.pollTransmit()!;
  auth.input(buildAuthPacket(2, chal[1], lengthPrefixed(new Uint8Array(16)), enc("zaphod")), 5);
  const fail = auth.pollTransmit()!;
  assert.equal(fail[0], 4);
  assert.equal(new TextDecoder().decode(fail.subarray(4)), `E=691 R=0 C=${toHexUpper(AUTH_CHALLENGE)} V=3 M=Access denied`);
});
