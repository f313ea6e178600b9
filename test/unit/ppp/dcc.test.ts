/** Windows Direct Cable Connection: CLIENT / CLIENTSERVER before PPP, on both sides. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Pair, ScriptedPeer, ascii, hex, ip, logTexts, session } from "./harness.js";
import { DccAnswerer, DccCaller } from "../../../src/ppp/dcc.js";

const LCP = 0xc021;
const IPCP = 0x8021;
const text = (b: number[]): string => String.fromCharCode(...b);

test("scripted Windows guest: CLIENT, Windows LCP ConfReq, Windows IPCP ConfReq -> IPCP Opened on the answering session", () => {
  const s = session({ dcc: "answer", localIp: ip("192.168.7.1"), remoteIp: ip("192.168.7.2"), msDns: [ip("10.0.0.1")], usePeerDns: false }, 9);
  const peer = new ScriptedPeer(s);
  peer.autoNegotiate = false; // the guest says nothing in PPP until the handshake is done
  s.open(0);
  peer.pump();
  peer.sendRaw(ascii("CLI"));
  peer.sendRaw(ascii("ENT"));
  assert.ok(text(peer.rawRx).includes("CLIENTSERVER"), "answered CLIENTSERVER to CLIENT split across reads");
  peer.autoNegotiate = true;
  peer.request(LCP, hex(`01 04 05 78 02 06 00 00 00 00 05 06 12 34 56 78 07 02 08 02 0d 03 06 11 04 06 4e
    13 17 01 2f 5e 9b 3a 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff 00 17 04 00 01`));
  peer.advance(3000); // the session's retransmitted ConfReq is Acked now
  assert.equal(s.lcp.fsm.state, "Opened");
  peer.request(IPCP, hex("02 06 00 2d 0f 01 03 06 00 00 00 00 81 06 00 00 00 00 82 06 00 00 00 00 83 06 00 00 00 00 84 06 00 00 00 00"));
  assert.deepEqual(peer.got(IPCP, 4)[0].info.subarray(4), hex("02 06 00 2d 0f 01 82 06 00 00 00 00 84 06 00 00 00 00"),
    "VJ and both WINS are rejected");
  // pppd: a single ms-dns is offered as primary and secondary
  assert.deepEqual(peer.got(IPCP, 3)[0].info.subarray(4), hex("03 06 c0 a8 07 02 81 06 0a 00 00 01 83 06 0a 00 00 01"));
  const up = peer.events.find((e) => e.type === "ip-up");
  assert.deepEqual(up, { type: "ip-up", local: ip("192.168.7.1"), remote: ip("192.168.7.2"), dns: [], mtu: 1400, peerName: undefined });
  assert.equal(s.stats.hdlc.badFcs, 0, "the DCC text did not upset the decoder");
  // no more CLIENTSERVER once PPP frames flow
  const before = text(peer.rawRx).split("CLIENTSERVER").length;
  peer.sendRaw(ascii("CLIENT"));
  assert.equal(text(peer.rawRx).split("CLIENTSERVER").length, before);
});

test("calling side sends CLIENT, retries every 3 s, starts LCP only after CLIENTSERVER", () => {
  const s = session({ dcc: "call" }, 10);
  const peer = new ScriptedPeer(s);
  s.open(0);
  peer.pump();
  assert.equal(text(peer.rawRx), "CLIENT");
  peer.advance(3000);
  assert.equal(text(peer.rawRx), "CLIENTCLIENT");
  assert.equal(peer.rx.length, 0, "no LCP before the handshake");
  peer.sendRaw(ascii("CLIENTSERVER"));
  assert.equal(peer.got(LCP, 1).length, 1, "LCP ConfReq follows the handshake");
  assert.ok(logTexts(peer.events).includes("Connect: ppp0 <--> /dev/null"));
});

test("a DCC caller and a DCC answerer back to back reach IPCP Opened", () => {
  const guest = session({ dcc: "call" }, 11);
  const host = session({ dcc: "answer", localIp: ip("10.0.0.1"), remoteIp: ip("10.0.0.2"), msDns: [ip("10.0.0.1")] }, 12);
  const pair = new Pair(guest, host, 3);
  guest.open(0);
  host.open(0);
  assert.ok(pair.run(() => guest.ipcp.fsm.state === "Opened" && host.ipcp.fsm.state === "Opened"));
  const up = pair.eventsA.find((e) => e.type === "ip-up");
  assert.ok(up && up.type === "ip-up" && up.local === ip("10.0.0.2") && up.dns[0] === ip("10.0.0.1"));
});

test("a caller with no answer gives up after 10 tries and the session goes dead", () => {
  const s = session({ dcc: "call" }, 13);
  const peer = new ScriptedPeer(s);
  s.open(0);
  for (let i = 0; i < 12; i++) peer.advance(3000);
  assert.equal(text(peer.rawRx), "CLIENT".repeat(10));
  assert.equal(s.phase, "dead");
});

test("DccAnswerer and DccCaller scanners count split tokens once", () => {
  const a = new DccAnswerer();
  assert.equal(a.input(ascii("xxCLIE")) + a.input(ascii("NTCLIENT")) + a.input(ascii("CL")), 2);
  const c = new DccCaller();
  c.start(0);
  assert.equal(c.input(ascii("CLIENTSERV")), false);
  assert.equal(c.input(ascii("ER")), true);
  assert.equal(c.state, "done");
});
