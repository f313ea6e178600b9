/** Malformed and unexpected packets are dropped and counted, never thrown, and never derail a later good exchange. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createAuthenticator, createAuthPeer } from "../../../src/ppp/auth/index.js";
import type { AuthMachine } from "../../../src/ppp/auth/auth-machine.js";
import type { AuthMethod, SecretEntry } from "../../../src/ppp/session-config.js";
import { AuthMachineBase } from "../../../src/ppp/auth/machine-base.js";
import { buildAuthPacket, lengthPrefixed } from "../../../src/ppp/auth/packet.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { AuthPair } from "./pair.js";

const SECRETS: SecretEntry[] = [{ client: "zaphod", server: "*", secret: "gargleBlaster", addresses: [], origin: "t" }];
const METHODS: AuthMethod[] = ["pap", "chap-md5", "mschapv2", "mschap"];
const enc = (s: string) => new TextEncoder().encode(s);

function machines(method: AuthMethod, seed: number): { auth: AuthMachine; peer: AuthMachine } {
  return {
    auth: createAuthenticator({ method, ourName: "server", secrets: SECRETS, rng: new SeededRng(seed) }),
    peer: createAuthPeer({ method, user: "zaphod", secretFor: () => "gargleBlaster", rng: new SeededRng(seed + 1) }),
  };
}

const drops = (m: AuthMachine) => (m as unknown as AuthMachineBase).drops;

/** Header-level garbage every machine must drop, with the reason it must give. */
const HEADER_CASES: [string, Uint8Array, string][] = [
  ["empty", new Uint8Array(0), "short header"],
  ["3 octets", Uint8Array.of(1, 1, 0), "short header"],
  ["Length 3 (< header)", Uint8Array.of(1, 1, 0, 3), "bad length"],
  ["Length 0", Uint8Array.of(2, 1, 0, 0, 9, 9), "bad length"],
  ["Length beyond the packet", Uint8Array.of(1, 1, 0, 40, 1, 2, 3), "short packet"],
  ["Length 0xffff", Uint8Array.of(2, 1, 0xff, 0xff), "short packet"],
];

for (const method of METHODS) {
  test(`${method}: truncated headers and wrong lengths are dropped with a reason, on both sides`, () => {
    const { auth, peer } = machines(method, 1);
    auth.start(0);
    peer.start(0);
    while (auth.pollTransmit());
    while (peer.pollTransmit());
    while (auth.pollEvent());
    while (peer.pollEvent());
    for (const [name, pkt, reason] of HEADER_CASES) {
      for (const m of [auth, peer]) {
        const before = drops(m).counts.get(reason as never) ?? 0;
        assert.doesNotThrow(() => m.input(pkt, 1), name);
        assert.equal(m.pollTransmit(), undefined, `${name}: nothing sent`);
        assert.equal(drops(m).counts.get(reason as never), before + 1, `${name}: counted as ${reason}`);
        const ev = m.pollEvent();
        assert.equal(ev?.type, "log", `${name}: traced`);
      }
    }
  });
}

test("pap: Authenticate-Request whose fields overrun the packet is dropped; a good one still works after", () => {
  const { auth } = machines("pap", 2);
  auth.start(0);
  const cases = [
    buildAuthPacket(1, 1), // no Peer-ID length
    buildAuthPacket(1, 1, Uint8Array.of(6), enc("zaph")), // Peer-ID cut
    buildAuthPacket(1, 1, lengthPrefixed(enc("zaphod"))), // no Passwd-Length
    buildAuthPacket(1, 1, lengthPrefixed(enc("zaphod")), Uint8Array.of(13), enc("garg")), // password cut
  ];
  for (const c of cases) {
    auth.input(c, 1);
    assert.equal(auth.pollTransmit(), undefined);
  }
  assert.equal(drops(auth).counts.get("malformed data"), 4);
  // Padding after Length is ignored.
  const good = buildAuthPacket(1, 9, lengthPrefixed(enc("zaphod")), lengthPrefixed(enc("gargleBlaster")));
  const padded = new Uint8Array(good.length + 5);
  padded.set(good);
  auth.input(padded, 2);
  assert.equal(auth.pollTransmit()?.[0], 2, "Ack");
});

test("pap peer: Ack/Nak with a message longer than the packet is dropped; timer keeps running", () => {
  const { peer } = machines("pap", 3);
  peer.start(0);
  peer.pollTransmit();
  peer.input(buildAuthPacket(2, 1, Uint8Array.of(20), enc("Login")), 1);
  peer.input(buildAuthPacket(3, 1), 1);
  assert.equal(drops(peer).counts.get("malformed data"), 2);
  assert.equal(peer.pollTimeout(), 3000);
  const evs: string[] = [];
  for (let e = peer.pollEvent(); e; e = peer.pollEvent()) evs.push(e.type);
  assert.ok(!evs.includes("success") && !evs.includes("failure"));
});

for (const method of ["chap-md5", "mschapv2", "mschap"] as AuthMethod[]) {
  test(`${method}: Challenge / Response with Value-Size 0 or overrunning the packet is dropped`, () => {
    const { auth, peer } = machines(method, 4);
    auth.start(0);
    peer.start(0);
    const chal = auth.pollTransmit()!;
    const id = chal[1];
    peer.input(buildAuthPacket(1, id, Uint8Array.of(0), enc("server")), 1);
    peer.input(buildAuthPacket(1, id, Uint8Array.of(16), Uint8Array.of(1, 2, 3)), 1);
    peer.input(buildAuthPacket(1, id), 1);
    assert.equal(peer.pollTransmit(), undefined);
    assert.equal(drops(peer).counts.get("malformed data"), 3);
    auth.input(buildAuthPacket(2, id, Uint8Array.of(49), Uint8Array.of(1, 2)), 1);
    auth.input(buildAuthPacket(2, id), 1);
    assert.equal(auth.pollTransmit(), undefined);
    assert.equal(drops(auth).counts.get("malformed data"), 2);
    // Success/Failure before any Response is out of place for the peer.
    peer.input(buildAuthPacket(3, id, enc("Access granted")), 1);
    assert.equal(drops(peer).counts.get("wrong state"), 1);
    // The real exchange still completes.
    peer.input(chal, 2);
    auth.input(peer.pollTransmit()!, 3);
    peer.input(auth.pollTransmit()!, 4);
    const outcome = (m: AuthMachine) => {
      for (let e = m.pollEvent(); e; e = m.pollEvent()) if (e.type !== "log") return e.type;
      return undefined;
    };
    assert.equal(outcome(auth), "success");
    assert.equal(outcome(peer), "success");
  });
}

for (const method of METHODS) {
  test(`${method}: 2000 random packets (seeded) never throw; the authenticator never accepts them`, () => {
    const seed = 0x5eed + METHODS.indexOf(method);
    const rng = new SeededRng(seed);
    const { auth, peer } = machines(method, seed);
    auth.start(0);
    peer.start(0);
    const firstChallenge = auth.pollTransmit();
    while (peer.pollTransmit());
    for (let i = 0; i < 2000; i++) {
      const len = rng.below(40);
      const pkt = rng.fill(new Uint8Array(len));
      // Half the time make the header self-consistent so the body parsers get exercised.
      if (len >= 4 && rng.next() < 0.5) {
        pkt[0] = 1 + rng.below(4);
        pkt[2] = 0;
        pkt[3] = 4 + rng.below(len - 3);
        if (firstChallenge && rng.next() < 0.5) pkt[1] = firstChallenge[1];
      }
      for (const m of [auth, peer]) {
        try {
          m.input(pkt, i);
        } catch (err) {
          assert.fail(`seed ${seed} packet ${i} (${Buffer.from(pkt).toString("hex")}) threw: ${String(err)}`);
        }
      }
    }
    // Random bytes may form a well-framed Response/Request, but with a wrong proof: the
    // authenticator must never succeed. So must an MS-CHAPv2 peer (mutual authentication);
    // a PAP or CHAP-MD5 peer legitimately believes any well-framed Ack/Success with its id.
    const mustNotSucceed = method === "mschapv2" ? [auth, peer] : [auth];
    for (const m of mustNotSucceed) for (let e = m.pollEvent(); e; e = m.pollEvent()) assert.notEqual(e.type, "success", `seed ${seed}`);
  });
}

test("a machine handed packets of the other direction counts them quietly (the session may route both ways)", () => {
  const pair = new AuthPair(...(Object.values(machines("chap-md5", 5)) as [AuthMachine, AuthMachine]));
  pair.start();
  // Hand the authenticator its own Challenge and the peer a Response: wrong direction.
  const chal = buildAuthPacket(1, 1, lengthPrefixed(new Uint8Array(16)), enc("x"));
  const before = pair.authEvents.length;
  pair.authenticator.input(chal, 0);
  pair.authenticator.input(buildAuthPacket(3, 1), 0);
  pair.pump();
  assert.equal(drops(pair.authenticator).counts.get("unexpected code"), 2);
  assert.equal(pair.authEvents.length, before, "no log noise for other-direction packets");
});
