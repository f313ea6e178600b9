/**
 * The server watches several lines at once, gives callers addresses from a
 * pool, and after a hang-up waits for the next call on the same line (the
 * HOWTO's inittab respawn) within one process.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../../src/config/load.js";
import { createNullModem, type NullModem } from "../../../src/link/null-modem.js";
import { Server } from "../../../src/app/server.js";
import { Client } from "../../../src/app/client.js";
import { AddressPool } from "../../../src/app/address-pool.js";
import type { LineUp } from "../../../src/app/ppp-line.js";

const quiet = () => {};

function serverLine() {
  return { config: loadConfig(["noauth"], { role: "serve", readFile: () => undefined, statMode: () => undefined, hostname: "server" }) };
}

function client(modem: NullModem, logs: string[]): Client {
  const cfg = loadConfig(["noauth"], { role: "dial", readFile: () => undefined, statMode: () => undefined, hostname: "laptop" });
  return new Client({
    config: cfg,
    log: (l, t) => logs.push(t),
    socks: null,
    http: null,
    openLine: async () => ({ link: modem.reopen("b"), release: () => {} }),
  });
}

test("two lines, addresses from the pool, and a respawn after hang-up", async () => {
  const modems = [createNullModem({ baud: 2_000_000 }), createNullModem({ baud: 2_000_000 })];
  const opened = [0, 0];
  const lines = [serverLine(), serverLine()];
  const server = new Server({
    lines,
    log: quiet,
    pool: AddressPool.parse("192.168.7.10-192.168.7.11"),
    openLine: async (line) => {
      const i = lines.indexOf(line);
      opened[i]++;
      return { link: modems[i].reopen("a"), release: () => {} };
    },
  });
  await server.start();
  const logs: string[] = [];
  const c1 = client(modems[0], logs);
  const c2 = client(modems[1], logs);
  const up1 = new Promise<LineUp>((r) => c1.once("up", r));
  const up2 = new Promise<LineUp>((r) => c2.once("up", r));
  await c1.start();
  await c2.start();
  const [a, b] = await Promise.all([up1, up2]);
  assert.deepEqual([a.local, b.local].sort(), ["192.168.7.10", "192.168.7.11"]);
  assert.equal(a.remote, "192.168.7.1");
  assert.equal(server.active.length, 2);

  // The first caller hangs up; its line waits again and a new caller gets the freed address.
  // The first caller (on line 0) hangs up.
  const freed = a.local;
  await c1.stop();
  const settled = () => server.active.length === 1 && opened[0] === 2;
  for (let i = 0; i < 200 && !settled(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(server.active.length, 1);
  assert.equal(opened[0], 2, "the line was opened again after the hang-up");
  const c3 = client(modems[0], logs);
  const up3 = new Promise<LineUp>((r) => c3.once("up", r));
  await c3.start();
  assert.equal((await up3).local, freed);
  await c3.stop();
  await c2.stop();
  await server.stop();
  for (const m of modems) m.close();
});
