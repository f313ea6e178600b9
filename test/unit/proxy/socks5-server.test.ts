/**
 * SOCKS5 server end to end over the loopback test LinkNet, with real
 * clients (the `socks` package, curl) and byte-exact raw requests for every
 * RFC 1928 §6 REP path. After each error the server must still serve.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import nodeNet from "node:net";
import dnsPacket from "dns-packet";
import { SocksClient } from "socks";
import { LoopbackNet } from "./loopback-net.js";
import { RawClient, startEchoServer, startHttpTarget, curl, haveCurl, collectLog } from "./helpers.js";
import { startSocksServer, type SocksServer } from "../../../proxy/socks5-server.js";
import { createDnsClient } from "../../../proxy/dns-client.js";

let net: LoopbackNet;
let socks: SocksServer;
let echo: Awaited<ReturnType<typeof startEchoServer>>;
let web: Awaited<ReturnType<typeof startHttpTarget>>;
const logged = collectLog();

before(async () => {
  net = await LoopbackNet.create();
  echo = await startEchoServer();
  web = await startHttpTarget();
  net.zone.set("echo.test", "127.0.0.1");
  net.zone.set("web.test", { cname: "www.web.test" });
  net.zone.set("www.web.test", "127.0.0.1");
  const resolver = createDnsClient(net, { port: net.dnsPort, timeoutMs: 300, attempts: 1 });
  socks = await startSocksServer(net, { port: 0, resolver, log: logged.log, linkWaitMs: 300 });
});

after(async () => {
  await socks.close();
  echo.server.close();
  web.server.close();
  net.close();
});

const GREET = [5, 1, 0];
function connectReq(ip: number[], port: number, cmd = 1): number[] {
  return [5, cmd, 0, 1, ...ip, port >> 8, port & 0xff];
}
function domainReq(name: string, port: number, cmd = 1): number[] {
  return [5, cmd, 0, 3, name.length, ...Buffer.from(name), port >> 8, port & 0xff];
}

/** CONNECT to the echo server with a raw client and see bytes come back: "the server still serves". */
async function assertServes(): Promise<void> {
  const c = new RawClient(socks.port);
  c.send(GREET);
  assert.deepEqual([...(await c.read(2))], [5, 0]);
  c.send(connectReq([127, 0, 0, 1], echo.port));
  const rep = await c.read(10);
  assert.equal(rep[1], 0, `REP should be 0, got ${rep[1]}`);
  c.send("ping");
  assert.equal((await c.read(4)).toString(), "ping");
  c.destroy();
}

/** Send greeting + request, return the 10-byte reply and whether the server then closed. */
async function requestRep(req: number[]): Promise<{ rep: number; closed: boolean }> {
  const c = new RawClient(socks.port);
  c.send(GREET);
  assert.deepEqual([...(await c.read(2))], [5, 0]);
  c.send(req);
  const reply = await c.read(10);
  assert.equal(reply.length, 10, `short reply ${reply.toString("hex")}`);
  assert.equal(reply[0], 5);
  await Promise.race([c.endSeen, new Promise((r) => setTimeout(r, 2000))]);
  const closed = c.ended;
  c.destroy();
  return { rep: reply[1], closed };
}

test("CONNECT by IPv4: reply carries the real bound link address/port; data echoes", async () => {
  const c = new RawClient(socks.port);
  c.send(GREET);
  assert.deepEqual([...(await c.read(2))], [5, 0]);
  c.send(connectReq([127, 0, 0, 1], echo.port));
  const rep = await c.read(10);
  assert.deepEqual([...rep.subarray(0, 4)], [5, 0, 0, 1]);
  assert.deepEqual([...rep.subarray(4, 8)], [127, 0, 0, 1]);
  const bndPort = rep.readUInt16BE(8);
  c.send("hello");
  assert.equal((await c.read(5)).toString(), "hello");
  // The echo server saw the link socket's local port as its peer port.
  assert.ok(echo.seenPeers.some((p) => p.port === bndPort), `BND.PORT ${bndPort} not among ${JSON.stringify(echo.seenPeers)}`);
  c.destroy();
});

test("CONNECT by domain resolves at the far end; half-close works both ways", async () => {
  const c = new RawClient(socks.port);
  c.send(GREET);
  await c.read(2);
  c.send(domainReq("echo.test", echo.port));
  const rep = await c.read(10);
  assert.equal(rep[1], 0);
  c.send("abc");
  assert.equal((await c.read(3)).toString(), "abc");
  c.sock.end(); // FIN towards the echo server, which answers "bye" then FIN
  assert.equal((await c.readToEnd()).toString(), "bye");
  assert.ok(c.ended);
});

test("the socks package: CONNECT", async () => {
  const { socket } = await SocksClient.createConnection({
    proxy: { host: "127.0.0.1", port: socks.port, type: 5 },
    command: "connect",
    destination: { host: "echo.test", port: echo.port },
  });
  socket.write("via-socks-lib");
  const got = await new Promise<string>((res) => socket.once("data", (d) => res(d.toString())));
  assert.equal(got, "via-socks-lib");
  socket.destroy();
});

test("the socks package: BIND gives the real listen port; the far side connects; data relays", async () => {
  const client = new SocksClient({
    proxy: { host: "127.0.0.1", port: socks.port, type: 5 },
    command: "bind",
    destination: { host: "0.0.0.0", port: 0 },
  });
  const bound = new Promise<{ host: string; port: number }>((res) => client.once("bound", (i) => res(i.remoteHost!)));
  const established = new Promise<nodeNet.Socket>((res) => client.once("established", (i) => res(i.socket)));
  client.on("error", (e) => assert.fail(e));
  client.connect();
  const where = await bound;
  assert.equal(where.host, "127.0.0.1");
  assert.ok(where.port > 0);
  const far = nodeNet.connect(where.port, "127.0.0.1");
  const sock = await established;
  far.write("from-far");
  assert.equal(await new Promise<string>((res) => sock.once("data", (d) => res(d.toString()))), "from-far");
  sock.write("to-far");
  assert.equal(await new Promise<string>((res) => far.once("data", (d) => res(d.toString()))), "to-far");
  sock.destroy();
  far.destroy();
});

test("the socks package: UDP ASSOCIATE carries a DNS query to the far side and back", async () => {
  const client = new SocksClient({
    proxy: { host: "127.0.0.1", port: socks.port, type: 5 },
    command: "associate",
    destination: { host: "0.0.0.0", port: 0 },
  });
  const established = new Promise<{ socket: nodeNet.Socket; remoteHost?: { host: string; port: number } }>((res, rej) => {
    client.once("established", res);
    client.once("error", rej);
  });
  client.connect();
  const { socket, remoteHost } = await established;
  assert.ok(remoteHost && remoteHost.port > 0);
  const udp = dgram.createSocket("udp4");
  await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
  const query = dnsPacket.encode({ type: "query", id: 0x1234, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: "echo.test" }] });
  const answer = new Promise<Buffer>((res) => udp.once("message", (m) => res(m)));
  // A fragment first: it must be dropped, not relayed.
  const frag = SocksClient.createUDPFrame({ frameNumber: 1, remoteHost: { host: "127.0.0.1", port: net.dnsPort }, data: query });
  udp.send(frag, remoteHost!.port, remoteHost!.host);
  const before = net.dnsQueries;
  const frame = SocksClient.createUDPFrame({ remoteHost: { host: "127.0.0.1", port: net.dnsPort }, data: query });
  udp.send(frame, remoteHost!.port, remoteHost!.host);
  const parsed = SocksClient.parseUDPFrame(await answer);
  assert.equal(parsed.remoteHost.port, net.dnsPort);
  const reply = dnsPacket.decode(parsed.data);
  assert.equal(reply.id, 0x1234);
  assert.deepEqual(reply.answers?.map((a) => (a as { data: string }).data), ["127.0.0.1"]);
  assert.equal(net.dnsQueries - before, 1, "only the unfragmented datagram reaches the DNS server");
  assert.ok(socks.stats.get("udp drop: fragment (FRAG != 0)") >= 1);
  socket.destroy();
  udp.close();
});

test("curl --socks5 and --socks5-hostname fetch over the link", async (t) => {
  if (!(await haveCurl())) {
    t.skip("SKIPPED LOUDLY: curl binary missing");
    return;
  }
  const a = await curl(["--socks5", `127.0.0.1:${socks.port}`, `http://127.0.0.1:${web.port}/a?b=1`]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(JSON.parse(a.stdout).url, "/a?b=1");
  const b = await curl(["--socks5-hostname", `127.0.0.1:${socks.port}`, `http://web.test:${web.port}/cname`]);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(JSON.parse(b.stdout).headers.host, `web.test:${web.port}`);
});

test("error: bad version byte -> closed without reply, server keeps serving", async () => {
  const c = new RawClient(socks.port);
  c.send([4, 1, 0, 80, 127, 0, 0, 1, 0]);
  const got = await c.readToEnd();
  assert.equal(got.length, 0);
  assert.ok(logged.lines.some((l) => l.includes("is not SOCKS5")));
  await assertServes();
});

test("error: unsupported command -> REP 7", async () => {
  const r = await requestRep(connectReq([127, 0, 0, 1], echo.port, 9));
  assert.deepEqual(r, { rep: 7, closed: true });
  await assertServes();
});

test("error: unsupported address type -> REP 8", async () => {
  const r = await requestRep([5, 1, 0, 7, 1, 2, 3, 4, 0, 80]);
  assert.deepEqual(r, { rep: 8, closed: true });
  await assertServes();
});

test("IPv6: non-mapped -> REP 8; v4-mapped ::ffff:127.0.0.1 connects", async () => {
  const v6 = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1];
  const r = await requestRep([5, 1, 0, 4, ...v6, echo.port >> 8, echo.port & 0xff]);
  assert.deepEqual(r, { rep: 8, closed: true });
  const mapped = [...Array(10).fill(0), 0xff, 0xff, 127, 0, 0, 1];
  const c = new RawClient(socks.port);
  c.send(GREET);
  await c.read(2);
  c.send([5, 1, 0, 4, ...mapped, echo.port >> 8, echo.port & 0xff]);
  assert.equal((await c.read(10))[1], 0);
  c.destroy();
});

test("error: connection refused -> REP 5", async () => {
  const tmp = nodeNet.createServer();
  await new Promise<void>((r) => tmp.listen(0, "127.0.0.1", r));
  const closedPort = (tmp.address() as nodeNet.AddressInfo).port;
  await new Promise<void>((r) => tmp.close(() => r()));
  const r = await requestRep(connectReq([127, 0, 0, 1], closedPort));
  assert.deepEqual(r, { rep: 5, closed: true });
  await assertServes();
});

test("errors from the link map to REP 3 / 4 / 6 / 1", async () => {
  const cases: [string, string, number][] = [
    ["127.0.0.2", "ENETUNREACH", 3],
    ["127.0.0.3", "EHOSTUNREACH", 4],
    ["127.0.0.4", "ETIMEDOUT", 4],
    ["127.0.0.5", "EWEIRD", 1],
  ];
  // Loopback destinations mean the peer, so the test net sees 127.0.0.1; fail by name instead.
  for (const [name, code, rep] of cases) {
    net.zone.set(`fail-${code.toLowerCase()}.test`, name);
    net.failConnect.set(name, code);
  }
  try {
    for (const [, code, rep] of cases) {
      const r = await requestRep(domainReq(`fail-${code.toLowerCase()}.test`, 80));
      assert.deepEqual(r, { rep, closed: true }, `${code} should give REP ${rep}`);
    }
  } finally {
    for (const [name] of cases) net.failConnect.delete(name);
  }
  await assertServes();
});

test("error: unresolvable name -> REP 4", async () => {
  const r = await requestRep(domainReq("nowhere.test", 80));
  assert.deepEqual(r, { rep: 4, closed: true });
  await assertServes();
});

test("error: no DNS server -> REP 4 and the log says why", async () => {
  const saved = net.dnsServers;
  net.dnsServers = [];
  try {
    const r = await requestRep(domainReq("another.test", 80));
    assert.deepEqual(r, { rep: 4, closed: true });
    assert.ok(logged.lines.some((l) => l.includes("no DNS server: the peer pushed none (ms-dns) and --dns was not given")));
  } finally {
    net.dnsServers = saved;
  }
  await assertServes();
});

test("error: link down and not coming back -> REP 3; down then up -> request waits and succeeds", async () => {
  net.setUp(false, { persist: false });
  try {
    const r = await requestRep(connectReq([127, 0, 0, 1], echo.port));
    assert.deepEqual(r, { rep: 3, closed: true });
  } finally {
    net.setUp(true);
  }
  net.setUp(false, { persist: true });
  const c = new RawClient(socks.port);
  c.send(GREET);
  await c.read(2);
  c.send(connectReq([127, 0, 0, 1], echo.port));
  setTimeout(() => net.setUp(true), 50);
  assert.equal((await c.read(10))[1], 0);
  c.destroy();
  await assertServes();
});

test("link wait times out -> REP 3", async () => {
  net.setUp(false, { persist: true });
  try {
    const r = await requestRep(connectReq([127, 0, 0, 1], echo.port));
    assert.deepEqual(r, { rep: 3, closed: true });
  } finally {
    net.setUp(true);
  }
  await assertServes();
});

test("username/password: failure -> status != 0 then close; success -> CONNECT works", async () => {
  const resolver = createDnsClient(net, { port: net.dnsPort });
  const authed = await startSocksServer(net, { port: 0, resolver, users: { alice: "s3cret" } });
  try {
    // Wrong password.
    const bad = new RawClient(authed.port);
    bad.send([5, 1, 2]);
    assert.deepEqual([...(await bad.read(2))], [5, 2]);
    bad.send([1, 5, ...Buffer.from("alice"), 5, ...Buffer.from("wrong")]);
    const st = await bad.read(2);
    assert.equal(st[0], 1);
    assert.notEqual(st[1], 0);
    await bad.endSeen;
    // No-auth only offered -> 0xFF.
    const none = new RawClient(authed.port);
    none.send([5, 1, 0]);
    assert.deepEqual([...(await none.read(2))], [5, 0xff]);
    await none.endSeen;
    // Right password, via the socks package.
    const { socket } = await SocksClient.createConnection({
      proxy: { host: "127.0.0.1", port: authed.port, type: 5, userId: "alice", password: "s3cret" },
      command: "connect",
      destination: { host: "127.0.0.1", port: echo.port },
    });
    socket.write("authed");
    assert.equal(await new Promise<string>((res) => socket.once("data", (d) => res(d.toString()))), "authed");
    socket.destroy();
  } finally {
    await authed.close();
  }
});

test("a listener off loopback without users refuses to start", async () => {
  await assert.rejects(startSocksServer(net, { host: "0.0.0.0", port: 0 }), (e: Error & { code?: string }) => {
    assert.equal(e.code, "EUSAGE");
    assert.match(e.message, /not loopback/);
    return true;
  });
});

test("half-close the other way: the far side FINs first, the client keeps sending", async () => {
  let received = "";
  const gotAll = new Promise<void>((resolve) => {
    const srv = nodeNet.createServer({ allowHalfOpen: true }, (s) => {
      s.end("first-and-last");
      s.on("data", (d) => (received += d.toString()));
      s.on("end", () => {
        srv.close();
        resolve();
      });
    });
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as nodeNet.AddressInfo).port;
      void (async () => {
        const c = new RawClient(socks.port);
        c.send(GREET);
        await c.read(2);
        c.send(connectReq([127, 0, 0, 1], port));
        assert.equal((await c.read(10))[1], 0);
        assert.equal((await c.readToEnd()).toString(), "first-and-last");
        await c.endSeen;
        c.send("late data");
        c.sock.end();
      })();
    });
  });
  await gotAll;
  assert.equal(received, "late data");
});

test("UDP ASSOCIATE with an announced client port: datagrams from any other port are dropped", async () => {
  const mine = dgram.createSocket("udp4");
  const other = dgram.createSocket("udp4");
  await new Promise<void>((r) => mine.bind(0, "127.0.0.1", r));
  await new Promise<void>((r) => other.bind(0, "127.0.0.1", r));
  const myPort = mine.address().port;
  const c = new RawClient(socks.port);
  c.send(GREET);
  await c.read(2);
  c.send([5, 3, 0, 1, 127, 0, 0, 1, myPort >> 8, myPort & 0xff]);
  const rep = await c.read(10);
  assert.equal(rep[1], 0);
  const relayPort = rep.readUInt16BE(8);
  const query = dnsPacket.encode({ type: "query", id: 7, questions: [{ type: "A", name: "echo.test" }] });
  const frame = SocksClient.createUDPFrame({ remoteHost: { host: "127.0.0.1", port: net.dnsPort }, data: query });
  const dropsBefore = socks.stats.get("udp drop: not from the announced port");
  const queriesBefore = net.dnsQueries;
  other.send(frame, relayPort, "127.0.0.1");
  const answer = new Promise<Buffer>((res) => mine.once("message", res));
  // Send from the right port only after the wrong one has been seen and dropped.
  for (let i = 0; i < 400 && socks.stats.get("udp drop: not from the announced port") === dropsBefore; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(socks.stats.get("udp drop: not from the announced port"), dropsBefore + 1);
  mine.send(frame, relayPort, "127.0.0.1");
  const parsed = SocksClient.parseUDPFrame(await answer);
  assert.equal(dnsPacket.decode(parsed.data).id, 7);
  assert.equal(net.dnsQueries - queriesBefore, 1);
  // Closing the control connection ends the association: the relay port goes away.
  const closedBefore = socks.stats.get("udp associations closed");
  c.destroy();
  await c.closed;
  for (let i = 0; i < 400 && socks.stats.get("udp associations closed") === closedBefore; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(socks.stats.get("udp associations closed"), closedBefore + 1);
  mine.close();
  other.close();
});
