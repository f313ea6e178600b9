/** Golden debug lines in pppd's format (lcp.c/ipcp.c *_printpkt, main.c format_packet); secrets as <hidden>. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { debugLine, formatPacket } from "../../../src/ppp/printer.js";
import { describeAuthPacket } from "../../../src/ppp/auth/index.js";
import { ScriptedPeer, hex, logTexts, session } from "./harness.js";

const pkt = (code: number, id: number, body: string): Uint8Array => {
  const b = body.trim() ? hex(body) : new Uint8Array(0);
  return Uint8Array.of(code, id, 0, 4 + b.length, ...b);
};
const LCP = 0xc021;
const IPCP = 0x8021;

const GOLDEN: [string, number, Uint8Array, string][] = [
  ["pppd's own ConfReq", LCP, pkt(1, 1, "02 06 00 00 00 00 05 06 5f 3c 0a 12 07 02 08 02"),
    "sent [LCP ConfReq id=0x1 <asyncmap 0x0> <magic 0x5f3c0a12> <pcomp> <accomp>]"],
  ["ConfAck with mru and auth pap", LCP, pkt(2, 1, "01 04 05 dc 03 04 c0 23"), "rcvd [LCP ConfAck id=0x1 <mru 1500> <auth pap>]"],
  ["auth chap MD5 / MS-v2", LCP, pkt(1, 2, "03 05 c2 23 05 03 05 c2 23 81"), "rcvd [LCP ConfReq id=0x2 <auth chap MD5> <auth chap MS-v2>]"],
  ["Windows options", LCP,
    pkt(1, 3, "01 04 05 78 0d 03 06 11 04 06 4e 13 17 01 2f 5e 9b 3a 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff 00 17 04 00 01"),
    "rcvd [LCP ConfReq id=0x3 <mru 1400> <callback CBCP> <mrru 1614> <endpoint [local:2f.5e.9b.3a.11.22.33.44.55.66.77.88.99.aa.bb.cc.dd.ee.ff.00]> < 17 04 00 01>]"],
  ["wrong-length option printed as hex", LCP, pkt(4, 4, "01 03 05"), "sent [LCP ConfRej id=0x4 < 01 03 05>]"],
  ["echo request", LCP, pkt(9, 0, "12 34 56 78"), "rcvd [LCP EchoReq id=0x0 magic=0x12345678]"],
  ["identification", LCP, pkt(12, 5, "12 34 56 78 4d 53 52 41 53 56 35 2e 32 30"), "rcvd [LCP Ident id=0x5 magic=0x12345678 \"MSRASV5.20\"]"],
  ["terminate request", LCP, pkt(5, 2, "55 73 65 72 20 72 65 71 75 65 73 74"), "sent [LCP TermReq id=0x2 \"User request\"]"],
  ["terminate ack", LCP, pkt(6, 2, ""), "rcvd [LCP TermAck id=0x2]"],
  ["protocol reject", LCP, pkt(8, 3, "80 57 01 01 00 0e 01 0a 11 22 33 44 55 66 77 88"),
    "sent [LCP ProtRej id=0x3 80 57 01 01 00 0e 01 0a 11 22 33 44 55 66 77 88]"],
  ["IPCP Nak", IPCP, pkt(3, 1, "03 06 c0 a8 07 02"), "sent [IPCP ConfNak id=0x1 <addr 192.168.7.2>]"],
  ["IPCP DNS and WINS (ms-dns1/ms-dns2 as pppd 2.4.9)", IPCP, pkt(1, 1, "03 06 00 00 00 00 81 06 0a 00 00 01 82 06 00 00 00 00 83 06 0a 00 00 02 02 06 00 2d 0f 01"),
    "rcvd [IPCP ConfReq id=0x1 <addr 0.0.0.0> <ms-dns1 10.0.0.1> <ms-wins 0.0.0.0> <ms-dns2 10.0.0.2> <compress VJ 0f 01>]"],
  ["unknown protocol", 0x8057, hex("01 01 00 0e 01 0a 11 22 33 44 55 66 77 88"), "rcvd [proto=0x8057] 01 01 00 0e 01 0a 11 22 33 44 55 66 77 88"],
  ["unknown LCP code", LCP, pkt(0x20, 7, "aa"), "rcvd [LCP code=0x20 id=0x7 aa]"],
  ["CCP by name, as pppd 2.4.9 sent it to us in the QEMU guest", 0x80fd, hex("01 01 00 0f 1a 04 78 00 18 04 78 00 15 03 2f"),
    "rcvd [CCP ConfReq id=0x1 <deflate 15> <deflate(old#) 15> <bsd v1 15>]"],
];

for (const [name, proto, info, line] of GOLDEN) {
  test(`golden: ${name}`, () => {
    const dir = line.startsWith("sent") ? "sent" : "rcvd";
    assert.equal(debugLine(dir, proto, info), line);
  });
}

test("long leftovers are cut at 32 bytes with ' ...' as pppd does", () => {
  const body = new Uint8Array(40).fill(0xab);
  const s = formatPacket(LCP, pkt(8, 1, [...body].map((b) => b.toString(16)).join(" ")));
  assert.equal(s, "[LCP ProtRej id=0x1" + " ab".repeat(32) + " ...]");
});

test("PAP packets: the auth describer hides the password; without one, all payload is hidden", () => {
  const user = [..."zaphod"].map((c) => c.charCodeAt(0));
  const pass = [..."s3cret"].map((c) => c.charCodeAt(0));
  const body = [user.length, ...user, pass.length, ...pass];
  const req = Uint8Array.of(1, 1, 0, 4 + body.length, ...body);
  assert.equal(debugLine("sent", 0xc023, req, describeAuthPacket), 'sent [PAP AuthReq id=0x1 user="zaphod" password=<hidden>]');
  assert.equal(debugLine("sent", 0xc023, req), "sent [PAP AuthReq id=0x1 <hidden>]");
  assert.ok(!debugLine("sent", 0xc023, req, describeAuthPacket).includes("s3cret"));
});

test("a debug session logs every control packet it sends and receives in pppd's format", () => {
  const s = session({ debug: true, requireAuth: ["pap"], papSecrets: [{ client: "zaphod", server: "*", secret: "s3cret", addresses: [], origin: "t" }] }, 42);
  const peer = new ScriptedPeer(s);
  s.open(0);
  peer.request(LCP, hex("05 06 12 34 56 78"));
  const user = [..."zaphod"].map((c) => c.charCodeAt(0));
  const pass = [..."s3cret"].map((c) => c.charCodeAt(0));
  peer.sendPacket(0xc023, 1, 1, Uint8Array.of(user.length, ...user, pass.length, ...pass));
  const logs = logTexts(peer.events);
  assert.match(logs.find((l) => l.startsWith("sent [LCP ConfReq"))!, /^sent \[LCP ConfReq id=0x1 <asyncmap 0x0> <auth pap> <magic 0x[0-9a-f]{1,8}> <pcomp> <accomp>\]$/);
  assert.ok(logs.includes("rcvd [LCP ConfReq id=0x41 <magic 0x12345678>]"), logs.join("\n"));
  assert.ok(logs.includes("sent [LCP ConfAck id=0x41 <magic 0x12345678>]"));
  assert.ok(logs.includes('rcvd [PAP AuthReq id=0x1 user="zaphod" password=<hidden>]'), logs.join("\n"));
  for (const l of logs) assert.ok(!l.includes("s3cret"), `secret leaked: ${l}`);
});
