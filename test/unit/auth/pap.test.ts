/** PAP authenticator <-> peer back to back on a ManualClock: success, wrong secret, loss, giving up. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createAuthenticator, createAuthPeer, describeAuthPacket, PPP_PAP } from "../../../src/ppp/auth/index.js";
import type { SecretEntry } from "../../../src/ppp/session-config.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { AuthPair, type Direction } from "./pair.js";
import { buildAuthPacket, lengthPrefixed } from "../../../src/ppp/auth/packet.js";

const SECRETS: SecretEntry[] = [{ client: "zaphod", server: "*", secret: "gargleBlaster", addresses: ["192.168.7.2"], origin: "pap-secrets:1" }];

function papPair(password: string | undefined, drop?: (dir: Direction, n: number, p: Uint8Array) => boolean) {
  const rng = new SeededRng(1);
  const asked: string[] = [];
  const authenticator = createAuthenticator({ method: "pap", ourName: "ppproxy", secrets: SECRETS, rng });
  const peer = createAuthPeer({
    method: "pap",
    user: "zaphod",
    secretFor: (name) => (asked.push(name), password),
    rng,
  });
  return { pair: new AuthPair(authenticator, peer, drop), asked };
}

test("PAP: right password -> Ack 'Login ok', success on both sides", () => {
  const { pair, asked } = papPair("gargleBlaster");
  pair.drive();
  assert.deepEqual(AuthPair.outcomes(pair.authEvents), [
    { type: "success", peerName: "zaphod", addresses: ["192.168.7.2"], message: "Login ok" },
  ]);
  assert.deepEqual(AuthPair.outcomes(pair.peerEvents), [{ type: "success", peerName: "", addresses: [], message: "Login ok" }]);
  assert.deepEqual(asked, [""], "PAP looks the secret up with no authenticator name");
  assert.deepEqual(
    pair.wire.map((w) => `${w.dir} ${describeAuthPacket(PPP_PAP, w.packet)}`),
    ['p->a PAP AuthReq id=0x1 user="zaphod" password=<hidden>', 'a->p PAP AuthAck id=0x1 "Login ok"'],
  );
  assert.equal(pair.clock.now(), 0, "nothing waited on a timer");
  assert.equal(pair.authenticator.pollTimeout(), undefined);
  assert.equal(pair.peer.pollTimeout(), undefined);
});

test("PAP: wrong password -> Nak 'Login incorrect', failure on both sides in pppd's words", () => {
  const { pair } = papPair("wrong");
  pair.drive();
  assert.deepEqual(AuthPair.outcomes(pair.authEvents), [{ type: "failure", reason: "PAP peer authentication failed for zaphod" }]);
  assert.deepEqual(AuthPair.outcomes(pair.peerEvents), [{ type: "failure", reason: "PAP authentication failed" }]);
  assert.equal(describeAuthPacket(PPP_PAP, pair.wire[1].packet), 'PAP AuthNak id=0x1 "Login incorrect"');
  assert.ok(pair.peerEvents.some((e) => e.type === "log" && e.text === "Remote message: Login incorrect"));
});

test("PAP: unknown user -> Nak and a warning naming the user", () => {
  const rng = new SeededRng(2);
  const pair = new AuthPair(
    createAuthenticator({ method: "pap", ourName: "ppproxy", secrets: SECRETS, rng }),
    createAuthPeer({ method: "pap", user: "arthur", secretFor: () => "gargleBlaster", rng }),
  );
  pair.drive();
  assert.deepEqual(AuthPair.outcomes(pair.authEvents), [{ type: "failure", reason: "PAP peer authentication failed for arthur" }]);
  assert.ok(pair.authEvents.some((e) => e.type === "log" && e.level === "warn" && e.text === "no PAP secret found for arthur"));
});

test("PAP: peer with no secret warns as pppd and sends an empty password, which is refused", () => {
  const { pair } = papPair(undefined);
  pair.drive();
  assert.ok(pair.peerEvents.some((e) => e.type === "log" && e.level === "warn" && e.text === "No secret found for PAP login"));
  const req = pair.sentBy("p->a")[0].packet;
  assert.deepEqual(Array.from(req.subarray(4)), [6, ...new TextEncoder().encode("zaphod"), 0], "Peer-ID, then Passwd-Length 0");
  assert.deepEqual(AuthPair.outcomes(pair.peerEvents), [{ type: "failure", reason: "PAP authentication failed" }]);
});

test("PAP: lost first request -> retransmitted after 3 s with a new id, then success", () => {
  const { pair } = papPair("gargleBlaster", (dir, n) => dir === "p->a" && n === 0);
  pair.drive();
  const reqs = pair.sentBy("p->a");
  assert.equal(reqs.length, 2);
  assert.deepEqual(reqs.map((r) => [r.at, r.packet[1]]), [[0, 1], [3000, 2]]);
  assert.equal(AuthPair.outcomes(pair.authEvents)[0].type, "success");
  assert.equal(AuthPair.outcomes(pair.peerEvents)[0].type, "success");
});

test("PAP: lost Ack -> peer retransmits, authenticator repeats its Ack for the new id", () => {
  const { pair } = papPair("gargleBlaster", (dir, n) => dir === "a->p" && n === 0);
  pair.drive();
  const acks = pair.sentBy("a->p");
  assert.deepEqual(acks.map((a) => describeAuthPacket(PPP_PAP, a.packet)), ['PAP AuthAck id=0x1 "Login ok"', 'PAP AuthAck id=0x2 "Login ok"']);
  assert.equal(AuthPair.outcomes(pair.authEvents).length, 1, "the authenticator decides once");
  assert.equal(AuthPair.outcomes(pair.peerEvents)[0].type, "success");
});

test("PAP: a late Ack echoing an earlier request's id is accepted; an unknown id is dropped", () => {
  const peer = createAuthPeer({ method: "pap", user: "zaphod", secretFor: () => "gargleBlaster", rng: new SeededRng(4) });
  peer.start(0);
  assert.equal(peer.pollTransmit()?.[1], 1);
  peer.handleTimeout(3000);
  assert.equal(peer.pollTransmit()?.[1], 2);
  peer.input(buildAuthPacket(2, 7, lengthPrefixed(new Uint8Array(0))), 3100);
  assert.equal(peer.pollEvent()?.type, "log", "id 7 was never sent: dropped with a trace");
  peer.input(buildAuthPacket(2, 1, lengthPrefixed(new TextEncoder().encode("Login ok"))), 3200);
  const events = [peer.pollEvent(), peer.pollEvent()];
  assert.deepEqual(events, [
    { type: "log", level: "info", text: "Remote message: Login ok" },
    { type: "success", peerName: "", addresses: [], message: "Login ok" },
  ]);
  assert.equal(peer.pollTimeout(), undefined);
});

test("PAP: peer gives up after 10 requests with pppd's message", () => {
  const { pair } = papPair("gargleBlaster", (dir) => dir === "p->a");
  pair.drive();
  const reqs = pair.sentBy("p->a");
  assert.equal(reqs.length, 10);
  assert.deepEqual(reqs.map((r) => r.at), Array.from({ length: 10 }, (_, i) => i * 3000));
  assert.deepEqual(AuthPair.outcomes(pair.peerEvents), [{ type: "failure", reason: "No response to PAP authenticate-requests" }]);
  assert.equal(pair.clock.now(), 30_000);
});

test("PAP: authenticator gives up after 30 s without a request (pppd pap-timeout)", () => {
  const { pair } = papPair("gargleBlaster", (dir) => dir === "p->a");
  pair.drive();
  assert.deepEqual(AuthPair.outcomes(pair.authEvents), [
    { type: "failure", reason: "PAP peer authentication failed: no Authenticate-Request from peer" },
  ]);
});

test("PAP: custom timer and attempts are honoured", () => {
  const rng = new SeededRng(3);
  const pair = new AuthPair(
    createAuthenticator({ method: "pap", ourName: "x", secrets: SECRETS, rng, timeoutMs: 1000, maxTransmits: 3 }),
    createAuthPeer({ method: "pap", user: "zaphod", secretFor: () => "gargleBlaster", rng, timeoutMs: 500, maxTransmits: 4 }),
    (dir) => dir === "p->a",
  );
  pair.drive();
  assert.deepEqual(pair.sentBy("p->a").map((r) => r.at), [0, 500, 1000, 1500]);
  assert.equal(pair.clock.now(), 3000, "authenticator waited timeoutMs × maxTransmits");
});

test("PAP: random loss (30%) over 50 seeds: both sides agree whenever the peer hears a verdict", () => {
  let bothOk = 0;
  for (let seed = 1; seed <= 50; seed++) {
    const loss = new SeededRng(seed);
    const { pair } = papPair("gargleBlaster", () => loss.next() < 0.3);
    pair.drive();
    const a = AuthPair.outcomes(pair.authEvents);
    const p = AuthPair.outcomes(pair.peerEvents);
    assert.ok(a.length <= 1 && p.length === 1, `seed ${seed}: one verdict per side`);
    if (p[0].type === "success") {
      assert.equal(a[0]?.type, "success", `seed ${seed}: peer accepted but authenticator did not`);
      bothOk++;
    }
  }
  assert.ok(bothOk >= 48, `only ${bothOk}/50 seeds succeeded`);
});

test("PAP with `login`: an empty secret defers to the system database; a refusal is a Nak", () => {
  const entries: SecretEntry[] = [{ client: "zaphod", server: "*", secret: "", addresses: [], origin: "pap-secrets:1" }];
  const system = (user: string, password: string) =>
    user === "zaphod" && password === "unix-pw" ? ({ ok: true } as const) : ({ ok: false, reason: "wrong password" } as const);
  for (const [password, expected] of [["unix-pw", "success"], ["guess", "failure"]] as const) {
    const rng = new SeededRng(2);
    const authenticator = createAuthenticator({ method: "pap", ourName: "ppproxy", secrets: entries, rng, checkLogin: system });
    const peer = createAuthPeer({ method: "pap", user: "zaphod", secretFor: () => password, rng });
    const pair = new AuthPair(authenticator, peer);
    pair.drive();
    assert.equal(AuthPair.outcomes(pair.authEvents)[0].type, expected, password);
  }
});

test("PAP with `login`: a non-empty secret must still match as well", () => {
  const rng = new SeededRng(3);
  const authenticator = createAuthenticator({ method: "pap", ourName: "ppproxy", secrets: SECRETS, rng, checkLogin: () => ({ ok: true }) });
  const peer = createAuthPeer({ method: "pap", user: "zaphod", secretFor: () => "not-the-secret", rng });
  const pair = new AuthPair(authenticator, peer);
  pair.drive();
  assert.equal(AuthPair.outcomes(pair.authEvents)[0].type, "failure");
});
