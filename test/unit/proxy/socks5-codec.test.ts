/**
 * SOCKS5 codec (proxy/socks5-codec.ts) vectors from RFC 1928/1929 message
 * layouts, incremental feeding, seeded random input (never throws), and the
 * REP mapping of socks5-server.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SeededRng } from "../../../stack/util/rng.js";
import {
  REP,
  encodeReply,
  encodeUdpDatagram,
  parseGreeting,
  parseRequest,
  parseUdpHeader,
  parseUserPass,
  v4MappedToIp4,
  type Parsed,
} from "../../../proxy/socks5-codec.js";
import { repForError, isLoopbackHost } from "../../../proxy/socks5-server.js";
import { codedError } from "../../../proxy/log.js";

const u8 = (a: number[]) => Uint8Array.from(a);

/** Every strict prefix is need-more; the whole (plus trailing junk) is ok with the right bytesRead. */
function checkIncremental<T>(parse: (b: Uint8Array) => Parsed<T>, msg: number[]): T {
  for (let i = 0; i < msg.length; i++) assert.equal(parse(u8(msg.slice(0, i))).kind, "need-more", `prefix ${i} of ${msg}`);
  const r = parse(u8([...msg, 0xaa, 0xbb]));
  assert.equal(r.kind, "ok");
  assert.equal((r as { bytesRead: number }).bytesRead, msg.length);
  return (r as { value: T }).value;
}

test("greeting: VER NMETHODS METHODS", () => {
  assert.deepEqual(checkIncremental(parseGreeting, [5, 2, 0, 2]), { methods: [0, 2] });
  assert.equal(parseGreeting(u8([4, 1, 0])).kind, "bad");
  assert.equal(parseGreeting(u8([5, 0])).kind, "bad");
});

test("RFC 1929 username/password", () => {
  const v = checkIncremental(parseUserPass, [1, 3, ...Buffer.from("bob"), 2, ...Buffer.from("pw")]);
  assert.deepEqual(v, { username: "bob", password: "pw" });
  assert.equal(parseUserPass(u8([2, 0, 0])).kind, "bad");
});

test("request: IPv4, domain, IPv6; unknown atype -> REP 8; bad version -> bad", () => {
  assert.deepEqual(checkIncremental(parseRequest, [5, 1, 0, 1, 192, 0, 2, 1, 0x1f, 0x90]), {
    cmd: 1,
    dst: { atyp: 1, host: "192.0.2.1" },
    port: 8080,
  });
  const d = checkIncremental(parseRequest, [5, 3, 0, 3, 6, ...Buffer.from("a.test"), 0, 53]);
  assert.deepEqual(d, { cmd: 3, dst: { atyp: 3, host: "a.test" }, port: 53 });
  const v6 = checkIncremental(parseRequest, [5, 1, 0, 4, ...Array(10).fill(0), 0xff, 0xff, 10, 1, 2, 3, 0, 80]);
  assert.equal(v6.dst.host, "0:0:0:0:0:ffff:a01:203");
  assert.equal(v4MappedToIp4((v6.dst as { bytes: Uint8Array }).bytes), "10.1.2.3");
  const bad = parseRequest(u8([5, 1, 0, 9, 1, 2, 3, 4, 0, 80]));
  assert.deepEqual(bad.kind === "bad" && bad.rep, REP.ATYP_NOT_SUPPORTED);
  assert.equal(parseRequest(u8([4, 1, 0, 1])).kind, "bad");
});

test("replies and UDP datagrams encode as RFC 1928 §6/§7 lay them out", () => {
  assert.deepEqual([...encodeReply(REP.SUCCEEDED, "192.168.7.2", 40000)], [5, 0, 0, 1, 192, 168, 7, 2, 0x9c, 0x40]);
  assert.deepEqual([...encodeReply(REP.CONNECTION_REFUSED)], [5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
  const dg = encodeUdpDatagram("192.0.2.9", 53, u8([0xde, 0xad]));
  assert.deepEqual([...dg], [0, 0, 0, 1, 192, 0, 2, 9, 0, 53, 0xde, 0xad]);
  const back = parseUdpHeader(dg);
  assert.ok(back.kind === "ok");
  assert.equal(back.value.frag, 0);
  assert.equal(back.value.dst.host, "192.0.2.9");
  assert.deepEqual([...back.value.data], [0xde, 0xad]);
  assert.equal(parseUdpHeader(u8([0, 1, 0, 1, 1, 2, 3, 4, 0, 1])).kind, "bad", "RSV != 0");
  assert.equal(parseUdpHeader(u8([0, 0, 0, 1, 1, 2])).kind, "bad", "truncated");
});

test("seeded random input never throws", () => {
  const rng = new SeededRng(0xc0dec);
  for (let i = 0; i < 5000; i++) {
    const b = rng.fill(new Uint8Array(rng.below(40)));
    if (rng.below(2)) b[0] = 5;
    try {
      parseGreeting(b);
      parseUserPass(b);
      parseRequest(b);
      parseUdpHeader(b);
    } catch (err) {
      assert.fail(`seed ${rng.seed} iteration ${i} input ${Buffer.from(b).toString("hex")}: ${err}`);
    }
  }
});

test("REP for errors (RFC 1928 §6)", () => {
  const cases: [string, string, number][] = [
    ["ECONNREFUSED", "refused", 5],
    ["ENETUNREACH", "x", 3],
    ["ENETDOWN", "x", 3],
    ["EHOSTUNREACH", "x", 4],
    ["ETIMEDOUT", "connect timed out", 4],
    ["ETIMEDOUT", "ICMP time exceeded: TTL expired in transit", 6],
    ["ENODNS", "x", 4],
    ["ENOTFOUND", "x", 4],
    ["EAFNOSUPPORT", "x", 8],
    ["EWHATEVER", "x", 1],
  ];
  for (const [code, msg, rep] of cases) assert.equal(repForError(codedError(code, msg)), rep, `${code} ${msg}`);
  assert.equal(repForError(new Error("no code")), 1);
});

test("loopback listen hosts", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1"]) assert.ok(isLoopbackHost(h), h);
  for (const h of ["0.0.0.0", "192.168.1.5", "::"]) assert.ok(!isLoopbackHost(h), h);
});
