/**
 * The compression wiring in PppSession (needs the session patch): two
 * sessions back to back negotiate CCP Deflate and IPCP VJ with pppd's
 * debug and log lines, carry TCP/IP byte-exact through VJ + Deflate, put
 * the fox file on the line at >= 12x, and recover (Reset-Request, VJ TOSS)
 * through seeded loss and bit errors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Pair, ip, logTexts, session } from "../ppp/harness.js";
import { defaultCcpConfig } from "../../../src/ppp/compress/ccp.js";
import type { PppSession, SessionEvent } from "../../../src/ppp/session.js";
import { ACK, PSH, hex, tcpPacket } from "./tcpip.js";

function sides(over: object = {}): [PppSession, PppSession] {
  const client = session({ debug: true, vj: true, ccp: defaultCcpConfig(), ...over }, 11);
  const server = session({
    debug: true, vj: true, ccp: defaultCcpConfig(), localIp: ip("192.168.7.1"), remoteIp: ip("192.168.7.2"),
    usePeerDns: false, ...over,
  }, 12);
  return [client, server];
}

const settled = (a: PppSession, b: PppSession): boolean =>
  a.ipcp.fsm.state === "Opened" && b.ipcp.fsm.state === "Opened" && a.ccp.fsm.state === "Opened" && b.ccp.fsm.state === "Opened";

function fox(size: number): Uint8Array {
  let s = "";
  for (let i = 0; s.length < size; i++) s += `${String(i).padStart(6, "0")} the quick brown fox jumps over the lazy dog\n`;
  return new TextEncoder().encode(s.slice(0, size));
}

function segments(file: Uint8Array, src: number, dst: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seq = 1000;
  let id = 1;
  for (let o = 0; o < file.length; o += 1460) {
    const payload = file.subarray(o, o + 1460);
    out.push(tcpPacket({ src, dst, sport: 40000, dport: 80, seq, ack: 1, flags: ACK | PSH, win: 64240, id: id++, payload }));
    seq += payload.length;
  }
  return out;
}

const ipPackets = (ev: SessionEvent[]): Uint8Array[] => ev.flatMap((e) => (e.type === "ip-packet" ? [e.packet] : []));

test("negotiation: CCP before IPCP, pppd's debug lines, 'Deflate (15) compression enabled', VJ both ways", () => {
  const [client, server] = sides();
  const pair = new Pair(client, server, 1);
  client.open(0);
  server.open(0);
  assert.ok(pair.run(() => settled(client, server)));
  const logs = logTexts(pair.eventsA);
  const ccpReq = logs.indexOf("sent [CCP ConfReq id=0x1 <deflate 15> <deflate(old#) 15>]");
  const ipcpReq = logs.findIndex((l) => l.startsWith("sent [IPCP ConfReq id=0x1 <compress VJ 0f 01> <addr 0.0.0.0>"));
  assert.ok(ccpReq >= 0 && ipcpReq > ccpReq, logs.join("\n"));
  assert.ok(logs.includes("Deflate (15) compression enabled"), logs.join("\n"));
  assert.deepEqual(client.ipcp.his.vj, { protocol: 0x2d, maxSlotId: 15, compSlotId: true });
});

test("fox file through VJ + Deflate over the simulated line: byte-exact, >= 12x fewer line bytes than payload", () => {
  const [client, server] = sides();
  const pair = new Pair(client, server, 2);
  client.open(0);
  server.open(0);
  assert.ok(pair.run(() => settled(client, server)));
  const file = fox(262144);
  const segs = segments(file, ip("192.168.7.2"), ip("192.168.7.1"));
  const before = client.stats.txBytes;
  const start = pair.eventsB.length;
  for (const s of segs) assert.ok(client.sendIp(s, pair.now));
  pair.run(() => true);
  const wire = client.stats.txBytes - before;
  const got = ipPackets(pair.eventsB.slice(start));
  assert.equal(got.length, segs.length);
  for (let i = 0; i < segs.length; i++) assert.equal(hex(got[i]), hex(segs[i]), `segment ${i}`);
  const ratio = file.length / wire;
  console.log(`# session: fox file ${file.length} B -> ${wire} B on the line: ${ratio.toFixed(2)}x`);
  assert.ok(ratio >= 12, `ratio ${ratio.toFixed(2)}`);
});

test("seeded loss and bit errors: Reset-Requests and VJ TOSS recover; every delivered packet is one that was sent", () => {
  for (const seed of [3, 4, 5]) {
    const [client, server] = sides();
    const setup = new Pair(client, server, seed);
    client.open(0);
    server.open(0);
    assert.ok(setup.run(() => settled(client, server)), `seed ${seed}`);
    const lossy = new Pair(client, server, seed, 0.05, 0.05);
    lossy.now = setup.now;
    const segs = segments(fox(200_000), ip("192.168.7.2"), ip("192.168.7.1"));
    const sent = new Set(segs.map(hex));
    for (const s of segs) {
      client.sendIp(s, lossy.now);
      lossy.run(() => true);
      lossy.now += 10;
      client.handleTimeout(lossy.now);
      server.handleTimeout(lossy.now);
    }
    lossy.run(() => false, lossy.now + 5000);
    const got = ipPackets(lossy.eventsB);
    for (const g of got) assert.ok(sent.has(hex(g)), `seed ${seed}: a delivered packet was never sent`);
    const logs = logTexts(lossy.eventsB);
    assert.ok(logs.some((l) => l.startsWith("sent [CCP ResetReq")), `seed ${seed}: ${logs.slice(-10).join("\n")}`);
    // After the storm, a clean line delivers everything again.
    const clean = new Pair(client, server, seed);
    clean.now = lossy.now + 10_000;
    client.handleTimeout(clean.now);
    server.handleTimeout(clean.now);
    clean.run(() => false, clean.now + 5000);
    const tail = segments(fox(50_000), ip("192.168.7.2"), ip("192.168.7.1")).map((s) => {
      const b = s.slice();
      b[20 + 2] = 0x77; // another source port: a fresh VJ connection
      return tcpPacket({
        src: ip("192.168.7.2"), dst: ip("192.168.7.1"), sport: 0x7700 | b[23], dport: 80,
        seq: new DataView(b.buffer).getUint32(24), ack: 1, flags: ACK | PSH, win: 64240,
        id: new DataView(b.buffer).getUint16(4), payload: s.subarray(40),
      });
    });
    for (const s of tail) {
      client.sendIp(s, clean.now);
      clean.run(() => true);
      clean.now += 10;
      client.handleTimeout(clean.now);
      server.handleTimeout(clean.now);
      clean.run(() => true);
    }
    const after = ipPackets(clean.eventsB);
    // The first packet may still meet an error state (it triggers the reset); the rest must all arrive.
    assert.ok(after.length >= tail.length - 2, `seed ${seed}: ${after.length}/${tail.length} after the storm`);
    for (const g of after.slice(-10)) assert.ok(tail.some((t) => hex(t) === hex(g)), `seed ${seed}`);
  }
});
