import { test } from "node:test";
import assert from "node:assert/strict";
import * as dnsPacket from "dns-packet";
import { DnsForwarder } from "../../../proxy/masquerade/dns-forwarder.js";
import { Counters } from "../../../proxy/log.js";

const hosts: Record<string, string[]> = { "files.test": ["127.0.0.1"], "two.test": ["10.200.0.1", "10.200.0.2"] };
const lookup = async (name: string, family: 4 | 6) => {
  const a = family === 4 ? hosts[name] : undefined;
  // As dns.lookup does: ENOTFOUND both for an unknown name and for a known name without this family.
  if (!a) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
  return a;
};

function query(name: string, type: "A" | "AAAA", id = 7): Buffer {
  return dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
}

test("A questions are answered from the host's lookup, with the query id", async () => {
  const f = new DnsForwarder(new Counters(), () => {}, lookup);
  const r = dnsPacket.decode(Buffer.from((await f.answer(query("two.test", "A", 4242)))!));
  assert.equal(r.id, 4242);
  assert.equal(r.flags! & 0xf, 0);
  assert.deepEqual(r.answers!.map((a) => (a as { data: string }).data), ["10.200.0.1", "10.200.0.2"]);
});

test("an unknown name is NXDOMAIN; a name without that family is an empty NOERROR", async () => {
  const f = new DnsForwarder(new Counters(), () => {}, lookup);
  const nx = dnsPacket.decode(Buffer.from((await f.answer(query("nope.test", "A")))!));
  assert.equal((nx.flags! & 0xf), 3);
  const empty = dnsPacket.decode(Buffer.from((await f.answer(query("files.test", "AAAA")))!));
  assert.equal((empty.flags! & 0xf), 0);
  assert.equal(empty.answers!.length, 0);
});

test("a malformed query is dropped and counted, never thrown", async () => {
  const c = new Counters();
  const f = new DnsForwarder(c, () => {}, lookup);
  assert.equal(await f.answer(new Uint8Array([1, 2, 3])), undefined);
  assert.equal(c.get("dns.malformed"), 1);
});
