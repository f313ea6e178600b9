/** LCP against scripted peers: Windows options, LCP-only codes, echo keepalive, loopback, auth option negotiation. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ScriptedPeer, hex, ip, logTexts, session } from "./harness.js";
import { parseOptions } from "../../../src/ppp/options.js";
import { fcs16 } from "../../../src/ppp/fcs.js";
import type { SessionEvent } from "../../../src/ppp/session.js";

const LCP = 0xc021;
const WINDOWS_LCP_REQ = hex(`
  01 04 05 78  02 06 00 00 00 00  05 06 12 34 56 78  07 02  08 02
  0d 03 06  11 04 06 4e
  13 17 01 2f 5e 9b 3a 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff 00
  17 04 00 01`);
const REJECTED = hex(`0d 03 06  11 04 06 4e  13 17 01 2f 5e 9b 3a 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff 00  17 04 00 01`);

function answering(over = {}, seed = 3) {
  return session({ localIp: ip("192.168.7.1"), remoteIp: ip("192.168.7.2"), msDns: [ip("10.0.0.1")], ...over }, seed);
}

function openWithWindowsPeer(over = {}) {
  const s = answering(over);
  const peer = new ScriptedPeer(s);
  s.open(0);
  peer.pump();
  peer.request(LCP, WINDOWS_LCP_REQ);
  return { s, peer };
}

test("Windows-style LCP ConfReq (mru 1400, callback CBCP, MRRU, endpoint, option 0x17) converges", () => {
  const { s, peer } = openWithWindowsPeer();
  const rej = peer.got(LCP, 4);
  assert.equal(rej.length, 1);
  assert.deepEqual(rej[0].info.subarray(4), REJECTED, "exactly the four unknown options are rejected, in one ConfRej");
  assert.equal(s.lcp.fsm.state, "Opened");
  assert.equal(s.phase, "network");
  assert.equal(s.mtu, 1400, "our MTU follows the peer's MRU");
  assert.equal(peer.got(LCP, 2).length, 1, "the trimmed request is Acked");
});

test("MRU below 128 is Nak'd with 128 (pppd PPP_MINMRU)", () => {
  const s = answering();
  const peer = new ScriptedPeer(s);
  s.open(0);
  peer.request(LCP, hex("01 04 00 40 05 06 12 34 56 78"));
  const nak = peer.got(LCP, 3);
  assert.deepEqual(nak[0].info.subarray(4), hex("01 04 00 80"));
  assert.equal(s.lcp.fsm.state, "Opened");
});

test("Identification (code 12), Discard-Request and Time-Remaining are accepted silently; an unknown code gets a Code-Reject", () => {
  const { s, peer } = openWithWindowsPeer();
  peer.sendPacket(LCP, 12, 0x10, hex("12 34 56 78 4d 53 52 41 53 56 35 2e 32 30")); // "MSRASV5.20"
  peer.sendPacket(LCP, 11, 0x11, hex("12 34 56 78"));
  peer.sendPacket(LCP, 13, 0x12, hex("12 34 56 78 00 00 0e 10"));
  assert.equal(peer.got(LCP, 7).length, 0, "no Code-Reject for 11/12/13");
  peer.sendPacket(LCP, 0x20, 0x13, hex("aa bb"));
  const cj = peer.got(LCP, 7);
  assert.equal(cj.length, 1);
  assert.deepEqual(cj[0].info.subarray(4), hex("20 13 00 06 aa bb"));
  assert.equal(s.lcp.fsm.state, "Opened");
});

test("Echo-Request is answered in Opened with our magic; not before", () => {
  const s = answering();
  const peer = new ScriptedPeer(s);
  s.open(0);
  peer.sendPacket(LCP, 9, 1, hex("12 34 56 78")); // LCP not Opened yet
  assert.equal(peer.got(LCP, 10).length, 0);
  peer.request(LCP, hex("05 06 12 34 56 78"));
  assert.equal(s.lcp.fsm.state, "Opened");
  peer.sendPacket(LCP, 9, 2, hex("12 34 56 78 de ad"));
  const rep = peer.got(LCP, 10);
  assert.equal(rep.length, 1);
  assert.equal(rep[0].info[1], 2);
  const magic = s.lcp.got.magic!;
  assert.deepEqual([...rep[0].info.subarray(4, 8)], [magic >>> 24, (magic >>> 16) & 255, (magic >>> 8) & 255, magic & 255]);
  assert.deepEqual(rep[0].info.subarray(8), hex("de ad"));
});

test("LCP echo keepalive: 4 unanswered echo-requests, then 'No response to 4 echo-requests' and the link closes", () => {
  const s = answering({ lcpEchoInterval: 10, lcpEchoFailure: 4 });
  const peer = new ScriptedPeer(s);
  s.open(0);
  peer.request(LCP, hex("05 06 12 34 56 78"));
  peer.autoNegotiate = false; // a dead peer from now on
  for (let i = 0; i < 6; i++) peer.advance(10_000);
  // The first echo (sent the moment LCP opened) was still answered by the scripted peer; four more go unanswered.
  const echoes = peer.got(LCP, 9);
  assert.equal(echoes.length, 5);
  assert.deepEqual(echoes.map((e) => e.info[1]), [0, 1, 2, 3, 4]);
  const logs = logTexts(peer.events);
  assert.ok(logs.includes("No response to 4 echo-requests"), logs.join("\n"));
  assert.ok(logs.includes("Serial link appears to be disconnected."));
  assert.ok(peer.got(LCP, 5).length >= 1, "Terminate-Request sent");
  const term = peer.got(LCP, 5)[0];
  assert.equal(new TextDecoder().decode(term.info.subarray(4)), "Peer not responding");
});

test("echo replies keep the link up", () => {
  const s = answering({ lcpEchoInterval: 10, lcpEchoFailure: 2 });
  const peer = new ScriptedPeer(s);
  s.open(0);
  peer.request(LCP, hex("05 06 12 34 56 78"));
  for (let i = 0; i < 10; i++) {
    for (const e of peer.got(LCP, 9).slice(i)) peer.sendPacket(LCP, 10, e.info[1], hex("12 34 56 78"));
    peer.advance(10_000);
  }
  assert.equal(s.lcp.fsm.state, "Opened");
  assert.equal(peer.got(LCP, 5).length, 0);
});

test("magic-number loopback: a session wired to itself detects 'Serial line is looped back.'", () => {
  const s = answering({}, 11);
  s.open(0);
  const events: SessionEvent[] = [];
  let now = 0;
  for (let i = 0; i < 2000 && s.phase !== "dead"; i++) {
    let moved = false;
    for (let b = s.pollTransmit(); b; b = s.pollTransmit()) {
      s.handleInput(b, now);
      moved = true;
    }
    if (!moved) {
      const t = s.pollTimeout();
      if (t === undefined) break;
      now = t;
      s.handleTimeout(now);
    }
  }
  for (let e = s.pollEvent(); e; e = s.pollEvent()) events.push(e);
  const logs = logTexts(events);
  assert.ok(logs.includes("Serial line is looped back."), logs.join("\n"));
  assert.equal(s.phase, "dead");
  assert.deepEqual(events.filter((e) => e.type === "dead"), [{ type: "dead", reason: "Loopback detected" }]);
});

test("authenticator: peer Naks CHAP suggesting PAP, which we also accept: we switch to PAP", () => {
  const s = answering({ requireAuth: ["chap-md5", "pap"] });
  const peer = new ScriptedPeer(s);
  peer.autoNegotiate = false;
  s.open(0);
  peer.pump();
  const req1 = peer.got(LCP, 1)[0];
  const auth1 = parseOptions(req1.info.subarray(4)).options.find((o) => o.type === 3)!;
  assert.deepEqual(auth1.data, hex("c2 23 05"));
  peer.sendPacket(LCP, 3, req1.info[1], hex("03 04 c0 23"));
  const req2 = peer.got(LCP, 1)[1];
  const auth2 = parseOptions(req2.info.subarray(4)).options.find((o) => o.type === 3)!;
  assert.deepEqual(auth2.data, hex("c0 23"));
});

test("authenticator: peer rejects the auth option: 'peer refused to authenticate: terminating link'", () => {
  const s = answering({ requireAuth: ["pap"] });
  const peer = new ScriptedPeer(s);
  peer.autoNegotiate = false;
  s.open(0);
  peer.pump();
  const req1 = peer.got(LCP, 1)[0];
  peer.sendPacket(LCP, 4, req1.info[1], hex("03 04 c0 23"));
  const req2 = peer.got(LCP, 1)[1];
  peer.sendPacket(LCP, 2, req2.info[1], req2.info.subarray(4));
  peer.request(LCP, hex("05 06 12 34 56 78"));
  assert.ok(logTexts(peer.events).includes("peer refused to authenticate: terminating link"));
  assert.equal(peer.got(LCP, 5).length, 1, "Terminate-Request");
});

test("peer side: asked for PAP which we refuse, we Nak with CHAP MS-v2; a second auth option is rejected", () => {
  const s = session({ refuseAuth: ["pap"], user: "u", password: "p" }, 5);
  const peer = new ScriptedPeer(s);
  s.open(0);
  peer.request(LCP, hex("03 04 c0 23 05 06 12 34 56 78"));
  assert.deepEqual(peer.got(LCP, 3)[0].info.subarray(4), hex("03 05 c2 23 81"));
  const s2 = session({ user: "u", password: "p" }, 6);
  const peer2 = new ScriptedPeer(s2);
  s2.open(0);
  peer2.autoNegotiate = false;
  peer2.request(LCP, hex("03 05 c2 23 05 03 04 c0 23"));
  assert.deepEqual(peer2.got(LCP, 4)[0].info.subarray(4), hex("03 04 c0 23"));
});

test("Protocol-Reject: IPv6CP is rejected in Network phase, silently discarded before it", () => {
  const s = answering();
  const peer = new ScriptedPeer(s);
  s.open(0);
  const v6cp = hex("01 01 00 0e 01 0a 11 22 33 44 55 66 77 88");
  peer.send(0x8057, v6cp); // Establish phase: discarded
  assert.equal(peer.got(LCP, 8).length, 0);
  peer.request(LCP, hex("05 06 12 34 56 78"));
  assert.equal(s.phase, "network");
  peer.send(0x8057, v6cp);
  const pr = peer.got(LCP, 8);
  assert.equal(pr.length, 1);
  assert.deepEqual(pr[0].info.subarray(4), Uint8Array.of(0x80, 0x57, ...v6cp));
  assert.equal(s.stats.drops["protocol-rejected"], 1);
  assert.equal(s.stats.drops["wrong-phase"], 1);
});

test("kernel-style Echo-Request (no FF 03, ACFC negotiated) is answered", () => {
  const s = answering();
  const peer = new ScriptedPeer(s);
  s.open(0);
  peer.request(LCP, hex("02 06 00 00 00 00 05 06 12 34 56 78 07 02 08 02"));
  assert.equal(s.lcp.fsm.state, "Opened");
  // What Linux ppp_async sends with ACFC on: c0 21 09 ... and no address/control field.
  const body = hex("c0 21 09 07 00 08 12 34 56 78");
  const fcs = fcs16(body) ^ 0xffff;
  const raw = [...body, fcs & 0xff, fcs >>> 8];
  const framed = [0x7e];
  for (const b of raw) framed.push(...(b < 0x20 || b === 0x7d || b === 0x7e ? [0x7d, b ^ 0x20] : [b]));
  framed.push(0x7e);
  peer.sendRaw(Uint8Array.from(framed));
  const rep = peer.got(LCP, 10);
  assert.equal(rep.length, 1);
  assert.equal(rep[0].info[1], 7);
});

test("a stubborn peer that Naks our MRU forever: after Max-Failure (5) Naks we stop asking and LCP opens", () => {
  const s = answering({ mru: 1400 });
  const peer = new ScriptedPeer(s);
  peer.manual.add(LCP);
  s.open(0);
  peer.pump();
  for (let i = 0; i < 12 && s.lcp.fsm.state !== "Opened"; i++) {
    const req = peer.got(LCP, 1).at(-1)!;
    const opts = parseOptions(req.info.subarray(4)).options;
    if (opts.some((o) => o.type === 1)) peer.sendPacket(LCP, 3, req.info[1], hex(`01 04 05 ${(0x10 + i).toString(16)}`));
    else {
      peer.sendPacket(LCP, 2, req.info[1], req.info.subarray(4));
      peer.sendPacket(LCP, 1, 0x70, hex("05 06 12 34 56 78"));
    }
  }
  assert.equal(s.lcp.fsm.state, "Opened");
  const reqs = peer.got(LCP, 1).map((r) => parseOptions(r.info.subarray(4)).options.find((o) => o.type === 1)?.data);
  assert.deepEqual(reqs.slice(0, 6).map((d) => d && [...d]), [[0x05, 0x78], [0x05, 0x10], [0x05, 0x11], [0x05, 0x12], [0x05, 0x13], undefined],
    "MRU asked, then each Nak'd value taken, then dropped after the 5th Nak");
});
