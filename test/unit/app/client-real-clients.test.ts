/**
 * Real clients through the client's proxies, to services behind the link:
 * curl over SOCKS5 (with local and remote name resolution), over the HTTP
 * proxy, through CONNECT to HTTPS, a UDP ASSOCIATE DNS query with the `socks`
 * package, `nc -X 5`, and `git clone` over HTTP. Every byte crosses our
 * stack, PPP, the emulated line and the server's masquerade.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import { execFile, execFileSync } from "node:child_process";
import { once } from "node:events";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync, rmSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import * as dnsPacket from "dns-packet";
import { SocksClient } from "socks";
import { SeededRng } from "../../../stack/util/rng.js";
import { startRoles, type Roles } from "./roles.js";

const run = promisify(execFile);
const has = (tool: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`]);
    return true;
  } catch {
    return false;
  }
};
const need = (tool: string) => (has(tool) ? false : `${tool} is not installed (bash .ci/setup.sh installs it)`);

const body = Buffer.from(new SeededRng(3).fill(new Uint8Array(300_000)));
const sha = createHash("sha256").update(body).digest("hex");
let roles: Roles;
let web: http.Server;
let webPort: number;
let tls: https.Server | undefined;
let tlsPort = 0;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ppproxy-clients-"));
  web = http.createServer((req, res) => {
    if (req.url === "/blob") return res.end(body);
    if (req.method === "POST") {
      const h = createHash("sha256");
      req.on("data", (d) => h.update(d));
      req.on("end", () => res.end(h.digest("hex")));
      return;
    }
    // A dumb-HTTP git repository lives under /repo.git
    const file = join(dir, decodeURIComponent((req.url ?? "/").split("?")[0]));
    if (req.url?.startsWith("/repo.git/") && existsSync(file)) return res.end(readFileSync(file));
    res.writeHead(404).end();
  });
  web.listen(0, "127.0.0.1");
  await once(web, "listening");
  webPort = (web.address() as AddressInfo).port;
  if (has("openssl")) {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
    tls = https.createServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }, (_req, res) => res.end("secure hello"));
    tls.listen(0, "127.0.0.1");
    await once(tls, "listening");
    tlsPort = (tls.address() as AddressInfo).port;
  }
  roles = await startRoles({
    masquerade: { lookup: async (name) => (name === "far.test" ? ["192.168.7.1"] : Promise.reject(Object.assign(new Error("nx"), { code: "ENOTFOUND" }))) },
  });
  await roles.up;
});

after(async () => {
  await roles?.stop();
  web?.close();
  tls?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function curl(args: string[]): Promise<Buffer> {
  const { stdout } = await run("curl", ["-sS", "--fail", "--max-time", "60", ...args], { encoding: "buffer", maxBuffer: 1 << 24 });
  return stdout;
}

test("curl --socks5 (local resolution) fetches from the far end's loopback, exact bytes", { skip: need("curl") }, async () => {
  const out = await curl(["--socks5", roles.socks, `http://127.0.0.1:${webPort}/blob`]);
  assert.equal(createHash("sha256").update(out).digest("hex"), sha);
});

test("curl --socks5-hostname resolves the name at the far end (DNS over the link)", { skip: need("curl") }, async () => {
  const out = await curl(["--socks5-hostname", roles.socks, `http://far.test:${webPort}/blob`]);
  assert.equal(createHash("sha256").update(out).digest("hex"), sha);
});

test("curl -x http:// with a streaming POST body", { skip: need("curl") }, async () => {
  const file = join(dir, "post.bin");
  writeFileSync(file, body);
  const out = await curl(["-x", `http://${roles.http}`, "-H", "Transfer-Encoding: chunked", "--data-binary", `@${file}`, `http://far.test:${webPort}/upload`]);
  assert.equal(out.toString(), sha);
});

test("curl https:// through the HTTP proxy's CONNECT tunnel", { skip: need("curl") || need("openssl") }, async () => {
  const out = await curl(["-k", "-x", `http://${roles.http}`, `https://far.test:${tlsPort}/`]);
  assert.equal(out.toString(), "secure hello");
});

test("a DNS query through SOCKS5 UDP ASSOCIATE", async () => {
  const [host, port] = roles.socks.split(":");
  const client = new SocksClient({
    proxy: { host, port: Number(port), type: 5 },
    command: "associate",
    destination: { host: "0.0.0.0", port: 0 },
  });
  const info = await new Promise<{ socket: import("node:net").Socket; remoteHost?: { host: string; port: number } }>((res, rej) => {
    client.once("established", res);
    client.once("error", rej);
    client.connect();
  });
  const dgram = await import("node:dgram");
  const udp = dgram.createSocket("udp4");
  await new Promise<void>((r) => udp.bind(0, "127.0.0.1", () => r()));
  const query = dnsPacket.encode({ type: "query", id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: "far.test" }] });
  const packet = SocksClient.createUDPFrame({ remoteHost: { host: "192.168.7.1", port: 53 }, data: query });
  const reply = once(udp, "message");
  udp.send(packet, info.remoteHost!.port, info.remoteHost!.host === "0.0.0.0" ? host : info.remoteHost!.host);
  const [msg] = (await reply) as [Buffer];
  const frame = SocksClient.parseUDPFrame(msg);
  const answer = dnsPacket.decode(frame.data);
  assert.equal(answer.id, 4242);
  assert.deepEqual(answer.answers!.map((a) => (a as { data: string }).data), ["192.168.7.1"]);
  udp.close();
  info.socket.destroy();
});

test("nc -X 5 through SOCKS (what ssh's ProxyCommand uses)", { skip: need("nc") }, async () => {
  const [host, port] = roles.socks.split(":");
  const child = execFile("nc", ["-X", "5", "-x", `${host}:${port}`, "far.test", String(webPort)], { encoding: "buffer", maxBuffer: 1 << 24 });
  child.stdin!.end(`GET /blob HTTP/1.0\r\nHost: far.test\r\n\r\n`);
  const chunks: Buffer[] = [];
  child.stdout!.on("data", (d: Buffer) => chunks.push(d));
  await once(child, "exit");
  const all = Buffer.concat(chunks);
  const payload = all.subarray(all.indexOf("\r\n\r\n") + 4);
  assert.equal(createHash("sha256").update(payload).digest("hex"), sha);
});

test("git clone over HTTP through the proxy", { skip: need("git") }, async () => {
  const src = join(dir, "src");
  execFileSync("git", ["init", "-q", src]);
  writeFileSync(join(src, "README"), "cloned over a null-modem\n");
  execFileSync("git", ["-C", src, "add", "README"]);
  execFileSync("git", ["-C", src, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first"]);
  execFileSync("git", ["clone", "-q", "--bare", src, join(dir, "repo.git")]);
  execFileSync("git", ["-C", join(dir, "repo.git"), "update-server-info"]);
  const dst = join(dir, "dst");
  await run("git", ["-c", `http.proxy=http://${roles.http}`, "clone", "-q", `http://far.test:${webPort}/repo.git`, dst], { timeout: 60_000 });
  assert.equal(readFileSync(join(dst, "README"), "utf8"), "cloned over a null-modem\n");
});
