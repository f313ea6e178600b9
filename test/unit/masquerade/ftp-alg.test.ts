import { test } from "node:test";
import assert from "node:assert/strict";
import { PasvRewriter } from "../../../proxy/masquerade/ftp-alg.js";

async function through(chunks: string[]): Promise<string> {
  const r = new PasvRewriter("192.168.7.1");
  let out = "";
  r.on("data", (d: Buffer) => (out += d.toString("latin1")));
  for (const c of chunks) r.write(Buffer.from(c, "latin1"));
  r.end();
  await new Promise((resolve) => r.on("end", resolve));
  return out;
}

test("a 227 reply naming the host's loopback gets the server address", async () => {
  assert.equal(await through(["220 hi\r\n227 Entering Passive Mode (127,0,0,1,195,80).\r\n"]), "220 hi\r\n227 Entering Passive Mode (192,168,7,1,195,80).\r\n");
});

test("a 227 reply split across segments is still rewritten", async () => {
  const line = "227 Entering Passive Mode (127,0,0,1,4,1).\r\n";
  for (let cut = 1; cut < line.length; cut++) {
    assert.equal(await through([line.slice(0, cut), line.slice(cut)]), "227 Entering Passive Mode (192,168,7,1,4,1).\r\n", `cut at ${cut}`);
  }
});

test("other lines, other addresses and EPSV pass unchanged", async () => {
  const text = "229 Entering Extended Passive Mode (|||50000|)\r\n227 Entering Passive Mode (10,0,0,5,1,2).\r\n150 (127,0,0,1,1,1)\r\n";
  assert.equal(await through([text]), text);
});
