/**
 * Two PppSessions back to back (calling side vs answering side with
 * requireAuth, local:remote and ms-dns) over a simulated line with seeded
 * loss and bit errors; then IP both ways, termination, hang-up, address
 * restrictions and auth failure. Uses the real src/ppp/auth machines, and
 * once an injected fake, through SessionDeps.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Pair, ip, logTexts, session } from "./harness.js";
import { PppSession, type SessionEvent } from "../../../src/ppp/session.js";
import { defaultSessionConfig, type AuthMethod, type SecretEntry } from "../../../src/ppp/session-config.js";
import type { AuthEvent, AuthMachine } from "../../../src/ppp/auth/auth-machine.js";
import { SeededRng } from "../../../stack/util/rng.js";

const SECRET = "s3cret-Zaphod";
const entry = (addresses: string[] = []): SecretEntry => ({ client: "zaphod", server: "*", secret: SECRET, addresses, origin: "test:1" });

function answeringSide(method: AuthMethod, seed: number, over = {}): PppSession {
  return session({
    name: "server", requireAuth: [method], papSecrets: [entry()], chapSecrets: [entry()],
    localIp: ip("192.168.7.1"), remoteIp: ip("192.168.7.2"), msDns: [ip("10.0.0.1"), ip("10.0.0.2")],
    usePeerDns: false, debug: true, ...over,
  }, seed);
}

function callingSide(seed: number, over = {}): PppSession {
  return session({ user: "zaphod", password: SECRET, debug: true, ...over }, seed);
}

type IpUp = Extract<SessionEvent, { type: "ip-up" }>;
/** The latest ip-up (a renegotiation may bring IPCP down and up again). */
const ipUp = (ev: SessionEvent[]): IpUp | undefined => ev.filter((e): e is IpUp => e.type === "ip-up").at(-1);
/** Both IPCPs Opened: no Configure-Request outstanding, so the line is settled. */
const settled = (a: PppSession, b: PppSession): boolean => a.ipcp.fsm.state === "Opened" && b.ipcp.fsm.state === "Opened";

const METHODS: AuthMethod[] = ["pap", "chap-md5", "mschapv2"];

test("50 seeds: calling and answering sessions reach IPCP Opened through 10% loss and 5% bit errors; IP passes both ways", () => {
  for (let seed = 1; seed <= 50; seed++) {
    const method = METHODS[seed % 3];
    const client = callingSide(seed * 2 + 1);
    const server = answeringSide(method, seed * 2);
    const pair = new Pair(client, server, seed, 0.1, 0.05);
    client.open(0);
    server.open(0);
    const ok = pair.run(() => settled(client, server), 600_000);
    const why = () => `seed ${seed} (${method}):\n` + logTexts(pair.eventsB).slice(-15).join("\n");
    assert.ok(ok, why());
    const c = ipUp(pair.eventsA)!;
    const s = ipUp(pair.eventsB)!;
    assert.deepEqual([c.local, c.remote, c.dns], [ip("192.168.7.2"), ip("192.168.7.1"), [ip("10.0.0.1"), ip("10.0.0.2")]], why());
    assert.deepEqual([s.local, s.remote, s.peerName], [ip("192.168.7.1"), ip("192.168.7.2"), "zaphod"], why());
    assert.equal(c.mtu, 1500);
    // IP both ways on a clean line
    const pair2 = new Pair(client, server, seed);
    pair2.now = pair.now;
    const rng = new SeededRng(seed);
    const up = rng.fill(new Uint8Array(20 + rng.below(1400)));
    const down = rng.fill(new Uint8Array(20 + rng.below(1400)));
    assert.ok(client.sendIp(up, pair2.now), why());
    assert.ok(server.sendIp(down, pair2.now), why());
    pair2.run(() => true);
    const gotUp = pair2.eventsB.filter((e) => e.type === "ip-packet");
    const gotDown = pair2.eventsA.filter((e) => e.type === "ip-packet");
    assert.deepEqual(gotUp, [{ type: "ip-packet", packet: up }], why());
    assert.deepEqual(gotDown, [{ type: "ip-packet", packet: down }], why());
    // the secret never appears in any log line, on either side
    for (const t of [...logTexts(pair.eventsA), ...logTexts(pair.eventsB)]) assert.ok(!t.includes(SECRET), `seed ${seed}: secret in "${t}"`);
  }
});

test("pppd's log lines: Connect, PAP success both ways, user logged in, addresses with pppd's spacing", () => {
  const client = callingSide(1, { devname: "/dev/ttyS1" });
  const server = answeringSide("pap", 2, { devname: "/dev/ttyS0" });
  const pair = new Pair(client, server);
  client.open(0);
  server.open(0);
  assert.ok(pair.run(() => settled(client, server)));
  const cl = logTexts(pair.eventsA);
  const sl = logTexts(pair.eventsB);
  for (const l of ["Connect: ppp0 <--> /dev/ttyS1", "PAP authentication succeeded", "local  IP address 192.168.7.2",
    "remote IP address 192.168.7.1", "primary   DNS address 10.0.0.1", "secondary DNS address 10.0.0.2"]) {
    assert.ok(cl.includes(l), `client missing "${l}":\n${cl.join("\n")}`);
  }
  for (const l of ["Connect: ppp0 <--> /dev/ttyS0", "PAP peer authentication succeeded for zaphod", "user zaphod logged in",
    "local  IP address 192.168.7.1", "remote IP address 192.168.7.2"]) {
    assert.ok(sl.includes(l), `server missing "${l}":\n${sl.join("\n")}`);
  }
  assert.deepEqual(pair.eventsB.filter((e) => e.type === "phase").map((e) => (e as { phase: string }).phase),
    ["establish", "authenticate", "network"]);
});

test("close(): Terminate-Request, peer logs 'LCP terminated by peer (User request)', both sides go dead", () => {
  const client = callingSide(3);
  const server = answeringSide("chap-md5", 4);
  const pair = new Pair(client, server);
  client.open(0);
  server.open(0);
  assert.ok(pair.run(() => settled(client, server)));
  client.close("User request", pair.now);
  assert.ok(pair.run(() => client.phase === "dead" && server.phase === "dead"));
  assert.ok(logTexts(pair.eventsB).includes("LCP terminated by peer (User request)"));
  assert.ok(logTexts(pair.eventsA).includes("Connection terminated."));
  assert.ok(pair.eventsA.some((e) => e.type === "ip-down"));
  assert.deepEqual(pair.eventsA.filter((e) => e.type === "dead"), [{ type: "dead", reason: "User request" }]);
  assert.deepEqual(pair.eventsB.filter((e) => e.type === "dead"), [{ type: "dead", reason: "LCP terminated by peer" }]);
  assert.equal(client.sendIp(new Uint8Array(20), pair.now), false);
  assert.equal(client.stats.drops["tx-ip-not-up"], 1);
  // and the same sessions can be opened again
  client.open(pair.now);
  server.open(pair.now);
  const before = pair.eventsA.length;
  assert.ok(pair.run(() => pair.eventsA.slice(before).some((e) => e.type === "ip-up"), pair.now + 60_000));
});

test("lineDown(): 'Modem hangup', ip-down, 'Connection terminated.', dead", () => {
  const client = callingSide(5);
  const server = answeringSide("pap", 6);
  const pair = new Pair(client, server);
  client.open(0);
  server.open(0);
  assert.ok(pair.run(() => settled(client, server)));
  server.lineDown(pair.now);
  pair.run(() => true);
  const sl = logTexts(pair.eventsB);
  assert.ok(sl.indexOf("Modem hangup") < sl.indexOf("Connection terminated."));
  assert.equal(server.phase, "dead");
  assert.ok(pair.eventsB.some((e) => e.type === "ip-down"));
  assert.deepEqual(pair.eventsB.filter((e) => e.type === "dead"), [{ type: "dead", reason: "Modem hangup" }]);
});

test("a wrong password fails authentication and terminates the link on both sides", () => {
  const client = callingSide(7, { password: "wrong" });
  const server = answeringSide("chap-md5", 8);
  const pair = new Pair(client, server);
  client.open(0);
  server.open(0);
  assert.ok(pair.run(() => client.phase === "dead" && server.phase === "dead"));
  assert.ok(!ipUp(pair.eventsA) && !ipUp(pair.eventsB));
  assert.ok(pair.eventsB.some((e) => e.type === "dead" && e.reason === "Authentication failed"));
});

test("secrets line restricts addresses: a remote address outside it is refused", () => {
  const client = callingSide(9);
  const server = answeringSide("pap", 10, { papSecrets: [entry(["10.9.0.0/16"])] });
  const pair = new Pair(client, server);
  client.open(0);
  server.open(0);
  pair.run(() => server.phase === "dead", 120_000);
  assert.ok(logTexts(pair.eventsB).includes("Peer is not authorized to use remote address 192.168.7.2"), logTexts(pair.eventsB).join("\n"));
  assert.ok(!ipUp(pair.eventsB));
  // inside the range: accepted
  const client2 = callingSide(11);
  const server2 = answeringSide("pap", 12, { papSecrets: [entry(["-192.168.7.9", "192.168.7.0/24"])] });
  const pair2 = new Pair(client2, server2);
  client2.open(0);
  server2.open(0);
  assert.ok(pair2.run(() => !!ipUp(pair2.eventsB)));
});

test("injected auth factories are used (a fake authenticator that accepts at once)", () => {
  const made: string[] = [];
  class FakeAuth implements AuthMachine {
    readonly protocol = 0xc023 as const;
    readonly method = "pap" as const;
    private ev: AuthEvent[] = [];
    start(): void {
      this.ev.push({ type: "success", peerName: "fake", addresses: [] });
    }
    input(): void {}
    handleTimeout(): void {}
    pollTimeout(): undefined {
      return undefined;
    }
    pollTransmit(): undefined {
      return undefined;
    }
    pollEvent(): AuthEvent | undefined {
      return this.ev.shift();
    }
  }
  const server = new PppSession(
    defaultSessionConfig({ requireAuth: ["pap"], localIp: ip("10.1.0.1"), remoteIp: ip("10.1.0.2") }),
    { rng: new SeededRng(1), authenticator: (o) => (made.push(`authenticator ${o.method}`), new FakeAuth()),
      authPeer: (o) => (made.push(`peer ${o.method}`), new FakeAuth()) },
  );
  const client = new PppSession(defaultSessionConfig({}), {
    rng: new SeededRng(2), authPeer: (o) => (made.push(`client-peer ${o.method}`), new FakeAuth()),
  });
  const pair = new Pair(client, server);
  client.open(0);
  server.open(0);
  assert.ok(pair.run(() => settled(client, server)));
  assert.deepEqual(made.sort(), ["authenticator pap", "client-peer pap"]);
  assert.equal(ipUp(pair.eventsB)!.peerName, "fake");
});

test("passive: nobody answers, LCP waits in Stopped; close() still ends the link (pppd lcp_close)", () => {
  const s = session({ passive: true }, 21);
  const events: SessionEvent[] = [];
  s.open(0);
  let now = 0;
  for (let t = s.pollTimeout(); t !== undefined; t = s.pollTimeout()) {
    now = t;
    s.handleTimeout(now);
    while (s.pollTransmit());
  }
  assert.equal(s.lcp.fsm.state, "Stopped");
  assert.equal(s.phase, "establish");
  s.close("User request", now);
  for (let e = s.pollEvent(); e; e = s.pollEvent()) events.push(e);
  assert.equal(s.phase, "dead");
  assert.ok(logTexts(events).includes("LCP: timeout sending Config-Requests"));
  assert.deepEqual(events.filter((e) => e.type === "dead"), [{ type: "dead", reason: "User request" }]);
});

test("terminate reason with control and high bytes is logged as pppd's %v does", () => {
  const client = callingSide(23);
  const server = answeringSide("pap", 24);
  const pair = new Pair(client, server);
  client.open(0);
  server.open(0);
  assert.ok(pair.run(() => settled(client, server)));
  client.close("bye\u0001", pair.now);
  pair.run(() => server.phase === "dead");
  assert.ok(logTexts(pair.eventsB).includes("LCP terminated by peer (bye^A)"), logTexts(pair.eventsB).join("\n"));
});
