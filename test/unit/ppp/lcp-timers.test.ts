/** pppd's `lcp-restart`, `lcp-max-configure` and `remotename`, from the option words to the wire. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../../src/config/load.js";
import { PppSession } from "../../../src/ppp/session.js";
import { SeededRng } from "../../../stack/util/rng.js";

test("lcp-restart 5 lcp-max-configure 4: four ConfReqs five seconds apart, then the link is given up", () => {
  const cfg = loadConfig(["noauth", "lcp-restart", "5", "lcp-max-configure", "4"], { role: "dial", readFile: () => undefined, statMode: () => undefined, hostname: "h" });
  assert.equal(cfg.session.lcpRestartMs, 5000);
  assert.equal(cfg.session.lcpMaxConfigure, 4);
  const s = new PppSession(cfg.session, { rng: new SeededRng(1) });
  const sentAt: number[] = [];
  let dead = false;
  let now = 0;
  s.open(now);
  for (let guard = 0; guard < 100 && !dead; guard++) {
    for (let f = s.pollTransmit(); f; f = s.pollTransmit()) sentAt.push(now);
    for (let e = s.pollEvent(); e; e = s.pollEvent()) if (e.type === "dead") dead = true;
    const t = s.pollTimeout();
    if (t === undefined || dead) break;
    now = t;
    s.handleTimeout(now);
  }
  assert.ok(dead, "the link is given up after Max-Configure");
  assert.deepEqual(sentAt, [0, 5000, 10000, 15000]);
});

function papOutcome(clientWords: string[]): string[] {
  const files: Record<string, string> = { "/etc/ppp/pap-secrets": 'zaphod bigserver "for-bigserver"\nzaphod * "for-anyone"\n' };
  const opts = (hostname: string) => ({ readFile: (p: string) => files[p], statMode: () => 0o600, hostname });
  const client = new PppSession(loadConfig(["user", "zaphod", ...clientWords], { role: "dial", ...opts("laptop") }).session, { rng: new SeededRng(2) });
  const serverCfg = loadConfig(["require-pap"], { role: "serve", ...opts("bigserver") }).session;
  serverCfg.papSecrets = [{ client: "zaphod", server: "*", secret: "for-bigserver", addresses: [], origin: "test" }];
  const server = new PppSession(serverCfg, { rng: new SeededRng(3) });
  const logs: string[] = [];
  client.open(0);
  server.open(0);
  for (let moved = true, rounds = 0; moved && rounds < 200; rounds++) {
    moved = false;
    for (const [from, to] of [[client, server], [server, client]] as const) {
      for (let f = from.pollTransmit(); f; f = from.pollTransmit()) {
        to.handleInput(f, 0);
        moved = true;
      }
    }
    for (let e = client.pollEvent(); e; e = client.pollEvent()) if (e.type === "log") logs.push(e.text);
  }
  return logs;
}

test("remotename names the authenticator when we look up our PAP secret", () => {
  assert.ok(papOutcome(["remotename", "bigserver"]).includes("PAP authentication succeeded"));
  // Without it PAP has no authenticator name, so the `*` line's secret is sent, and refused.
  assert.ok(papOutcome([]).some((l) => /PAP authentication failed/.test(l)));
});
