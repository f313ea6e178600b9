/** A bug in a protocol core costs its line, not the process. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createNullModem } from "../../../src/link/null-modem.js";
import { PppLine } from "../../../src/app/ppp-line.js";
import { defaultSessionConfig } from "../../../src/ppp/session-config.js";

test("an exception inside the session hangs up that line and logs it; nothing is thrown", async () => {
  const modem = createNullModem({ baud: 1_000_000 });
  const logs: string[] = [];
  const line = new PppLine({ config: defaultSessionConfig({ devname: "a" }), link: modem.a, log: (l, t) => logs.push(`${l}: ${t}`) });
  line.session.handleInput = () => {
    throw new Error("boom");
  };
  line.start();
  const dead = once(line, "dead");
  modem.b.write(new Uint8Array([0x7e, 0xff, 0x03, 0xc0, 0x21]));
  const [reason] = (await dead) as [string];
  assert.match(reason, /internal error: boom/);
  assert.ok(logs.some((l) => /^error: internal error on nullmodem:a, hanging up: Error: boom/.test(l)), logs.join("\n"));
  modem.close();
});
