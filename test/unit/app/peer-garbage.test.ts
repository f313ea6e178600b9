/**
 * Bad input from a peer stays that peer's problem: one caller floods its
 * line with random bytes, frames with garbage IP and malformed TCP/UDP/ICMP
 * while another caller on the same server keeps fetching, and the server
 * process never throws.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { once } from "node:events";
import { loadConfig } from "../../../src/config/load.js";
import { createNullModem } from "../../../src/link/null-modem.js";
import { Server } from "../../../src/app/server.js";
import { PppLine } from "../../../src/app/ppp-line.js";
import { defaultSessionConfig } from "../../../src/ppp/session-config.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { internetChecksum } from "../../../stack/wire/checksum.js";

const SEED = 20261125;

function garbageIp(rng: SeededRng): Uint8Array {
  const len = 20 + rng.below(200);
  const p = rng.fill(new Uint8Array(len));
  if (rng.below(2)) {
    // Mostly well-formed IPv4 headers with hostile contents, so they get past the first checks.
    p[0] = 0x45;
    p[2] = len >> 8;
    p[3] = len & 0xff;
    p[9] = [1, 6, 17, rng.below(256)][rng.below(4)];
    p[12] = 192; p[13] = 168; p[14] = 7; p[15] = 2;
    p[10] = 0; p[11] = 0;
    const c = internetChecksum(p.subarray(0, 20));
    p[10] = c >> 8;
    p[11] = c & 0xff;
  }
  return p;
}

test("one peer's garbage never touches another line, and the server survives", async () => {
  const web = http.createServer((_req, res) => res.end("ok")).listen(0, "127.0.0.1");
  await once(web, "listening");
  const webPort = (web.address() as net.AddressInfo).port;
  const modems = [createNullModem({ baud: 4_000_000 }), createNullModem({ baud: 4_000_000 })];
  const lines = [0, 1].map(() => ({ config: loadConfig(["noauth"], { role: "serve", readFile: () => undefined, statMode: () => undefined, hostname: "s" }) }));
  const errors: string[] = [];
  const server = new Server({
    lines,
    log: (l, t) => { if (l === "error") errors.push(t); },
    openLine: async (line) => ({ link: modems[lines.indexOf(line)].reopen("a"), release: () => {} }),
  });
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on("uncaughtException", onUncaught);
  await server.start();
  const peers = modems.map((m) => new PppLine({ config: defaultSessionConfig({ devname: "b" }), link: m.reopen("b"), log: () => {} }));
  const ups = peers.map((p) => new Promise((r) => p.once("up", r)));
  for (const p of peers) p.start();
  await Promise.all(ups);

  const rng = new SeededRng(SEED);
  const now = () => performance.now();
  const flood = (async () => {
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 50; i++) peers[1].session.sendIp(garbageIp(rng), now());
      modems[1].b.write(rng.fill(new Uint8Array(200 + rng.below(800))));
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  // Meanwhile the other caller fetches, again and again.
  const fetches = Array.from({ length: 10 }, () => new Promise<string>((resolve, reject) => {
    const s = peers[0].stack.connect({ host: "192.168.7.1", port: webPort });
    let got = "";
    s.on("connect", () => s.end("GET / HTTP/1.0\r\n\r\n"));
    s.on("data", (d: Buffer) => (got += d));
    s.on("end", () => resolve(got));
    s.on("error", reject);
  }));
  const bodies = await Promise.all(fetches);
  await flood;
  process.off("uncaughtException", onUncaught);
  assert.deepEqual(uncaught, [], `seed ${SEED}`);
  assert.ok(bodies.every((b) => b.endsWith("ok")), `seed ${SEED}`);
  const st = server.status();
  assert.equal(st.length, 2, `both calls still there (seed ${SEED})`);
  for (const p of peers) await p.hangup();
  await server.stop();
  for (const m of modems) m.close();
  web.close();
});
