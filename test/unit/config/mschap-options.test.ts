/**
 * The MS-CHAP (version 1) option words: `require-mschap` and `refuse-mschap`
 * reach SessionConfig the way their MS-CHAPv2 siblings do; pppd's preference
 * order among several required CHAP digests; the warning when no secret fits.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, type LoadOptions } from "../../../src/config/load.js";
import { ConfigError } from "../../../src/config/config-error.js";

function fakeFs(files: Record<string, string>): Pick<LoadOptions, "readFile" | "statMode" | "env" | "hostname"> {
  return { readFile: (p) => files[p], statMode: (p) => (p in files ? 0o600 : undefined), env: {}, hostname: "server" };
}
const CHAP = { "/etc/ppp/chap-secrets": "zaphod server gargleBlaster *\n" };
const PAP = { "/etc/ppp/pap-secrets": "zaphod * gargleBlaster\n" };

test("require-mschap: requires MS-CHAP only, and implies auth even when dialling", () => {
  assert.deepEqual(loadConfig(["require-mschap"], { role: "serve", ...fakeFs(CHAP) }).session.requireAuth, ["mschap"]);
  assert.deepEqual(loadConfig(["require-mschap"], { role: "dial", ...fakeFs(CHAP) }).session.requireAuth, ["mschap"]);
  // a later noauth wins, as for the other require-* words
  assert.deepEqual(loadConfig(["require-mschap", "noauth"], { role: "serve", ...fakeFs(CHAP) }).session.requireAuth, []);
});

test("several require-* words: pppd's CHAP_DIGEST order (MD5, MS-CHAPv2, MS-CHAP), then PAP", () => {
  const files = { ...CHAP, ...PAP };
  assert.deepEqual(
    loadConfig(["require-pap", "require-mschap", "require-chap", "require-mschap-v2"], { role: "serve", ...fakeFs(files) }).session.requireAuth,
    ["chap-md5", "mschapv2", "mschap", "pap"],
  );
  assert.deepEqual(loadConfig(["require-mschap", "require-mschap-v2"], { role: "serve", ...fakeFs(files) }).session.requireAuth, ["mschapv2", "mschap"]);
});

test("require-mschap without a chap-secrets line: warned by its own name, and auth then fails as pppd's does", () => {
  const c = loadConfig(["require-mschap", "require-pap"], { role: "serve", ...fakeFs(PAP) });
  assert.deepEqual(c.session.requireAuth, ["pap"]);
  assert.ok(c.warnings.some((w) => w.startsWith("require-mschap: no suitable secret for server in /etc/ppp/chap-secrets")), c.warnings.join("\n"));
  assert.throws(() => loadConfig(["require-mschap"], { role: "serve", ...fakeFs(PAP) }), (e: unknown) => e instanceof ConfigError && /noauth/.test(e.message));
});

test("refuse-mschap: reaches refuseAuth; without it MS-CHAP is not refused", () => {
  assert.deepEqual(loadConfig(["refuse-mschap"], { role: "dial", ...fakeFs({}) }).session.refuseAuth, ["mschap"]);
  assert.deepEqual(loadConfig(["refuse-mschap", "refuse-mschap-v2"], { role: "dial", ...fakeFs({}) }).session.refuseAuth, ["mschap", "mschapv2"]);
  assert.deepEqual(loadConfig([], { role: "dial", ...fakeFs({}) }).session.refuseAuth, []);
});
