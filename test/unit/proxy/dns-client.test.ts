/**
 * DNS stub resolver (proxy/dns-client.ts) against an in-memory LinkNet UDP:
 * no sockets, cache time on a ManualClock, retry timers on node:test's mock
 * timers, query ids from a SeededRng (seed printed in messages).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import dnsPacket from "dns-packet";
import { ManualClock } from "../../../stack/util/time.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { createDnsClient, interpretResponse, buildQuery, normaliseName } from "../../../proxy/dns-client.js";
import type { LinkNet, LinkUdpSocket } from "../../../proxy/link-net.js";

const SEED = 0x5eed1234;

interface Sent {
  id: number;
  name: string;
  address: string;
  port: number;
  sock: EventEmitter;
}

class FakeNet {
  sent: Sent[] = [];
  dnsServers = ["10.0.0.53"];
  peerAddress: string | undefined = "10.0.0.1";
  onQuery: (q: Sent) => void = () => {};
  udp(): LinkUdpSocket {
    const sock = new EventEmitter() as EventEmitter & LinkUdpSocket;
    Object.assign(sock, {
      port: 40000,
      send: (msg: Uint8Array, port: number, address: string) => {
        const p = dnsPacket.decode(Buffer.from(msg));
        const q = { id: p.id!, name: p.questions![0].name, address, port, sock };
        this.sent.push(q);
        queueMicrotask(() => this.onQuery(q));
      },
      close: () => {},
    });
    return sock;
  }
  asLinkNet(): LinkNet {
    return this as unknown as LinkNet;
  }
}

function reply(q: Sent, opts: { rcode?: number; answers?: dnsPacket.Answer[]; id?: number; from?: string }): void {
  const buf = dnsPacket.encode({
    type: "response",
    id: opts.id ?? q.id,
    flags: dnsPacket.RECURSION_AVAILABLE | (opts.rcode ?? 0),
    questions: [{ type: "A", name: q.name }],
    answers: opts.answers ?? [],
  });
  q.sock.emit("message", buf, { address: opts.from ?? q.address, port: q.port, family: "IPv4", size: buf.length });
}

function setup(extra: Parameters<typeof createDnsClient>[1] = {}) {
  const fake = new FakeNet();
  const clock = new ManualClock(1000);
  const client = createDnsClient(fake.asLinkNet(), { clock, rng: new SeededRng(SEED), timeoutMs: 100, attempts: 2, ...extra });
  return { fake, clock, client };
}

test("literals and localhost are answered without a query", async () => {
  const { fake, client } = setup();
  assert.equal(await client.resolve4("192.0.2.7"), "192.0.2.7");
  assert.equal(await client.resolve4("localhost"), "10.0.0.1");
  assert.equal(fake.sent.length, 0);
});

test("A answer is cached by its TTL on the injected clock", async () => {
  const { fake, clock, client } = setup();
  fake.onQuery = (q) => reply(q, { answers: [{ type: "A", name: q.name, ttl: 30, data: "192.0.2.10" }] });
  assert.equal(await client.resolve4("Example.TEST."), "192.0.2.10");
  assert.equal(fake.sent.length, 1, `seed ${SEED}`);
  assert.equal(fake.sent[0].address, "10.0.0.53");
  assert.equal(fake.sent[0].port, 53);
  assert.equal(fake.sent[0].name, "example.test");
  clock.advance(29_999);
  assert.equal(await client.resolve4("example.test"), "192.0.2.10");
  assert.equal(fake.sent.length, 1, "still cached at TTL - 1 ms");
  clock.advance(1);
  assert.equal(await client.resolve4("example.test"), "192.0.2.10");
  assert.equal(fake.sent.length, 2, "expired at TTL");
});

test("CNAME chain in the answer is followed; TTL is the chain's minimum", async () => {
  const { fake, clock, client } = setup();
  fake.onQuery = (q) =>
    reply(q, {
      answers: [
        { type: "CNAME", name: "www.a.test", ttl: 300, data: "b.test" },
        { type: "CNAME", name: "b.test", ttl: 5, data: "c.test" },
        { type: "A", name: "c.test", ttl: 600, data: "198.51.100.3" },
        { type: "A", name: "unrelated.test", ttl: 600, data: "198.51.100.99" },
      ],
    });
  const a = await client.lookup("www.a.test");
  assert.deepEqual(a.addresses, ["198.51.100.3"]);
  assert.equal(a.canonicalName, "c.test");
  assert.equal(a.ttlMs, 5000);
  clock.advance(5000);
  await client.lookup("www.a.test");
  assert.equal(fake.sent.length, 2);
});

test("NXDOMAIN -> ENOTFOUND, cached briefly (negative caching)", async () => {
  const { fake, clock, client } = setup({ negativeTtlMs: 2000 });
  fake.onQuery = (q) => reply(q, { rcode: 3 });
  await assert.rejects(client.resolve4("nope.test"), { code: "ENOTFOUND" });
  await assert.rejects(client.resolve4("nope.test"), { code: "ENOTFOUND" });
  assert.equal(fake.sent.length, 1);
  clock.advance(2000);
  await assert.rejects(client.resolve4("nope.test"), { code: "ENOTFOUND" });
  assert.equal(fake.sent.length, 2);
  fake.onQuery = (q) => reply(q, { answers: [] });
  await assert.rejects(client.resolve4("empty.test"), { code: "ENODATA" });
});

test("no server known -> ENODNS with the reason", async () => {
  const { fake, client } = setup();
  fake.dnsServers = [];
  await assert.rejects(client.resolve4("x.test"), (e: Error & { code?: string }) => {
    assert.equal(e.code, "ENODNS");
    assert.equal(e.message, "no DNS server: the peer pushed none (ms-dns) and --dns was not given");
    return true;
  });
});

test("bad replies are dropped and counted; the good one is taken", async () => {
  const { fake, client } = setup();
  fake.onQuery = (q) => {
    q.sock.emit("message", Buffer.from([1, 2, 3]), { address: q.address, port: 53 });
    reply(q, { id: (q.id + 1) & 0xffff, answers: [{ type: "A", name: q.name, ttl: 1, data: "203.0.113.1" }] });
    reply(q, { from: "10.9.9.9", answers: [{ type: "A", name: q.name, ttl: 1, data: "203.0.113.2" }] });
    reply(q, { answers: [{ type: "A", name: q.name, ttl: 1, data: "203.0.113.3" }] });
  };
  assert.equal(await client.resolve4("good.test"), "203.0.113.3", `seed ${SEED}`);
  assert.equal(client.stats.get("drop: malformed DNS reply"), 1);
  assert.equal(client.stats.get("drop: wrong id"), 1);
  assert.equal(client.stats.get("drop: reply from a host we did not ask"), 1);
});

test("retries: a silent server times out, the next answers; SERVFAIL moves on; all silent -> ETIMEDOUT", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { fake, client } = setup();
  fake.dnsServers = ["10.0.0.53", "10.0.0.54"];
  fake.onQuery = (q) => {
    if (q.address === "10.0.0.54") reply(q, { answers: [{ type: "A", name: q.name, ttl: 60, data: "192.0.2.54" }] });
  };
  const p = client.resolve4("retry.test");
  await flush();
  assert.equal(fake.sent.length, 1);
  t.mock.timers.tick(100);
  assert.equal(await p, "192.0.2.54");
  assert.deepEqual(fake.sent.map((s) => s.address), ["10.0.0.53", "10.0.0.54"]);

  fake.sent = [];
  fake.onQuery = (q) => {
    if (q.address === "10.0.0.53") reply(q, { rcode: 2 });
    else reply(q, { answers: [{ type: "A", name: q.name, ttl: 60, data: "192.0.2.55" }] });
  };
  assert.equal(await client.resolve4("servfail.test"), "192.0.2.55");
  assert.equal(fake.sent.length, 2);

  fake.sent = [];
  fake.onQuery = () => {};
  const silent = client.resolve4("silent.test");
  silent.catch(() => {});
  for (let i = 0; i < 4; i++) {
    await flush();
    t.mock.timers.tick(100);
  }
  await assert.rejects(silent, { code: "ETIMEDOUT" });
  assert.equal(fake.sent.length, 4, "2 attempts x 2 servers");
});

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

test("pure helpers: name checks, query/interpret round trip", () => {
  assert.equal(normaliseName("A.B.c."), "a.b.c");
  assert.equal(normaliseName("bad name"), undefined);
  assert.equal(normaliseName("x".repeat(64) + ".test"), undefined);
  const q = buildQuery(7, "n.test");
  assert.equal(interpretResponse(q, 7, "n.test").kind, "drop", "a query is not a response");
});
