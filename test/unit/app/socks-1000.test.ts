/**
 * 1,000 concurrent SOCKS5 connections through the link and the server's
 * masquerade to a loopback echo server, every one with the right bytes.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { createHash } from "node:crypto";
import { SocksClient } from "socks";
import { startRoles, type Roles } from "./roles.js";

const N = 1000;
let roles: Roles;
let echo: net.Server;
let echoPort: number;

before(async () => {
  echo = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s)).listen(0, "127.0.0.1", 2048);
  await once(echo, "listening");
  echoPort = (echo.address() as net.AddressInfo).port;
  roles = await startRoles({ baud: 50_000_000 });
  await roles.up;
});

after(async () => {
  await roles?.stop();
  echo?.close();
});

async function one(i: number): Promise<boolean> {
  const [host, port] = roles.socks.split(":");
  const { socket } = await SocksClient.createConnection({
    proxy: { host, port: Number(port), type: 5 },
    command: "connect",
    destination: { host: "127.0.0.1", port: echoPort },
    timeout: 120_000,
  });
  const payload = createHash("sha512").update(`connection ${i}`).digest();
  const chunks: Buffer[] = [];
  socket.on("data", (d: Buffer) => chunks.push(d));
  socket.end(payload);
  await once(socket, "end");
  socket.destroy();
  return Buffer.concat(chunks).equals(payload);
}

test(`${N} concurrent SOCKS connections through the link all echo their own bytes`, async () => {
  const results = await Promise.allSettled(Array.from({ length: N }, (_, i) => one(i)));
  const failed = results.flatMap((r, i) => (r.status === "fulfilled" && r.value ? [] : [`${i}: ${r.status === "rejected" ? (r.reason as Error).message : "wrong bytes"}`]));
  assert.equal(failed.length, 0, `${failed.length} failed, e.g. ${failed.slice(0, 5).join("; ")}`);
  const st = roles.server.status()[0].masquerade!;
  assert.ok(st["tcp.connections"] >= N, JSON.stringify(st));
});
