/** IPCP semantics as pppd's ipcp.c, against a scripted peer. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ScriptedPeer, hex, ip, logTexts, session } from "./harness.js";

const LCP = 0xc021;
const IPCP = 0x8021;

function upTo(over: object, seed = 1, manualIpcp = false) {
  const s = session(over, seed);
  const peer = new ScriptedPeer(s);
  if (manualIpcp) peer.manual.add(IPCP);
  s.open(0);
  peer.request(LCP, hex("05 06 12 34 56 78"));
  assert.equal(s.phase, "network");
  return { s, peer };
}

test("calling side: sends 0.0.0.0 and asks DNS, takes the Nak'd address and DNS", () => {
  const { peer } = upTo({}, 1, true);
  const req = peer.got(IPCP, 1)[0];
  assert.deepEqual(req.info.subarray(4), hex("03 06 00 00 00 00 81 06 00 00 00 00 83 06 00 00 00 00"));
  peer.sendPacket(IPCP, 3, req.info[1], hex("03 06 0a 00 00 05 81 06 08 08 08 08 83 06 08 08 04 04"));
  const req2 = peer.got(IPCP, 1)[1];
  assert.deepEqual(req2.info.subarray(4), hex("03 06 0a 00 00 05 81 06 08 08 08 08 83 06 08 08 04 04"));
  peer.sendPacket(IPCP, 2, req2.info[1], req2.info.subarray(4));
  peer.sendPacket(IPCP, 1, 0x60, hex("03 06 0a 00 00 01"));
  const up = peer.events.find((e) => e.type === "ip-up");
  assert.deepEqual(up, { type: "ip-up", local: ip("10.0.0.5"), remote: ip("10.0.0.1"), dns: [ip("8.8.8.8"), ip("8.8.4.4")], mtu: 1500, peerName: undefined });
});

test("answering side: a peer asking for another address than remoteIp is Nak'd unless acceptRemote", () => {
  const { peer } = upTo({ localIp: ip("192.168.7.1"), remoteIp: ip("192.168.7.2") });
  peer.request(IPCP, hex("03 06 c0 a8 07 63"));
  assert.deepEqual(peer.got(IPCP, 3)[0].info.subarray(4), hex("03 06 c0 a8 07 02"));
  const { peer: p2, s: s2 } = upTo({ localIp: ip("192.168.7.1"), remoteIp: ip("192.168.7.2"), acceptRemote: true }, 2);
  p2.request(IPCP, hex("03 06 c0 a8 07 63"));
  assert.equal(p2.got(IPCP, 3).length, 0);
  assert.equal(s2.ipcp.fsm.state, "Opened");
  assert.ok(logTexts(p2.events).includes("remote IP address 192.168.7.99"));
});

test("answering side: peer without an IP-Address option is Nak'd one; VJ is rejected", () => {
  const { peer } = upTo({ localIp: ip("192.168.7.1"), remoteIp: ip("192.168.7.2") });
  peer.request(IPCP, hex("02 06 00 2d 0f 01"));
  assert.deepEqual(peer.got(IPCP, 4)[0].info.subarray(4), hex("02 06 00 2d 0f 01"));
  assert.deepEqual(peer.got(IPCP, 3)[0].info.subarray(4), hex("03 06 c0 a8 07 02"));
});

test("no remote address from anywhere: pppd's 10.64.64.64 default, with its warning", () => {
  const { s, peer } = upTo({ localIp: ip("192.168.7.1"), usePeerDns: false });
  peer.request(IPCP, hex(""));
  assert.equal(s.ipcp.fsm.state, "Opened");
  assert.ok(logTexts(peer.events).includes("Could not determine remote IP address: defaulting to 10.64.64.64"));
});

test("IP datagrams are dropped and counted until IPCP is Opened", () => {
  const { s, peer } = upTo({ localIp: ip("192.168.7.1"), remoteIp: ip("192.168.7.2") });
  peer.send(0x0021, hex("45 00 00 14"));
  assert.equal(s.stats.drops["rx-ip-not-up"], 1);
  assert.equal(s.sendIp(hex("45 00 00 14"), 0), false);
  peer.request(IPCP, hex("03 06 c0 a8 07 02"));
  assert.equal(s.ipcp.fsm.state, "Opened");
  peer.send(0x0021, hex("45 00 00 14"));
  assert.deepEqual(peer.events.filter((e) => e.type === "ip-packet"), [{ type: "ip-packet", packet: hex("45 00 00 14") }]);
  assert.equal(s.sendIp(hex("45 00 00 14"), 0), true);
  peer.pump();
  assert.deepEqual(peer.rx.filter((r) => r.protocol === 0x21).map((r) => [...r.info]), [[0x45, 0, 0, 0x14]]);
});

test("the peer rejects our IP-Address option: the configured local address is still used", () => {
  const { s, peer } = upTo({ localIp: ip("192.168.7.1"), remoteIp: ip("192.168.7.2"), usePeerDns: false }, 3, true);
  const req = peer.got(IPCP, 1)[0];
  peer.sendPacket(IPCP, 4, req.info[1], hex("03 06 c0 a8 07 01"));
  const req2 = peer.got(IPCP, 1)[1];
  assert.deepEqual(req2.info.subarray(4), new Uint8Array(0));
  peer.sendPacket(IPCP, 2, req2.info[1], new Uint8Array(0));
  peer.sendPacket(IPCP, 1, 0x61, hex("03 06 c0 a8 07 02"));
  assert.equal(s.ipcp.fsm.state, "Opened");
  assert.ok(logTexts(peer.events).includes("local  IP address 192.168.7.1"));
});

test("PAP Authenticate-Ack and the peer's IPCP ConfReq in one read: IPCP is answered at once, not discarded", () => {
  const s = session({ user: "zaphod", password: "pw" }, 4);
  const peer = new ScriptedPeer(s);
  s.open(0);
  peer.request(LCP, hex("03 04 c0 23 05 06 12 34 56 78")); // we (the scripted peer) require PAP
  const authReq = peer.rx.find((r) => r.protocol === 0xc023 && r.info[0] === 1)!;
  assert.ok(authReq, "the session sent its PAP Authenticate-Request");
  const ack = peer.enc.encode(0xc023, Uint8Array.of(2, authReq.info[1], 0, 5, 0));
  const ipcpReq = peer.enc.encode(IPCP, hex("01 51 00 0a 03 06 c0 a8 07 01"));
  peer.sendRaw(Uint8Array.of(...ack, ...ipcpReq));
  assert.equal(s.phase, "network");
  assert.equal(peer.got(IPCP, 2).filter((r) => r.info[1] === 0x51).length, 1, "ConfAck for the IPCP request in the same read");
  assert.equal(s.stats.drops["wrong-phase"] ?? 0, 0);
});
