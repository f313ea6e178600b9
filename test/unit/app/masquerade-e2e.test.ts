/**
 * The whole path, end to end, over the emulated null-modem: the client's
 * stack reaches host services through the server's PPP and masquerade.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { once } from "node:events";
import { createHash } from "node:crypto";
import * as dnsPacket from "dns-packet";
import { SeededRng } from "../../../stack/util/rng.js";
import { startPair, type Pair } from "./harness.js";

const body = Buffer.from(new SeededRng(7).fill(new Uint8Array(1 << 20)));
const bodySha = createHash("sha256").update(body).digest("hex");
let web: http.Server;
let webPort: number;
let pair: Pair;

before(async () => {
  web = http.createServer((_req, res) => res.end(body));
  web.listen(0, "127.0.0.1");
  await once(web, "listening");
  webPort = (web.address() as net.AddressInfo).port;
  pair = startPair({ masquerade: { policy: { deny: ["192.168.7.1:9"] } } });
  await pair.clientUp;
});

after(async () => {
  await pair.close();
  web.close();
});

function get(path: string): Promise<{ head: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = pair.client.stack.connect({ host: "192.168.7.1", port: webPort });
    const chunks: Buffer[] = [];
    s.on("connect", () => s.write(`GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`));
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", reject);
    s.on("end", () => {
      const all = Buffer.concat(chunks);
      const i = all.indexOf("\r\n\r\n");
      resolve({ head: all.subarray(0, i).toString(), body: all.subarray(i + 4) });
    });
  });
}

test("IPCP gives the client 192.168.7.2 and the server address as DNS", async () => {
  const up = await pair.clientUp;
  assert.equal(up.local, "192.168.7.2");
  assert.equal(up.remote, "192.168.7.1");
  // pppd semantics: one ms-dns serves as both primary and secondary.
  assert.equal(up.dns[0], "192.168.7.1");
  assert.ok(up.dns.every((d) => d === "192.168.7.1"), up.dns.join());
  assert.ok(pair.logs.some((l) => l.includes("PAP peer authentication succeeded for zaphod")), pair.logs.join("\n"));
});

test("1 MiB over TCP from a host loopback server through the server address, exact sha256", async () => {
  const r = await get("/");
  assert.match(r.head, /^HTTP\/1\.[01] 200/);
  assert.equal(r.body.length, body.length);
  assert.equal(createHash("sha256").update(r.body).digest("hex"), bodySha);
});

test("ping to the server address is answered by the server's stack", async () => {
  const r = await pair.client.stack.ping("192.168.7.1", { seq: 1, timeoutMs: 5000 });
  assert.equal(r.seq, 1);
  assert.ok(r.rtt >= 0);
});

test("DNS to the pushed address is answered from the host's resolver (localhost)", async () => {
  const sock = pair.client.stack.udpSocket();
  const reply = once(sock, "message");
  sock.send(dnsPacket.encode({ type: "query", id: 99, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: "localhost" }] }), 53, "192.168.7.1");
  const [msg] = (await reply) as [Buffer];
  const r = dnsPacket.decode(msg);
  assert.equal(r.id, 99);
  assert.ok(r.answers!.some((a) => (a as { data: string }).data === "127.0.0.1"), JSON.stringify(r.answers));
  sock.close();
});

test("a refused host port reaches the client as ECONNREFUSED", async () => {
  const probe = net.createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const port = (probe.address() as net.AddressInfo).port;
  probe.close();
  const s = pair.client.stack.connect({ host: "192.168.7.1", port });
  const [err] = (await once(s, "error")) as [NodeJS.ErrnoException];
  assert.equal(err.code, "ECONNREFUSED");
});

test("a destination the policy denies is refused, logged and counted", async () => {
  const s = pair.client.stack.connect({ host: "192.168.7.1", port: 9, timeoutMs: 10_000 });
  const [err] = (await once(s, "error")) as [NodeJS.ErrnoException];
  assert.ok(["EHOSTUNREACH", "ENETUNREACH", "ECONNREFUSED"].includes(err.code!), err.code);
  assert.ok(pair.masq()!.status()["tcp.denied"] >= 1);
  assert.ok(pair.logs.some((l) => /refused TCP .*192\.168\.7\.1:9/.test(l)));
});

test("the host's loopback is not reachable directly", async () => {
  const s = pair.client.stack.connect({ host: "127.0.0.1", port: webPort, timeoutMs: 10_000 });
  const [err] = (await once(s, "error")) as [NodeJS.ErrnoException];
  assert.ok(err.code, "an error with a code");
});
