/**
 * MS-CHAP version 1 (RFC 2433): the RFC's Appendix B hash example, pppd's
 * own unit-test response (chap_ms.c test_chap_v1), both machines back to
 * back on a ManualClock (success, wrong secret, lost packets, LM-only
 * responses), the LCP negotiation of algorithm 0x80 (offer, Nak when
 * refused, pppd's `<auth chap MS>` printer) and two PppSessions
 * authenticating with it end to end.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createAuthenticator, createAuthPeer, describeAuthPacket, PPP_CHAP } from "../../../src/ppp/auth/index.js";
import {
  lmChallengeResponse, lmPasswordHash, mschapv1Digest, mschapv1FailureMessage, mschapv1Response, ntChallengeResponse,
  verifyMschapv1Response,
} from "../../../src/ppp/auth/mschapv1.js";
import { ntPasswordHash } from "../../../src/ppp/auth/mschapv2.js";
import { buildAuthPacket, lengthPrefixed } from "../../../src/ppp/auth/packet.js";
import type { SecretEntry } from "../../../src/ppp/session-config.js";
import { debugLine } from "../../../src/ppp/printer.js";
import { parseOptions } from "../../../src/ppp/options.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { AuthPair, fixedRng, hex, type Direction } from "./pair.js";
import { Pair, ScriptedPeer, ip, logTexts, session } from "../ppp/harness.js";

// RFC 2433 Appendix B.2 "Hash Example".
const RFC_CHALLENGE = hex("102DB5DF085D3041");
const RFC_PASSWORD = "MyPw";
const RFC_NT_HASH = "fc156af7edcd6c0edde3337d427f4eac";
const RFC_NT_RESPONSE = "4e9d3c8f9cfd385d5bf4d3246791956ca4c351ab409a3d61";
const RFC_LM_HASH = "75ba30198e6d1975aad3b435b51404ee";
const RFC_LM_RESPONSE = "91881d0152ab0c33c524135ec24a95ee64e23cdc2d33347d";
const hexOf = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const LCP = 0xc021;

test("RFC 2433 B.2: NtPasswordHash and NtChallengeResponse of \"MyPw\"", () => {
  assert.equal(hexOf(ntPasswordHash(RFC_PASSWORD)), RFC_NT_HASH);
  assert.equal(hexOf(ntChallengeResponse(RFC_CHALLENGE, RFC_PASSWORD)), RFC_NT_RESPONSE);
});

test("RFC 2433 B.2: LmPasswordHash and LmChallengeResponse of \"MyPw\" (case-insensitive)", () => {
  assert.equal(hexOf(lmPasswordHash(RFC_PASSWORD)), RFC_LM_HASH);
  assert.equal(hexOf(lmPasswordHash("MYPW")), RFC_LM_HASH, "LM upper-cases the password");
  assert.equal(hexOf(lmChallengeResponse(RFC_CHALLENGE, RFC_PASSWORD)), RFC_LM_RESPONSE);
  // RFC 3079's MS-CHAPv1 sample: LmPasswordHash("clientPass"); a 10-character password, so the pad is exercised.
  assert.equal(hexOf(lmPasswordHash("clientPass")), "76a152936096d7830e2390227404afd2");
});

test("pppd chap_ms.c test_chap_v1: the 49-octet response is LM zero, NT-Response, Flags 1", () => {
  const v = mschapv1Response(RFC_CHALLENGE, RFC_PASSWORD);
  assert.equal(v.length, 49);
  assert.equal(hexOf(v), "00".repeat(24) + RFC_NT_RESPONSE + "01");
});

test("verifyMschapv1Response: NT response checked when Flags=1, LM response when Flags=0; wrong sizes refused", () => {
  const nt = mschapv1Response(RFC_CHALLENGE, RFC_PASSWORD);
  assert.deepEqual(verifyMschapv1Response(RFC_CHALLENGE, nt, RFC_PASSWORD), { ok: true, usedLm: false });
  assert.deepEqual(verifyMschapv1Response(RFC_CHALLENGE, nt, "mypw"), { ok: false, usedLm: false }, "the NT hash is case-sensitive");
  const lm = new Uint8Array(49);
  lm.set(hex(RFC_LM_RESPONSE), 0);
  assert.deepEqual(verifyMschapv1Response(RFC_CHALLENGE, lm, "mypw"), { ok: true, usedLm: true }, "the LM hash is not");
  assert.deepEqual(verifyMschapv1Response(RFC_CHALLENGE, lm, "other"), { ok: false, usedLm: true });
  // Flags=1 but only the LM half filled: the NT half (zeros) decides, so it fails.
  const lmFlagged = Uint8Array.from(lm);
  lmFlagged[48] = 1;
  assert.equal(verifyMschapv1Response(RFC_CHALLENGE, lmFlagged, RFC_PASSWORD).ok, false);
  // pppd reads Flags as a whole octet: any non-zero value means "use NT".
  const ntFlag4 = Uint8Array.from(nt);
  ntFlag4[48] = 0x04;
  assert.deepEqual(verifyMschapv1Response(RFC_CHALLENGE, ntFlag4, RFC_PASSWORD), { ok: true, usedLm: false });
  assert.equal(verifyMschapv1Response(RFC_CHALLENGE, nt.subarray(0, 48), RFC_PASSWORD).ok, false);
  assert.equal(verifyMschapv1Response(RFC_CHALLENGE.subarray(0, 7), nt, RFC_PASSWORD).ok, false);
});

test("pppd's Failure text: E=691 R=1 C=<lower-case hex> V=0, and the peer's reason for it", () => {
  assert.equal(mschapv1FailureMessage(RFC_CHALLENGE), "E=691 R=1 C=102db5df085d3041 V=0");
  assert.equal(mschapv1Digest.failureReason(new TextEncoder().encode("E=691 R=1 C=102db5df085d3041 V=0")),
    "MS-CHAP authentication failed: E=691 Authentication failure");
});

// --- the machines -----------------------------------------------------------

const SECRETS: SecretEntry[] = [
  { client: "zaphod", server: "server", secret: "gargleBlaster", addresses: ["192.168.7.0/24"], origin: "chap-secrets:1" },
  { client: "User", server: "*", secret: RFC_PASSWORD, addresses: [], origin: "chap-secrets:2" },
];

function v1Pair(secret: string | undefined, seed: number, drop?: (dir: Direction, n: number, p: Uint8Array) => boolean) {
  const asked: string[] = [];
  const authenticator = createAuthenticator({ method: "mschap", ourName: "server", secrets: SECRETS, rng: new SeededRng(seed) });
  const peer = createAuthPeer({ method: "mschap", user: "zaphod", secretFor: (n) => (asked.push(n), secret), rng: new SeededRng(seed + 1000) });
  return { pair: new AuthPair(authenticator, peer, drop), asked };
}

test("mschap: right secret -> Success on both sides; 8-octet challenge, 49-octet response on the wire", () => {
  const { pair, asked } = v1Pair("gargleBlaster", 1);
  pair.drive();
  const a = AuthPair.outcomes(pair.authEvents);
  assert.deepEqual(a, [{ type: "success", peerName: "zaphod", addresses: ["192.168.7.0/24"], message: "Access granted" }]);
  assert.deepEqual(AuthPair.outcomes(pair.peerEvents), [{ type: "success", peerName: "server", addresses: [], message: "Access granted" }]);
  assert.deepEqual(asked, ["server"]);
  const lines = pair.wire.map((w) => describeAuthPacket(PPP_CHAP, w.packet));
  assert.match(lines[0], /^CHAP Challenge id=0x[0-9a-f]+ <[0-9a-f]{16}>, name = "server"$/);
  assert.match(lines[1], /^CHAP Response id=0x[0-9a-f]+ <0{48}[0-9a-f]{48}01>, name = "zaphod"$/);
  assert.match(lines[2], /^CHAP Success id=0x[0-9a-f]+ "Access granted"$/);
  for (const l of lines) assert.ok(!l.includes("gargle"));
  assert.equal(pair.authenticator.pollTimeout(), undefined);
  assert.equal(pair.peer.pollTimeout(), undefined);
});

test("mschap: wrong secret -> pppd's Failure text, failure on both sides", () => {
  const { pair } = v1Pair("wrong", 2);
  pair.drive();
  assert.deepEqual(AuthPair.outcomes(pair.authEvents), [{ type: "failure", reason: "Peer zaphod failed CHAP authentication" }]);
  assert.deepEqual(AuthPair.outcomes(pair.peerEvents), [{ type: "failure", reason: "MS-CHAP authentication failed: E=691 Authentication failure" }]);
  const challenge = pair.wire[0].packet.subarray(5, 13);
  assert.equal(
    describeAuthPacket(PPP_CHAP, pair.wire[2].packet).replace(/id=0x[0-9a-f]+/, "id=X"),
    `CHAP Failure id=X "E=691 R=1 C=${hexOf(challenge)} V=0"`,
  );
});

test("mschap: unknown peer name -> Failure with the same text, and the 'No CHAP secret' warning", () => {
  const authenticator = createAuthenticator({ method: "mschap", ourName: "server", secrets: SECRETS, rng: new SeededRng(3) });
  const peer = createAuthPeer({ method: "mschap", user: "nobody", secretFor: () => "x", rng: new SeededRng(4) });
  const pair = new AuthPair(authenticator, peer);
  pair.drive();
  assert.ok(pair.authEvents.some((e) => e.type === "log" && e.text === "No CHAP secret found for authenticating nobody"));
  assert.match(describeAuthPacket(PPP_CHAP, pair.wire[2].packet), /^CHAP Failure id=0x[0-9a-f]+ "E=691 R=1 C=[0-9a-f]{16} V=0"$/);
  assert.equal(AuthPair.outcomes(pair.peerEvents)[0].type, "failure");
});

for (const [what, dropRule, expectWire] of [
  ["lost Challenge", (d: Direction, n: number) => d === "a->p" && n === 0, [1, 1, 2, 3]],
  // At 3 s both timers fire: the authenticator re-challenges and the peer resends; both Responses get the one Success.
  ["lost Response", (d: Direction, n: number) => d === "p->a" && n === 0, [1, 2, 1, 2, 2, 3, 3]],
  ["lost Success", (d: Direction, n: number) => d === "a->p" && n === 1, [1, 2, 3, 2, 3]],
] as const) {
  test(`mschap: ${what} -> retransmission recovers, both sides succeed once`, () => {
    const { pair } = v1Pair("gargleBlaster", 5, dropRule);
    pair.drive();
    assert.deepEqual(pair.wire.map((w) => w.packet[0]), expectWire);
    assert.deepEqual(AuthPair.outcomes(pair.authEvents).map((e) => e.type), ["success"]);
    assert.deepEqual(AuthPair.outcomes(pair.peerEvents).map((e) => e.type), ["success"]);
    const responses = pair.sentBy("p->a");
    for (const r of responses) assert.deepEqual(r.packet, responses[0].packet, "the peer resends the identical Response");
  });
}

test("mschap peer: answers the RFC 2433 challenge with pppd's response value; a 16-octet challenge is dropped", () => {
  const peer = createAuthPeer({ method: "mschap", user: "User", secretFor: () => RFC_PASSWORD, rng: new SeededRng(1) });
  peer.start(0);
  peer.input(buildAuthPacket(1, 0x21, lengthPrefixed(hex("00112233445566778899aabbccddeeff")), new TextEncoder().encode("srv")), 0);
  assert.equal(peer.pollTransmit(), undefined, "an MS-CHAP challenge must be one DES block");
  peer.input(buildAuthPacket(1, 0x22, lengthPrefixed(RFC_CHALLENGE), new TextEncoder().encode("srv")), 0);
  const resp = peer.pollTransmit()!;
  assert.equal(describeAuthPacket(PPP_CHAP, resp), `CHAP Response id=0x22 <${"00".repeat(24)}${RFC_NT_RESPONSE}01>, name = "User"`);
  peer.input(buildAuthPacket(3, 0x22, new TextEncoder().encode("Access granted")), 10);
  const events = [];
  for (let e = peer.pollEvent(); e; e = peer.pollEvent()) events.push(e);
  assert.deepEqual(AuthPair.outcomes(events), [{ type: "success", peerName: "srv", addresses: [], message: "Access granted" }]);
  assert.ok(events.some((e) => e.type === "log" && /Challenge value of 16 octets, expected 8/.test(e.text)));
});

test("mschap authenticator: an LM-only response (Flags 0, old Windows 95) is checked against the LM hash and logged", () => {
  for (const [pw, ok] of [["mypw", true], ["nope", false]] as const) {
    const auth = createAuthenticator({ method: "mschap", ourName: "server", secrets: SECRETS, rng: fixedRng(RFC_CHALLENGE) });
    auth.start(0);
    const challenge = auth.pollTransmit()!;
    assert.deepEqual(challenge.subarray(5, 13), RFC_CHALLENGE);
    const value = new Uint8Array(49);
    value.set(lmChallengeResponse(RFC_CHALLENGE, pw), 0);
    auth.input(buildAuthPacket(2, challenge[1], lengthPrefixed(value), new TextEncoder().encode("User")), 5);
    const status = auth.pollTransmit()!;
    assert.equal(status[0], ok ? 3 : 4);
    const events = [];
    for (let e = auth.pollEvent(); e; e = auth.pollEvent()) events.push(e);
    assert.ok(events.some((e) => e.type === "log" && /LAN Manager/.test(e.text)), JSON.stringify(events));
    assert.equal(AuthPair.outcomes(events)[0].type, ok ? "success" : "failure");
  }
});

// --- LCP: algorithm 0x80 ------------------------------------------------------

test("LCP: requireAuth [mschap] asks for <auth chap MS> (c2 23 80), printed as pppd does", () => {
  const s = session({ requireAuth: ["mschap"], chapSecrets: SECRETS, debug: true }, 3);
  const peer = new ScriptedPeer(s);
  peer.autoNegotiate = false;
  s.open(0);
  peer.pump();
  const req = peer.got(LCP, 1)[0];
  const auth = parseOptions(req.info.subarray(4)).options.find((o) => o.type === 3)!;
  assert.deepEqual(auth.data, hex("c2 23 80"));
  assert.ok(logTexts(peer.events).some((l) => /^sent \[LCP ConfReq id=0x[0-9a-f]+ .*<auth chap MS>/.test(l)), logTexts(peer.events).join("\n"));
  const info = Uint8Array.of(1, 2, 0, 9, 0x03, 0x05, 0xc2, 0x23, 0x80);
  assert.equal(debugLine("rcvd", LCP, info), "rcvd [LCP ConfReq id=0x2 <auth chap MS>]");
});

test("LCP peer side: MS-CHAP is accepted by default; with refuse-mschap it is Nak'd with MS-CHAPv2, or MD5 if v2 is refused too", () => {
  const accept = session({ user: "u", password: "p" }, 5);
  const p1 = new ScriptedPeer(accept);
  accept.open(0);
  p1.request(LCP, hex("03 05 c2 23 80 05 06 12 34 56 78"));
  assert.equal(p1.got(LCP, 3).length, 0, "no Nak");
  assert.equal(p1.got(LCP, 2).length, 1, "Acked");

  const refuse = session({ user: "u", password: "p", refuseAuth: ["mschap"] }, 6);
  const p2 = new ScriptedPeer(refuse);
  refuse.open(0);
  p2.request(LCP, hex("03 05 c2 23 80 05 06 12 34 56 78"));
  assert.deepEqual(p2.got(LCP, 3)[0].info.subarray(4), hex("03 05 c2 23 81"));

  const refuseBoth = session({ user: "u", password: "p", refuseAuth: ["mschap", "mschapv2"] }, 7);
  const p3 = new ScriptedPeer(refuseBoth);
  refuseBoth.open(0);
  p3.request(LCP, hex("03 05 c2 23 80 05 06 12 34 56 78"));
  assert.deepEqual(p3.got(LCP, 3)[0].info.subarray(4), hex("03 05 c2 23 05"));
});

test("LCP authenticator: the peer Naks MS-CHAP suggesting MD5, which we also require: we switch", () => {
  const s = session({ requireAuth: ["mschap", "chap-md5"], chapSecrets: SECRETS }, 8);
  const peer = new ScriptedPeer(s);
  peer.autoNegotiate = false;
  s.open(0);
  peer.pump();
  const req1 = peer.got(LCP, 1)[0];
  peer.sendPacket(LCP, 3, req1.info[1], hex("03 05 c2 23 05"));
  const req2 = peer.got(LCP, 1)[1];
  assert.deepEqual(parseOptions(req2.info.subarray(4)).options.find((o) => o.type === 3)!.data, hex("c2 23 05"));
});

// --- two sessions end to end -----------------------------------------------------

const SESSION_SECRET: SecretEntry = { client: "zaphod", server: "*", secret: "s3cret-Zaphod", addresses: [], origin: "test:1" };

for (const [label, password, expectUp] of [["right secret", "s3cret-Zaphod", true], ["wrong secret", "nope", false]] as const) {
  test(`sessions: a ppproxy peer authenticates to a ppproxy authenticator with MS-CHAP (${label})`, () => {
    for (let seed = 1; seed <= 5; seed++) {
      const server = session({
        name: "server", requireAuth: ["mschap"], chapSecrets: [SESSION_SECRET],
        localIp: ip("192.168.7.1"), remoteIp: ip("192.168.7.2"), usePeerDns: false, debug: true,
      }, seed * 2);
      const client = session({ user: "zaphod", password, debug: true }, seed * 2 + 1);
      const pair = new Pair(client, server, seed, 0.05);
      client.open(0);
      server.open(0);
      const up = () => client.ipcp.fsm.state === "Opened" && server.ipcp.fsm.state === "Opened";
      const dead = () => client.phase === "dead" && server.phase === "dead";
      pair.run(() => up() || dead(), 600_000);
      const why = `seed ${seed} (5% loss):\n` + logTexts(pair.eventsB).slice(-12).join("\n");
      const sl = logTexts(pair.eventsB);
      const cl = logTexts(pair.eventsA);
      assert.ok(sl.some((l) => /^sent \[CHAP Challenge id=0x[0-9a-f]+ <[0-9a-f]{16}>, name = "server"\]$/.test(l)), why);
      if (expectUp) {
        assert.ok(up(), why);
        assert.ok(sl.includes("CHAP peer authentication succeeded for zaphod"), why);
        assert.ok(cl.includes("CHAP authentication succeeded: Access granted") || cl.includes("CHAP authentication succeeded"), cl.join("\n"));
      } else {
        assert.ok(!up(), why);
        assert.ok(cl.some((l) => l.includes("MS-CHAP authentication failed: E=691 Authentication failure")), cl.join("\n"));
      }
      for (const t of [...cl, ...sl]) assert.ok(!t.includes("s3cret"), `seed ${seed}: secret in "${t}"`);
    }
  });
}
