/**
 * TCP links on 127.0.0.1: client and listener, data both ways, hangup on
 * peer close, connect refused reported with its code, backpressure signals,
 * and the device-string parser that picks them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { connectTcpLink, listenLinks } from "../../../src/link/tcp-link.js";
import { openLink, parseDevice, LinkSpecError, type Link } from "../../../src/link/link.js";
import { readN } from "./read-n.js";
import { PassThrough } from "node:stream";
import { createStdioLink } from "../../../src/link/stdio-link.js";

/** Collect exactly n bytes with one persistent listener (a once() per chunk would miss chunks emitted in between). */

test("listener + client: data both ways, names, hangup on peer close, no hangup for the closer", async () => {
  let onServer!: (l: Link) => void;
  const gotLink = new Promise<Link>((r) => (onServer = r));
  const listener = await listenLinks("tcp-listen://127.0.0.1:0", (l) => onServer(l));
  const port = listener.port;
  assert.equal(listener.address, "127.0.0.1");
  assert.ok(port > 0);

  const client = await connectTcpLink("127.0.0.1", port);
  const server = await gotLink;
  assert.equal(client.name, `tcp://127.0.0.1:${port}`);
  assert.match(server.name, /^tcp:\/\/127\.0\.0\.1:\d+$/);

  const toServer = readN(server, 5);
  client.write(new Uint8Array([0x7e, 0xff, 0x03, 0xc0, 0x21]));
  assert.deepEqual([...(await toServer)], [0x7e, 0xff, 0x03, 0xc0, 0x21]);
  const toClient = readN(client, 3);
  server.write(Buffer.from("abc"));
  assert.equal((await toClient).toString(), "abc");

  let clientHangups = 0;
  client.on("hangup", () => clientHangups++);
  const hung = once(server, "hangup");
  await client.close();
  await client.close(); // idempotent
  const [reason] = await hung;
  assert.equal(reason, "EOF");
  assert.equal(server.write(new Uint8Array([1])), false, "writing after hangup is refused");
  assert.equal(clientHangups, 0, "our own close is not a hangup");
  await server.close();
  await listener.close();
});

test("server side closing hangs up the client (EOF), once", async () => {
  let serverLink: Link | undefined;
  const lst = await listenLinks({ device: "tcp-listen://127.0.0.1:0" }, (l) => (serverLink = l));
  const client = await connectTcpLink("127.0.0.1", lst.port);
  let n = 0;
  client.on("hangup", () => n++);
  while (!serverLink) await new Promise((r) => setTimeout(r, 5));
  const h = once(client, "hangup");
  await serverLink.close();
  await h;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(n, 1);
  await client.close();
  await lst.close();
});

test("a reset from the peer is a hangup with its code", async () => {
  const raw = net.createServer((s) => {
    s.on("error", () => undefined);
    setTimeout(() => s.resetAndDestroy(), 10);
  });
  await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
  const port = (raw.address() as net.AddressInfo).port;
  const client = await connectTcpLink("127.0.0.1", port);
  const [reason] = await once(client, "hangup");
  assert.match(String(reason), /ECONNRESET|EOF/);
  await client.close();
  await new Promise((r) => raw.close(r));
});

test("connect refused is reported as ECONNREFUSED naming the device", async () => {
  // Find a port with nothing listening: bind, note it, close.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  await assert.rejects(openLink({ device: `tcp://127.0.0.1:${port}` }), (err: Error & { code?: string }) => {
    assert.equal(err.code, "ECONNREFUSED");
    assert.match(err.message, new RegExp(`tcp://127\\.0\\.0\\.1:${port}: connect failed: ECONNREFUSED`));
    return true;
  });
});

test("listen on a busy port fails with EADDRINUSE", async () => {
  const lst = await listenLinks("tcp-listen://127.0.0.1:0", () => undefined);
  await assert.rejects(listenLinks(`tcp-listen://127.0.0.1:${lst.port}`, () => undefined), { code: "EADDRINUSE" });
  await lst.close();
});

test("openLink(tcp-listen://) takes the first connection and stops listening", async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const linkP = openLink({ device: `tcp-listen://${port}` }); // host defaults to 127.0.0.1
  let sock: net.Socket | undefined;
  for (let i = 0; i < 100 && !sock; i++) {
    sock = await new Promise<net.Socket | undefined>((r) => {
      const s = net.connect(port, "127.0.0.1", () => r(s));
      s.once("error", () => setTimeout(() => r(undefined), 10));
    });
  }
  assert.ok(sock, "connected to the one-shot listener");
  const link = await linkP;
  const d = readN(link, 2);
  sock.write("hi");
  assert.equal((await d).toString(), "hi");
  await assert.rejects(
    new Promise((res, rej) => {
      const s = net.connect(port, "127.0.0.1", () => res(s));
      s.once("error", rej);
    }),
    { code: "ECONNREFUSED" },
  );
  sock.destroy();
  await link.close();
});

test("write() returns false under load and 'drain' follows", async () => {
  let server: Link | undefined;
  const lst = await listenLinks("tcp-listen://127.0.0.1:0", (l) => (server = l));
  const client = await connectTcpLink("127.0.0.1", lst.port);
  while (!server) await new Promise((r) => setTimeout(r, 5));
  // The server does not read (no 'data' listener and paused), so the kernel buffers fill.
  const chunk = new Uint8Array(64 * 1024);
  let writes = 0;
  while (client.write(chunk) && writes < 10_000) writes++;
  assert.ok(writes < 10_000, "write() eventually returned false");
  const drained = once(client, "drain");
  let received = 0;
  server.on("data", (b: Buffer) => (received += b.length));
  await drained;
  assert.ok(received > 0);
  await client.close();
  await server.close();
  await lst.close();
});

test("device strings", () => {
  assert.deepEqual(parseDevice("/dev/ttyS1"), { kind: "serial", path: "/dev/ttyS1" });
  assert.deepEqual(parseDevice("ttyUSB0"), { kind: "serial", path: "/dev/ttyUSB0" });
  assert.deepEqual(parseDevice("tcp://10.0.2.2:7000"), { kind: "tcp", host: "10.0.2.2", port: 7000 });
  assert.deepEqual(parseDevice("tcp://[::1]:7000"), { kind: "tcp", host: "::1", port: 7000 });
  assert.deepEqual(parseDevice("tcp-listen://7001"), { kind: "tcp-listen", host: "127.0.0.1", port: 7001 });
  assert.deepEqual(parseDevice("tcp-listen://0.0.0.0:7001"), { kind: "tcp-listen", host: "0.0.0.0", port: 7001 });
  assert.deepEqual(parseDevice("stdio"), { kind: "stdio" });
  assert.deepEqual(parseDevice("-"), { kind: "stdio" });
  assert.throws(() => parseDevice("tcp://host"), LinkSpecError);
  assert.throws(() => parseDevice("tcp://host:99999"), /out of range/);
  assert.throws(() => parseDevice("tcp://:7000"), /missing host/);
  assert.throws(() => parseDevice("udp://h:1"), /unknown scheme/);
  assert.throws(() => parseDevice(""), /empty/);
});

test("close() does not hang when the peer stops reading (queued bytes get a grace, then a reset)", async () => {
  const peers: net.Socket[] = [];
  const raw = net.createServer((sock) => {
    sock.pause(); // never read: the kernel buffers fill and our queue cannot drain
    sock.on("error", () => undefined);
    peers.push(sock);
  });
  await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
  const client = await connectTcpLink("127.0.0.1", (raw.address() as net.AddressInfo).port);
  const chunk = new Uint8Array(256 * 1024);
  for (let i = 0; i < 64 && client.write(chunk); i++);
  const t0 = performance.now();
  await client.close();
  const dt = performance.now() - t0;
  assert.ok(dt >= 1000 && dt < 5000, `close took ${dt.toFixed(0)} ms (grace is 2000)`);
  for (const p of peers) p.destroy();
  await new Promise((r) => raw.close(r));
});

test("tcp://, tcp-listen:// and stdio take pppd's speed word as the line rate behind them (for pacing); without it, none", async () => {
  const server = net.createServer((s) => s.on("error", () => undefined));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const paced = await openLink({ device: `tcp://127.0.0.1:${port}`, speed: 57600 });
    const unpaced = await openLink({ device: `tcp://127.0.0.1:${port}` });
    assert.equal(paced.bitsPerSecond, 57600);
    assert.equal(unpaced.bitsPerSecond, undefined, "a bare socket has no known rate");
    await paced.close();
    await unpaced.close();
    const accepted: Link[] = [];
    const listener = await listenLinks({ device: "tcp-listen://127.0.0.1:0", speed: 38400 }, (l) => accepted.push(l));
    const s = net.connect(listener.port, "127.0.0.1");
    await once(s, "connect");
    for (let i = 0; i < 100 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(accepted[0]?.bitsPerSecond, 38400);
    s.destroy();
    await accepted[0].close();
    await listener.close();
    const pipe = createStdioLink({ input: new PassThrough(), output: new PassThrough(), bitsPerSecond: 9600 });
    assert.equal(pipe.bitsPerSecond, 9600);
    await pipe.close();
  } finally {
    server.close();
  }
});
