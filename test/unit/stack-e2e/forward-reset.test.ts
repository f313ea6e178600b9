/**
 * A forwarded connection whose peer gives up before the handshake completes
 * (the peer's RST answers our SYN-ACK) must close its socket, or the
 * masquerade would hold the host connection open for ever.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NodeStack } from "../../../stack/node/node-stack.js";
import { joinStacks } from "./memory-link.js";

test("forwarded sockets reset in SYN-RECEIVED close with ECONNRESET", async () => {
  const client = new NodeStack({ address: "192.168.7.2" });
  const server = new NodeStack({ address: "192.168.7.1" });
  joinStacks(client, server);
  const closes: Array<string | undefined> = [];
  const accepted = new Promise<void>((resolve) => {
    let n = 0;
    server.setTcpForwarder((req) => {
      // Decide only after the client has already given up on half of them.
      setTimeout(() => {
        const s = req.accept();
        let code: string | undefined;
        s.on("error", (e: NodeJS.ErrnoException) => (code = e.code));
        s.on("close", () => {
          closes.push(code);
          if (++n === 10) resolve();
        });
      }, 20);
    });
  });
  for (let i = 0; i < 10; i++) {
    const s = client.connect({ host: "10.1.1.1", port: 80 });
    s.on("error", () => {});
    setTimeout(() => s.destroy(), i % 2 ? 1 : 100);
  }
  await accepted;
  assert.equal(closes.length, 10);
  assert.ok(closes.every((c) => c === "ECONNRESET"), JSON.stringify(closes));
  client.close();
  server.close();
});
