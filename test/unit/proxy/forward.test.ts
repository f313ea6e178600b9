/**
 * ssh-style forwards (proxy/forward.ts): spec parsing with clear errors,
 * --forward through the link to a name resolved at the far end, --expose
 * from the link to a local service, and re-listening after a re-dial.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import nodeNet from "node:net";
import { LoopbackNet } from "./loopback-net.js";
import { RawClient, startEchoServer } from "./helpers.js";
import { parseExposeSpec, parseForwardSpec, startExpose, startForward } from "../../../proxy/forward.js";
import { createDnsClient } from "../../../proxy/dns-client.js";

let net: LoopbackNet;
let echo: Awaited<ReturnType<typeof startEchoServer>>;

before(async () => {
  net = await LoopbackNet.create();
  echo = await startEchoServer();
  net.zone.set("echo.test", "127.0.0.1");
});
after(() => {
  echo.server.close();
  net.close();
});

test("parseForwardSpec: forms and errors", () => {
  assert.deepEqual(parseForwardSpec("8022=10.0.0.5:22"), { kind: "forward", listenHost: "127.0.0.1", listenPort: 8022, host: "10.0.0.5", port: 22 });
  assert.deepEqual(parseForwardSpec("0.0.0.0:80=intranet.example:8080"), {
    kind: "forward",
    listenHost: "0.0.0.0",
    listenPort: 80,
    host: "intranet.example",
    port: 8080,
  });
  assert.deepEqual(parseForwardSpec("[::1]:2222=[::ffff:10.0.0.1]:22").listenHost, "::1");
  const bad: [string, RegExp][] = [
    ["8022", /missing '='/],
    ["x=1.2.3.4:22", /local port "x"/],
    ["70000=1.2.3.4:22", /local port "70000"/],
    ["8022=1.2.3.4", /remote side "1.2.3.4" is not HOST:PORT/],
    ["8022=1.2.3.4:0", /remote port "0"/],
  ];
  for (const [spec, re] of bad)
    assert.throws(() => parseForwardSpec(spec), (e: Error & { code?: string }) => e.code === "EUSAGE" && re.test(e.message) && /--forward/.test(e.message), spec);
});

test("parseExposeSpec: forms and errors", () => {
  assert.deepEqual(parseExposeSpec("8080=127.0.0.1:3000"), { kind: "expose", linkPort: 8080, localHost: "127.0.0.1", localPort: 3000 });
  assert.deepEqual(parseExposeSpec("22=localhost:22").localHost, "localhost");
  for (const spec of ["8080", "0=127.0.0.1:1", "8080=127.0.0.1", "8080=127.0.0.1:99999"])
    assert.throws(() => parseExposeSpec(spec), (e: Error & { code?: string }) => e.code === "EUSAGE" && /--expose/.test(e.message), spec);
});

test("forward: a local port reaches HOST:PORT across the link (name resolved at the far end)", async () => {
  const resolver = createDnsClient(net, { port: net.dnsPort });
  const fwd = await startForward(net, `127.0.0.1:0=echo.test:${echo.port}`, { resolver });
  try {
    const c = new RawClient(fwd.port);
    c.send("through the forward");
    assert.equal((await c.read(19)).toString(), "through the forward");
    c.sock.end();
    assert.equal((await c.readToEnd()).toString(), "bye");
    // A destination that refuses: the local client is closed, the forward keeps working.
    const tmp = nodeNet.createServer();
    await new Promise<void>((r) => tmp.listen(0, "127.0.0.1", r));
    const closedPort = (tmp.address() as nodeNet.AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
    const refused = await startForward(net, parseForwardSpec(`0=localhost:${closedPort}`), { resolver });
    const r = new RawClient(refused.port);
    await r.endSeen;
    assert.equal((await r.readToEnd()).length, 0);
    await refused.close();
    const again = new RawClient(fwd.port);
    again.send("x");
    assert.equal((await again.read(1)).toString(), "x");
    again.destroy();
  } finally {
    await fwd.close();
  }
});

test("expose: a link port reaches a local service; re-listens after the link comes back", async () => {
  // Find a free port to use as "the link port" (the loopback net listens on 127.0.0.1).
  const probe = nodeNet.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const linkPort = (probe.address() as nodeNet.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));

  const ex = await startExpose(net, `${linkPort}=127.0.0.1:${echo.port}`, { linkPollMs: 20 });
  try {
    const connectOnce = async (): Promise<string> => {
      for (let i = 0; i < 50; i++) {
        const c = new RawClient(linkPort);
        c.send("exposed");
        const got = (await c.read(7, 500)).toString();
        c.destroy();
        if (got === "exposed") return got;
        await new Promise((r) => setTimeout(r, 20));
      }
      return "never";
    };
    assert.equal(await connectOnce(), "exposed");
    net.setUp(false, { persist: true });
    // The poll (every 20 ms) notices and closes the listener; allow for a loaded machine.
    const tryConnect = () =>
      new Promise<string>((res) => {
        const s = nodeNet.connect(linkPort, "127.0.0.1");
        s.on("connect", () => (s.destroy(), res("connected")));
        s.on("error", (e: Error & { code?: string }) => res(e.code ?? "error"));
      });
    let refused = await tryConnect();
    for (let i = 0; i < 100 && refused !== "ECONNREFUSED"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      refused = await tryConnect();
    }
    assert.equal(refused, "ECONNREFUSED", "while the link is down the link port is closed");
    net.setUp(true);
    assert.equal(await connectOnce(), "exposed");
  } finally {
    await ex.close();
  }
});
