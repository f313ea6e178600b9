/**
 * A peer's bad behaviour stays its own: a SYN flood through the masquerade
 * is capped and counted, and other connections keep working. UDP flows
 * round-trip through host sockets.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import dgram from "node:dgram";
import { once } from "node:events";
import { startPair, type Pair } from "./harness.js";

let pair: Pair;
let echo: net.Server;
let echoPort: number;
let blackholePort: number;
let blackhole: net.Server;

before(async () => {
  echo = net.createServer((s) => s.pipe(s)).listen(0, "127.0.0.1");
  await once(echo, "listening");
  echoPort = (echo.address() as net.AddressInfo).port;
  // A listener whose backlog is never accepted stands in for a slow destination.
  blackhole = net.createServer({ pauseOnConnect: true }).listen(0, "127.0.0.1");
  await once(blackhole, "listening");
  blackholePort = (blackhole.address() as net.AddressInfo).port;
  pair = startPair({ masquerade: { limits: { maxConnections: 40 } } });
  await pair.clientUp;
});

after(async () => {
  await pair.close();
  echo.close();
  blackhole.close();
});

async function until(cond: () => boolean, what: string, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms; masquerade ${JSON.stringify(pair.masq()?.status())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function roundTrip(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = pair.client.stack.connect({ host: "192.168.7.1", port: echoPort });
    let got = "";
    s.on("connect", () => s.end(text));
    s.on("data", (d: Buffer) => (got += d));
    s.on("end", () => resolve(got));
    s.on("error", reject);
  });
}

test("more connections than the per-peer cap are refused and counted; others still work", async () => {
  const sockets = Array.from({ length: 60 }, () => {
    const s = pair.client.stack.connect({ host: "192.168.7.1", port: blackholePort, timeoutMs: 20_000 });
    s.on("error", () => {});
    return s;
  });
  // Wait (generously: the machine may be loaded) until the masquerade has decided every SYN.
  await until(() => (pair.masq()?.status()["tcp.connections"] ?? 0) + (pair.masq()?.status()["tcp.dropped.max-connections"] ?? 0) >= 60, "all 60 SYNs decided");
  const st = pair.masq()!.status();
  assert.ok(st["tcp.dropped.max-connections"] >= 20, JSON.stringify(st));
  for (const s of sockets) s.destroy();
  // The cap frees as they close; a normal connection works again.
  await until(() => pair.masq()!.status()["tcp.open"] === 0 && pair.masq()!.status()["tcp.connecting"] === 0, "every capped connection closed");
  assert.equal(await roundTrip("still here"), "still here");
});

test("half-close travels both ways: data sent after the peer's FIN still arrives", async () => {
  assert.equal(await roundTrip("after FIN"), "after FIN");
});

test("a UDP flow round-trips through a host socket", async () => {
  const server = dgram.createSocket("udp4");
  server.on("message", (msg, rinfo) => server.send(Buffer.concat([Buffer.from("re:"), msg]), rinfo.port, rinfo.address));
  server.bind(0, "127.0.0.1");
  await once(server, "listening");
  const port = server.address().port;
  const sock = pair.client.stack.udpSocket();
  const reply = once(sock, "message");
  sock.send(Buffer.from("hello"), port, "192.168.7.1");
  const [msg, rinfo] = (await reply) as [Buffer, { address: string; port: number }];
  assert.equal(msg.toString(), "re:hello");
  assert.equal(rinfo.address, "192.168.7.1");
  assert.equal(rinfo.port, port);
  sock.close();
  server.close();
});
