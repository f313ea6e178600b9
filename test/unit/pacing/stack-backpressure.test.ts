/**
 * NodeStack output backpressure as the PPP line uses it: while `output`
 * says false the stack cuts no TCP segment (a SYN retransmission waits in
 * the TCP core), an ICMP echo still goes out at once, and `outputReady()`
 * lets TCP go on. ManualClock + tick(), no sleeping.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NodeStack } from "../../../stack/node/node-stack.js";
import { ManualClock } from "../../../stack/util/time.js";
import { SeededRng } from "../../../stack/util/rng.js";

const CLIENT = "192.168.7.2";
const FAR = "192.168.7.1";

test("blocked: TCP waits in its core, ICMP passes; outputReady resumes TCP", async () => {
  const clock = new ManualClock(0);
  const s = new NodeStack({ address: CLIENT, rng: new SeededRng(21), clock });
  const sent: { proto: number; at: number }[] = [];
  let accept = false;
  s.output = (pk) => {
    sent.push({ proto: pk[9], at: clock.now() });
    return accept;
  };
  const sock = s.connect({ host: FAR, port: 80 });
  sock.on("error", () => {});
  await Promise.resolve();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent.map((x) => x.proto), [6], "the SYN went out and the link said false");
  // The SYN's RTO (1 s) falls due while blocked: no retransmission reaches the link.
  clock.advance(1500);
  s.tick();
  assert.deepEqual(sent.map((x) => x.proto), [6], "no TCP segment cut while blocked");
  const ping = s.ping(FAR, { timeoutMs: 5000 }).catch(() => undefined);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent.map((x) => x.proto), [6, 1], "the echo request passed while blocked");
  accept = true;
  s.outputReady();
  assert.deepEqual(sent.map((x) => x.proto), [6, 1, 6], "the SYN retransmission goes out once the link is ready");
  assert.equal(s.stats()["stack.txQueue"] ?? 0, 0);
  sock.destroy();
  s.close();
  await ping;
});
