/**
 * The proxies over the real userspace stack (stack/node NodeStack), not the
 * host's sockets: two NodeStacks joined in memory (the stack-e2e memory
 * link); stack A is "our side of the link" behind a small LinkNet adapter,
 * stack B is "the far end" running an echo, an HTTP server and a DNS
 * server on its own TcpSockets/UdpSocket. Real clients (the socks package,
 * curl) talk to the proxies on 127.0.0.1. Checks that the LinkSocket the
 * stack gives (stack/node TcpSocket) is enough for pipeline(), undici and
 * half-close.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { createHash } from "node:crypto";
import dnsPacket from "dns-packet";
import { SocksClient } from "socks";
import { NodeStack } from "../../../stack/node/node-stack.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { joinStacks, type MemoryLink } from "../stack-e2e/memory-link.js";
import type { LinkNet, LinkSocket } from "../../../proxy/link-net.js";
import { startSocksServer, type SocksServer } from "../../../proxy/socks5-server.js";
import { startWebServer, type WebServer } from "../../../proxy/web.js";
import { createDnsClient } from "../../../proxy/dns-client.js";
import { RawClient, curl, haveCurl } from "./helpers.js";

const OURS = "10.77.0.2";
const FAR = "10.77.0.1";
const SEED = 4242;

let a: NodeStack;
let b: NodeStack;
let link: MemoryLink;
let socks: SocksServer;
let web: WebServer;
let farHttp: http.Server;

before(async () => {
  a = new NodeStack({ address: OURS, rng: new SeededRng(SEED) });
  b = new NodeStack({ address: FAR, rng: new SeededRng(SEED + 1) });
  link = joinStacks(a, b);
  // Far end: echo on 7, HTTP on 80, DNS on 53.
  b.listen(7).on("connection", (s: LinkSocket) => {
    (s as LinkSocket & { allowHalfOpen: boolean }).allowHalfOpen = true;
    s.on("data", (d) => s.write(d));
    s.on("end", () => s.end("bye"));
  });
  farHttp = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c) => parts.push(c));
    req.on("end", () => res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, body: Buffer.concat(parts).toString() })));
  });
  b.listen(80).on("connection", (s: LinkSocket) => farHttp.emit("connection", s));
  const dns = b.udpSocket({ port: 53 });
  dns.on("message", (msg: Buffer, rinfo: { address: string; port: number }) => {
    const q = dnsPacket.decode(msg);
    const name = q.questions![0].name;
    const answers = name === "far.test" ? [{ type: "A" as const, name, ttl: 60, data: FAR }] : [];
    dns.send(dnsPacket.encode({ type: "response", id: q.id, flags: name === "far.test" ? 0 : 3, questions: q.questions, answers }), rinfo.port, rinfo.address);
  });

  const net: LinkNet = {
    up: true,
    localAddress: OURS,
    peerAddress: FAR,
    dnsServers: [FAR],
    connect: (host, port) => {
      const s = a.connect({ host, port });
      (s as unknown as { allowHalfOpen: boolean }).allowHalfOpen = true;
      return s as unknown as LinkSocket;
    },
    listen: (port) => a.listen(port),
    udp: (port) => a.udpSocket({ port }),
    ping: () => Promise.reject(new Error("unused")),
    waitUp: async () => {},
  };
  const resolver = createDnsClient(net, { rng: new SeededRng(SEED + 2) });
  socks = await startSocksServer(net, { port: 0, resolver });
  web = await startWebServer(net, { port: 0, resolver });
});

after(async () => {
  await socks.close();
  await web.close();
  link.close();
  a.close();
  b.close();
});

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

test("SOCKS CONNECT over the userspace stack: 512 KiB echo, exact bytes, BND = our link address, FIN both ways", async () => {
  const info = await SocksClient.createConnection({
    proxy: { host: "127.0.0.1", port: socks.port, type: 5 },
    command: "connect",
    destination: { host: "far.test", port: 7 },
  });
  const sock = info.socket;
  const data = Buffer.from(new SeededRng(SEED).fill(new Uint8Array(512 * 1024)));
  const parts: Buffer[] = [];
  const got = new Promise<Buffer>((res) => {
    sock.on("data", (d) => parts.push(d));
    sock.on("end", () => res(Buffer.concat(parts)));
  });
  sock.end(data);
  const all = await got;
  assert.equal(all.length, data.length + 3, `seed ${SEED}`);
  assert.equal(sha(all.subarray(0, data.length)), sha(data), `seed ${SEED}`);
  assert.equal(all.subarray(data.length).toString(), "bye");

  const raw = new RawClient(socks.port);
  raw.send([5, 1, 0]);
  assert.deepEqual([...(await raw.read(2))], [5, 0]);
  raw.send([5, 1, 0, 1, 10, 77, 0, 1, 0, 7]);
  const rep = await raw.read(10);
  assert.deepEqual([...rep.subarray(0, 8)], [5, 0, 0, 1, 10, 77, 0, 2], "BND.ADDR is our link address");
  assert.ok(rep.readUInt16BE(8) > 0, "BND.PORT is the stack's ephemeral port");
  raw.destroy();
});

test("curl through SOCKS (remote DNS) and through the HTTP proxy (undici over stack TcpSockets), GET/POST/CONNECT", async (t) => {
  if (!(await haveCurl())) return t.skip("SKIPPED LOUDLY: curl binary missing");
  const s = await curl(["--socks5-hostname", `127.0.0.1:${socks.port}`, "http://far.test/via-socks"]);
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual(JSON.parse(s.stdout), { method: "GET", url: "/via-socks", host: "far.test", body: "" });
  const g = await curl(["-x", `http://127.0.0.1:${web.port}`, "http://far.test/via-http"]);
  assert.equal(g.code, 0, g.stderr);
  assert.equal(JSON.parse(g.stdout).url, "/via-http");
  const body = "z".repeat(100_000);
  const p = await curl(["-x", `http://127.0.0.1:${web.port}`, "--data-binary", "@-", "http://far.test/post"], body);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(JSON.parse(p.stdout).body.length, body.length);
  const c = await curl(["-p", "-x", `http://127.0.0.1:${web.port}`, "http://far.test/tunnel"]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(JSON.parse(c.stdout).url, "/tunnel");
  const gw = await curl([`http://127.0.0.1:${web.port}/gw/localhost/gw-to-peer`]);
  assert.equal(gw.code, 0, gw.stderr);
  assert.equal(JSON.parse(gw.stdout).url, "/gw-to-peer", "localhost in the gateway means the far end's host");
});
