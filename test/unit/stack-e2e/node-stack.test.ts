/** NodeStack: two stacks joined in memory; TCP, UDP, ping, masquerade hooks, backpressure, timers. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { NodeStack, StackUsageError, type TcpSocket } from "../../../stack/node/node-stack.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { ManualClock } from "../../../stack/util/time.js";
import { joinStacks } from "./memory-link.js";
import type { LinkServer, LinkSocket, LinkUdpSocket } from "../../../proxy/link-net.js";

const CLIENT = "10.200.4.2";
const SERVER = "10.200.4.1";
const FAR = "10.200.9.9";

function pair(seed = 1) {
  const a = new NodeStack({ address: CLIENT, rng: new SeededRng(seed) });
  const b = new NodeStack({ address: SERVER, rng: new SeededRng(seed + 1000) });
  const link = joinStacks(a, b);
  return {
    a,
    b,
    link,
    close() {
      link.close();
      a.close();
      b.close();
    },
  };
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function collect(sock: TcpSocket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    sock.on("data", (d: Buffer) => parts.push(d));
    sock.on("end", () => resolve(Buffer.concat(parts)));
    sock.on("error", reject);
  });
}

test("TCP: connect, echo 2 MiB through stream.pipe, FIN both ways, exact bytes", async () => {
  const p = pair(1);
  try {
    const srv = p.b.listen(7);
    srv.on("connection", (s: TcpSocket) => s.pipe(s));
    const c = p.a.connect({ host: SERVER, port: 7 });
    await once(c, "connect");
    assert.equal(c.remoteAddress, SERVER);
    assert.equal(c.remotePort, 7);
    assert.equal(c.localAddress, CLIENT);
    const data = Buffer.from(new SeededRng(5).fill(new Uint8Array(2 << 20)));
    const got = collect(c);
    c.end(data);
    assert.equal(sha(await got), sha(data));
    srv.close();
  } finally {
    p.close();
  }
});

test("TCP: connect to a closed port → ECONNREFUSED; with no address → ENETUNREACH", async () => {
  const p = pair(2);
  try {
    const c = p.a.connect({ host: SERVER, port: 9 });
    const [err] = await once(c, "error");
    assert.equal(err.code, "ECONNREFUSED");
    const lone = new NodeStack({ rng: new SeededRng(3) });
    const d = lone.connect({ host: SERVER, port: 9 });
    const [e2] = await once(d, "error");
    assert.equal(e2.code, "ENETUNREACH");
    lone.close();
    assert.throws(() => p.a.setAddress("10.1.2"), StackUsageError);
  } finally {
    p.close();
  }
});

test("UDP: send and receive with rinfo; closed port answered by ICMP (counted)", async () => {
  const p = pair(3);
  try {
    const s = p.b.udpSocket({ port: 5353 });
    const c = p.a.udpSocket();
    assert.ok(c.port >= 49152);
    const got = once(s, "message");
    c.send(Buffer.from("hello"), 5353, SERVER);
    const [msg, rinfo] = await got;
    assert.equal(msg.toString(), "hello");
    assert.deepEqual(rinfo, { address: CLIENT, port: c.port, family: "IPv4", size: 5 });
    const back = once(c, "message");
    s.send(Buffer.from("world"), rinfo.port, rinfo.address);
    assert.equal((await back)[0].toString(), "world");
    c.send(Buffer.from("x"), 9999, SERVER);
    // No event surfaces an ICMP error on a UDP socket (dgram doesn't either): let the in-memory link run a few rounds.
    for (let i = 0; i < 100 && !p.a.stats()["udp.icmpErrors"]; i++) await new Promise((r) => setImmediate(r));
    assert.equal(p.a.stats()["udp.icmpErrors"], 1);
    assert.equal(p.b.stats()["ip.tx.icmp-error.dest-unreachable.3"], 1);
    assert.throws(() => p.b.udpSocket({ port: 5353 }), /already bound/);
    s.close();
    c.close();
  } finally {
    p.close();
  }
});

test("ping between stacks; an unanswered ping times out with ETIMEDOUT", async () => {
  const p = pair(4);
  try {
    const r = await p.a.ping(SERVER, { seq: 1, size: 100 });
    assert.equal(r.seq, 1);
    assert.equal(r.bytes, 108);
    assert.equal(r.ttl, 64);
    assert.ok(r.rtt >= 0 && r.rtt < 1000);
    await assert.rejects(p.a.ping(FAR, { timeoutMs: 50 }), { code: "ETIMEDOUT" });
  } finally {
    p.close();
  }
});

test("masquerade hooks: UDP forwarder + sendUdp from any address; echo forwarder + reply; unreachable → EHOSTUNREACH", async () => {
  const p = pair(5);
  try {
    p.b.setUdpForwarder((d) => {
      assert.equal(d.dst, FAR);
      p.b.sendUdp({ address: d.dst, port: d.dstPort }, { address: d.src, port: d.srcPort }, Buffer.concat([Buffer.from("re:"), d.payload]));
    });
    const c = p.a.udpSocket();
    const got = once(c, "message");
    c.send(Buffer.from("q"), 53, FAR);
    const [msg, rinfo] = await got;
    assert.equal(msg.toString(), "re:q");
    assert.equal(rinfo.address, FAR);
    assert.equal(rinfo.port, 53);

    p.b.setIcmpEchoForwarder((e) => {
      if (e.seq === 1) p.b.sendIcmpEchoReply(e.dst, e.src, e.id, e.seq, e.payload);
      else {
        // Rebuild nothing: the forwarder answers with an unreachable quoting a datagram from the client.
        const orig = new Uint8Array(28);
        orig.set([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0]);
        orig.set(CLIENT.split(".").map(Number), 12);
        orig.set(FAR.split(".").map(Number), 16);
        orig.set([8, 0, 0, 0, e.id >> 8, e.id & 0xff, e.seq >> 8, e.seq & 0xff], 20);
        p.b.sendIcmpUnreachable(FAR, 1, orig);
      }
    });
    const r = await p.a.ping(FAR, { seq: 1 });
    assert.equal(r.seq, 1);
    await assert.rejects(p.a.ping(FAR, { seq: 2, timeoutMs: 2000 }), { code: "EHOSTUNREACH" });
  } finally {
    p.close();
  }
});

test("TCP forwarder: accept() joins a masqueraded connection; icmp and rst rejections reach the client as codes", async () => {
  const p = pair(6);
  try {
    p.b.setTcpForwarder((req) => {
      if (req.dstPort === 80) {
        assert.equal(req.dst, FAR);
        const s = req.accept();
        s.end("hello from afar");
      } else if (req.dstPort === 81) req.reject("icmp-host-unreachable");
      else req.reject("rst");
    });
    const c = p.a.connect({ host: FAR, port: 80 });
    assert.equal((await collect(c)).toString(), "hello from afar");
    const c2 = p.a.connect({ host: FAR, port: 81 });
    assert.equal((await once(c2, "error"))[0].code, "EHOSTUNREACH");
    const c3 = p.a.connect({ host: FAR, port: 82 });
    assert.equal((await once(c3, "error"))[0].code, "ECONNREFUSED");
  } finally {
    p.close();
  }
});

test("output backpressure: false holds a bounded queue, the rest stays in the cores; outputReady resumes", async () => {
  const s = new NodeStack({ address: CLIENT, rng: new SeededRng(7), maxTxQueue: 16, clock: new ManualClock() });
  const sent: Uint8Array[] = [];
  let accept = false;
  s.output = (pk) => {
    sent.push(pk);
    return accept;
  };
  for (let i = 0; i < 2000; i++) s.sendUdp({ address: CLIENT, port: 1 }, { address: SERVER, port: 2 }, new Uint8Array(10));
  assert.equal(sent.length, 0, "user sends are pumped in a microtask, not inside the call");
  // UDP's own transmit queue holds 1024; the rest were dropped and counted at send time.
  assert.equal(s.stats()["udp.dropTxQueueFull"], 2000 - 1024);
  await Promise.resolve();
  assert.equal(sent.length, 1, "after false the stack stops calling output");
  assert.equal(s.stats()["stack.txQueue"], 16, "the stack holds at most maxTxQueue; the rest stays in the UDP core");
  accept = true;
  s.outputReady();
  assert.equal(sent.length, 1024);
  assert.equal(s.stats()["stack.txQueue"], 0);
  s.close();
});

test("timers: on a ManualClock, tick() fires what is due (ping timeout), nothing earlier", async () => {
  const clock = new ManualClock(0);
  const s = new NodeStack({ address: CLIENT, rng: new SeededRng(8), clock });
  s.output = () => true;
  let settled: string | undefined;
  s.ping(FAR, { timeoutMs: 1000 }).then(
    () => (settled = "ok"),
    (e) => (settled = e.code),
  );
  assert.equal(s.pollTimeout(), 1000);
  clock.advance(999);
  s.tick();
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, undefined);
  clock.advance(1);
  s.tick();
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, "ETIMEDOUT");
  assert.equal(s.pollTimeout(), undefined);
  s.close();
});

test("malformed input through the link hook is counted by reason, never thrown", () => {
  const s = new NodeStack({ address: CLIENT, rng: new SeededRng(9), clock: new ManualClock() });
  s.input(new Uint8Array([0x45, 0, 0]));
  s.input(new Uint8Array(40).fill(0x45));
  const st = s.stats();
  assert.equal(st["ip.drop.ip-truncated"], 1);
  assert.ok((st["ip.drop.ip-bad-checksum"] ?? 0) + (st["ip.drop.ip-bad-total-length"] ?? 0) === 1);
  s.close();
});

test("close(): open TCP sockets close (no error event) and the peer sees a reset", async () => {
  const p = pair(10);
  try {
    const srv = p.b.listen(8);
    const accepted = once(srv, "connection");
    const c = p.a.connect({ host: SERVER, port: 8 });
    await once(c, "connect");
    const [s] = (await accepted) as [TcpSocket];
    const peerErr = once(s, "error");
    let ownErr: Error | undefined;
    c.on("error", (e) => (ownErr = e));
    const closed = once(c, "close");
    p.a.close();
    await closed;
    assert.equal(ownErr, undefined);
    assert.equal((await peerErr)[0].code, "ECONNRESET");
  } finally {
    p.close();
  }
});

test("NodeStack's sockets satisfy the proxies' LinkNet shapes (compile-time check, plus a runtime sanity check)", () => {
  const s = new NodeStack({ address: CLIENT, rng: new SeededRng(11), clock: new ManualClock() });
  const u: LinkUdpSocket = s.udpSocket();
  const srv: LinkServer = s.listen(0);
  const c: LinkSocket = s.connect({ host: SERVER, port: 1 });
  c.on("error", () => {});
  assert.equal(typeof u.port, "number");
  assert.ok(srv.port >= 0);
  u.close();
  srv.close();
  s.close();
});

test("a synchronous link (output calls the peer's input directly) neither recurses nor corrupts: 1 MiB echo", async () => {
  const a = new NodeStack({ address: CLIENT, rng: new SeededRng(12) });
  const b = new NodeStack({ address: SERVER, rng: new SeededRng(13) });
  a.output = (p) => {
    b.input(p);
    p.fill(0); // the sender may reuse its buffer after output returns: nothing may still hold it
    return true;
  };
  b.output = (p) => {
    a.input(p);
    p.fill(0);
    return true;
  };
  try {
    const srv = b.listen(7);
    srv.on("connection", (s: TcpSocket) => s.pipe(s));
    const c = a.connect({ host: SERVER, port: 7 });
    await once(c, "connect");
    const data = Buffer.from(new SeededRng(14).fill(new Uint8Array(1 << 20)));
    const got = collect(c);
    c.end(data);
    assert.equal(sha(await got), sha(data));
  } finally {
    a.close();
    b.close();
  }
});
