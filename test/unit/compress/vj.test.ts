/**
 * VJ header compression (RFC 1144) as the Linux kernel's slhc.c does it:
 * hand-checked encodings (the RFC's special cases, delta forms, slot-id
 * omission), seeded round trips over interleaved connections with slot
 * reuse, TOSS recovery after a lost frame, malformed input, and the IPCP
 * option codec/printer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SeededRng } from "../../../stack/util/rng.js";
import {
  NEW_A, NEW_C, NEW_I, NEW_S, NEW_U, NEW_W, PROTO_IP, PROTO_VJC_COMP, PROTO_VJC_UNCOMP, SPECIAL_D, SPECIAL_I,
  TCP_PUSH_BIT, VjCompressor, VjDecompressor, defaultVjOption, vjCheck, vjNak, vjOption,
} from "../../../src/ppp/vj.js";
import { formatOptions, type OptionSpec } from "../../../src/ppp/options.js";
import { ACK, PSH, SYN, URG, hex, tcpPacket, trafficStream, udpPacket, type TcpSpec } from "./tcpip.js";

const base: TcpSpec = {
  src: 0x0a000001, dst: 0x0a000002, sport: 1025, dport: 23, seq: 1000, ack: 5000, flags: ACK, win: 4096, id: 100,
};
const bytes = (n: number, v = 0x61): Uint8Array => new Uint8Array(n).fill(v);
const csum = (p: Uint8Array): [number, number] => [p[36], p[37]];

function pair(maxSlot = 15, cid = true): { c: VjCompressor; d: VjDecompressor; roundTrip(p: Uint8Array): { proto: number; packet: Uint8Array } } {
  const c = new VjCompressor(maxSlot, cid);
  const d = new VjDecompressor(maxSlot);
  return {
    c, d,
    roundTrip(p) {
      const r = c.compress(p);
      const back = d.decompress(r.proto, r.packet);
      assert.ok(back, `decompress failed for proto ${r.proto.toString(16)}`);
      assert.equal(hex(back), hex(p), "round trip must be byte-exact");
      return r;
    },
  };
}

test("first segment of a connection goes UNCOMPRESSED_TCP with the slot id in the protocol byte", () => {
  const { roundTrip } = pair();
  const p = tcpPacket({ ...base, payload: bytes(10) });
  const r = roundTrip(p);
  assert.equal(r.proto, PROTO_VJC_UNCOMP);
  assert.equal(r.packet[9], 0, "slot 0");
  assert.equal(hex(r.packet.subarray(10)), hex(p.subarray(10)));
  assert.equal(p[9], 6, "the caller's datagram is not modified");
});

test("RFC 1144 §3.2 bulk data: SPECIAL_D with PUSH is 3 bytes of header (mask, checksum), slot id omitted", () => {
  const { roundTrip } = pair();
  roundTrip(tcpPacket({ ...base, payload: bytes(100) }));
  const p2 = tcpPacket({ ...base, seq: 1100, id: 101, flags: ACK | PSH, payload: bytes(100, 0x62) });
  const r = roundTrip(p2);
  assert.equal(r.proto, PROTO_VJC_COMP);
  assert.deepEqual([...r.packet.subarray(0, 3)], [SPECIAL_D | TCP_PUSH_BIT, ...csum(p2)]);
  assert.equal(r.packet.length, 3 + 100);
});

test("RFC 1144 §3.2 echoed interactive traffic: SPECIAL_I when seq and ack both move by the last data length", () => {
  const { roundTrip } = pair();
  roundTrip(tcpPacket({ ...base, payload: bytes(1) }));
  const p2 = tcpPacket({ ...base, seq: 1001, ack: 5001, id: 101, payload: bytes(1, 0x62) });
  const r = roundTrip(p2);
  assert.deepEqual([...r.packet], [SPECIAL_I, ...csum(p2), 0x62]);
});

test("ack and window deltas in the receiver's order (U W A S), 16-bit form for 0 and >= 256, IP ID deltas", () => {
  const { roundTrip } = pair();
  roundTrip(tcpPacket({ ...base }));
  // ack +300 (0 01 2c), window +5, id +1 (implicit), no data: changes W|A.
  const p2 = tcpPacket({ ...base, ack: 5300, win: 4101, id: 101 });
  const r2 = roundTrip(p2);
  assert.deepEqual([...r2.packet], [NEW_W | NEW_A, ...csum(p2), 5, 0, 0x01, 0x2c]);
  // ack +1, window -1 (sent as 16-bit 0xffff), id unchanged (delta 0 -> 00 00 00).
  const p3 = tcpPacket({ ...base, ack: 5301, win: 4100, id: 101 });
  const r3 = roundTrip(p3);
  assert.deepEqual([...r3.packet], [NEW_I | NEW_W | NEW_A, ...csum(p3), 0, 0xff, 0xff, 1, 0, 0, 0]);
  // urgent data: NEW_U carries the pointer itself.
  const p4 = tcpPacket({ ...base, ack: 5302, win: 4100, id: 102, flags: ACK | URG, urp: 7, payload: bytes(3) });
  const r4 = roundTrip(p4);
  assert.deepEqual([...r4.packet.subarray(0, 5)], [NEW_U | NEW_A, ...csum(p4), 7, 1]);
});

test("slot id is sent (NEW_C) when the connection changes, and always when comp-slot-id is off", () => {
  const { roundTrip } = pair();
  const a = { ...base };
  const b = { ...base, sport: 2000 };
  roundTrip(tcpPacket({ ...a, payload: bytes(10) })); // slot 0
  roundTrip(tcpPacket({ ...b, payload: bytes(10) })); // slot 1
  const r = roundTrip(tcpPacket({ ...a, seq: 1010, id: 101, payload: bytes(10) }));
  assert.deepEqual([r.packet[0], r.packet[1]], [NEW_C | SPECIAL_D, 0]);
  const r2 = roundTrip(tcpPacket({ ...a, seq: 1020, id: 102, payload: bytes(10) }));
  assert.equal(r2.packet[0], SPECIAL_D, "same connection again: id omitted");

  const q = pair(15, false);
  q.roundTrip(tcpPacket({ ...a, payload: bytes(10) }));
  const r3 = q.roundTrip(tcpPacket({ ...a, seq: 1010, id: 101, payload: bytes(10) }));
  assert.deepEqual([r3.packet[0], r3.packet[1]], [NEW_C | SPECIAL_D, 0]);
});

test("what goes uncompressed: SYN, no ACK, retransmit, changed TTL/options, big deltas; non-TCP and fragments as IP", () => {
  const { c, roundTrip } = pair();
  assert.equal(roundTrip(tcpPacket({ ...base, flags: SYN })).proto, PROTO_IP);
  assert.equal(roundTrip(tcpPacket({ ...base, flags: PSH })).proto, PROTO_IP);
  assert.equal(roundTrip(udpPacket(1, 2, 3, bytes(20))).proto, PROTO_IP);
  assert.equal(roundTrip(tcpPacket({ ...base, fragOff: 0x2000 })).proto, PROTO_IP);
  roundTrip(tcpPacket({ ...base, payload: bytes(10) }));
  assert.equal(roundTrip(tcpPacket({ ...base, id: 101, payload: bytes(10) })).proto, PROTO_VJC_UNCOMP, "nothing changed + data: retransmit");
  assert.equal(roundTrip(tcpPacket({ ...base, seq: 1010, id: 102, ttl: 3, payload: bytes(10) })).proto, PROTO_VJC_UNCOMP);
  assert.equal(roundTrip(tcpPacket({ ...base, seq: 1020, id: 103, ttl: 3, tcpOptions: Uint8Array.of(1, 1, 1, 1) })).proto, PROTO_VJC_UNCOMP);
  assert.equal(roundTrip(tcpPacket({ ...base, seq: 1020, ack: 80000, id: 104, ttl: 3, tcpOptions: Uint8Array.of(1, 1, 1, 1) })).proto, PROTO_VJC_UNCOMP);
  assert.equal(roundTrip(tcpPacket({ ...base, seq: 1020, ack: 80000, id: 105, ttl: 3, tcpOptions: Uint8Array.of(1, 1, 1, 1) })).proto, PROTO_VJC_UNCOMP, "pure duplicate ack");
  assert.ok(c.stats.uncompressed >= 5 && c.stats.nonTcp === 1 && c.stats.tcp >= 3);
});

test("LRU slot reuse: with 2 slots, a third connection takes the least recently used one", () => {
  const { c, roundTrip } = pair(1);
  const conn = (port: number) => ({ ...base, sport: port });
  assert.equal(roundTrip(tcpPacket({ ...conn(1), payload: bytes(5) })).packet[9], 0);
  assert.equal(roundTrip(tcpPacket({ ...conn(2), payload: bytes(5) })).packet[9], 1);
  roundTrip(tcpPacket({ ...conn(1), seq: 1005, id: 101, payload: bytes(5) })); // 1 is now most recent
  assert.equal(roundTrip(tcpPacket({ ...conn(3), payload: bytes(5) })).packet[9], 1, "slot of conn 2 reused");
  assert.equal(c.stats.misses, 3);
});

for (const [seed, slots, conns, cid] of [[1, 15, 4, true], [2, 15, 20, true], [3, 2, 6, true], [4, 0, 3, false], [5, 7, 9, false], [6, 15, 1, true]] as const) {
  test(`seeded round trip: seed ${seed}, ${slots + 1} slots, ${conns} interleaved connections, comp-slot-id ${cid}`, () => {
    const rng = new SeededRng(seed);
    const c = new VjCompressor(slots, cid);
    const d = new VjDecompressor(slots);
    let n = 0;
    for (const p of trafficStream(rng, 3000, conns)) {
      const r = c.compress(p);
      const back = d.decompress(r.proto, r.packet);
      assert.ok(back, `seed ${seed}: packet ${n} dropped (${JSON.stringify(d.stats.drops)})`);
      assert.equal(hex(back), hex(p), `seed ${seed}: packet ${n} differs`);
      n++;
    }
    assert.ok(c.stats.compressed > 500, `seed ${seed}: compressed ${c.stats.compressed}`);
    assert.ok(c.stats.uncompressed > 20);
  });
}

test("TOSS: after a lost frame, implicit-id packets are repaired when the TCP checksum proves it, else dropped; nothing wrong reaches TCP", () => {
  for (const seed of [11, 12, 13, 14]) {
    const rng = new SeededRng(seed);
    const c = new VjCompressor(15, true);
    const d = new VjDecompressor(15);
    let lost = 0;
    let tossed = 0;
    let delivered = 0;
    let n = 0;
    for (const p of trafficStream(rng, 3000, 3)) {
      const r = c.compress(p);
      n++;
      if (r.proto === PROTO_VJC_COMP && rng.below(20) === 0) {
        lost++;
        d.toss(); // the framing saw a bad FCS
        continue;
      }
      const wasTossing = d.inToss;
      const repairs = d.stats.repairedOnce + d.stats.repairedTwice;
      const back = d.decompress(r.proto, r.packet);
      if (d.stats.repairedOnce + d.stats.repairedTwice > repairs) {
        // A repair: TCP header and payload exact; only the IP ID (and so the header checksum) may be a guess.
        assert.ok(sameButIpId(back!, p), `seed ${seed}: repaired packet ${n}`);
        delivered++;
        continue;
      }
      if (back === undefined) {
        assert.ok(wasTossing && r.proto === PROTO_VJC_COMP, `seed ${seed}: only compressed packets in TOSS are dropped (packet ${n})`);
        tossed++;
        continue;
      }
      delivered++;
      // After a loss the receiver may be out of step for a connection until that connection is
      // refreshed; the TCP checksum (carried verbatim) is what catches it. Check it here.
      // After a repair the IP ID may stay one off until the next refresh (nothing reads it: RFC 6864).
      if (r.proto !== PROTO_IP && hex(back) !== hex(p)) {
        if (!sameButIpId(back, p)) assert.notEqual(tcpChecksumOk(back), true, `seed ${seed}: a wrong packet must fail its TCP checksum (packet ${n})`);
      } else assert.equal(hex(back), hex(p));
    }
    const repaired = d.stats.repairedOnce + d.stats.repairedTwice;
    assert.ok(lost > 10 && delivered > 2000 && repaired > 0, `seed ${seed}: lost ${lost} tossed ${tossed} repaired ${repaired} delivered ${delivered}`);
    assert.equal(d.stats.drops.tossed, tossed);
  }
});

/** Equal except for the IP ID and the IP header checksum. */
function sameButIpId(a: Uint8Array, b: Uint8Array): boolean {
  const strip = (x: Uint8Array) => hex(x.subarray(0, 4)) + hex(x.subarray(6, 10)) + hex(x.subarray(12));
  return a.length === b.length && strip(a) === strip(b);
}

function tcpChecksumOk(p: Uint8Array): boolean {
  const ihl = (p[0] & 15) * 4;
  let s = 0;
  const seg = p.subarray(ihl);
  for (let i = 0; i + 1 < seg.length; i += 2) s += (seg[i] << 8) | seg[i + 1];
  if (seg.length & 1) s += seg[seg.length - 1] << 8;
  s += (p[12] << 8 | p[13]) + (p[14] << 8 | p[15]) + (p[16] << 8 | p[17]) + (p[18] << 8 | p[19]) + 6 + seg.length;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s === 0xffff;
}

test("decompressor starts in TOSS (slhc_init) and rejects a compressed packet for an unknown slot", () => {
  const d = new VjDecompressor(15);
  assert.equal(d.decompress(PROTO_VJC_COMP, Uint8Array.of(SPECIAL_D, 0, 0, 1, 2)), undefined);
  assert.equal(d.stats.drops.tossed, 1);
  assert.equal(d.decompress(PROTO_VJC_COMP, Uint8Array.of(NEW_C | SPECIAL_D, 3, 0, 0, 1, 2)), undefined);
  assert.equal(d.stats.drops.error, 1);
  assert.equal(d.decompress(PROTO_VJC_COMP, Uint8Array.of(NEW_C | SPECIAL_D, 99, 0, 0)), undefined, "slot above max");
});

test("malformed input is dropped and counted, never thrown (seeded fuzz)", () => {
  const seed = 77;
  const rng = new SeededRng(seed);
  const c = new VjCompressor(15, true);
  const d = new VjDecompressor(15);
  let drops = 0;
  for (const p of trafficStream(rng, 2000, 4)) {
    const r = c.compress(p);
    let pkt = r.packet;
    const k = rng.below(10);
    if (k === 0) pkt = pkt.subarray(0, rng.below(pkt.length + 1)); // truncated
    else if (k === 1) pkt = rng.fill(new Uint8Array(rng.below(60))); // garbage
    else if (k === 2) {
      pkt = pkt.slice();
      pkt[rng.below(pkt.length)] ^= 1 << rng.below(8);
    }
    let out: Uint8Array | undefined;
    assert.doesNotThrow(() => (out = d.decompress(r.proto, pkt)), `seed ${seed}`);
    if (out === undefined) drops++;
    else assert.ok(out.length >= 40 || r.proto === PROTO_IP);
  }
  assert.ok(drops > 50, `seed ${seed}: drops ${drops}`);
  const total = Object.values(d.stats.drops).reduce((a, b) => a + b, 0);
  assert.equal(total, drops);
  assert.equal(d.decompress(0x0057, Uint8Array.of(1)), undefined);
  // An UNCOMPRESSED_TCP with a bad IP header checksum is refused.
  const p = tcpPacket({ ...base });
  const u = new VjCompressor(15, true).compress(p).packet.slice();
  u[8] ^= 0xff;
  assert.equal(new VjDecompressor(15).decompress(PROTO_VJC_UNCOMP, u), undefined);
});

test("URG on the saved header is not repeated into a special-case packet (refresh instead)", () => {
  const { roundTrip } = pair();
  roundTrip(tcpPacket({ ...base, flags: ACK | URG, urp: 5, payload: bytes(10) }));
  roundTrip(tcpPacket({ ...base, seq: 1010, id: 101, flags: ACK | URG, urp: 5, payload: bytes(10) }));
  const r = roundTrip(tcpPacket({ ...base, seq: 1020, id: 102, urp: 5, payload: bytes(10) }));
  assert.equal(r.proto, PROTO_VJC_UNCOMP);
});

test("IPCP option 2 codec and pppd printer: <compress VJ 0f 01>", () => {
  const data = vjOption.encode(defaultVjOption());
  assert.deepEqual([...data], [0x00, 0x2d, 0x0f, 0x01]);
  assert.equal(vjOption.print(data), "compress VJ 0f 01");
  assert.equal(vjOption.print(Uint8Array.of(0x00, 0x37)), "compress old-VJ");
  assert.equal(vjOption.print(Uint8Array.of(0x12, 0x34, 1)), "compress 0x1234 01");
  assert.deepEqual(vjOption.decode(data), { protocol: 0x2d, maxSlotId: 15, compSlotId: true });
  assert.equal(vjOption.decode(Uint8Array.of(0, 0x2d, 1)), undefined);
  const spec: OptionSpec<object, object> = { ...vjOption, get: () => undefined, set: () => {} };
  assert.equal(formatOptions([spec], Uint8Array.of(2, 6, 0, 0x2d, 0x0f, 1)).text, " <compress VJ 0f 01>");
});

test("IPCP VJ negotiation rules as pppd: Nak a larger max-slot-id or unwanted comp-slot-id, Reject unknown", () => {
  const allow = { enabled: true, maxSlotId: 15, compSlotId: true };
  assert.deepEqual(vjCheck({ protocol: 0x2d, maxSlotId: 15, compSlotId: true }, allow), {
    kind: "ack", his: { protocol: 0x2d, maxSlotId: 15, compSlotId: true },
  });
  assert.deepEqual(vjCheck({ protocol: 0x2d, maxSlotId: 40, compSlotId: true }, allow), {
    kind: "nak", value: { protocol: 0x2d, maxSlotId: 15, compSlotId: true },
  });
  assert.deepEqual(vjCheck({ protocol: 0x2d, maxSlotId: 3, compSlotId: true }, { ...allow, compSlotId: false }), {
    kind: "nak", value: { protocol: 0x2d, maxSlotId: 3, compSlotId: false },
  });
  assert.deepEqual(vjCheck({ protocol: 0x2d, maxSlotId: 3, compSlotId: true }, { ...allow, enabled: false }), { kind: "rej" });
  assert.deepEqual(vjCheck({ protocol: 0x99 }, allow), { kind: "rej" });
  assert.deepEqual(vjCheck({ protocol: 0x37 }, allow), { kind: "ack", his: { protocol: 0x37, maxSlotId: 15, compSlotId: true } });
  assert.deepEqual(vjNak({ protocol: 0x2d, maxSlotId: 7, compSlotId: false }, defaultVjOption()), {
    protocol: 0x2d, maxSlotId: 7, compSlotId: false,
  });
  assert.deepEqual(vjNak({ protocol: 0x2d, maxSlotId: 40, compSlotId: true }, defaultVjOption()), {
    protocol: 0x2d, maxSlotId: 15, compSlotId: true,
  });
  assert.equal(vjNak({ protocol: 0x99, maxSlotId: 7, compSlotId: false }, defaultVjOption()), undefined);
});

test("TOSS repair on a bulk stream: after lost frames (up to three in a row) the next segment is rebuilt and proven by its TCP checksum", () => {
  for (const seed of [21, 22, 23]) {
    const rng = new SeededRng(seed);
    const c = new VjCompressor(15, true);
    const d = new VjDecompressor(15);
    const base: TcpSpec = { src: 0x0a000001, dst: 0xc0a80002, sport: 80, dport: 40000, seq: 1000, ack: 5000, flags: ACK, win: 65535, id: 7 };
    let lost = 0;
    let lossEvents = 0;
    let run = 0; // frames lost in a row so far
    let tossed = 0;
    let delivered = 0;
    for (let i = 0; i < 2000; i++) {
      const p = tcpPacket({ ...base, seq: 1000 + i * 1460, id: 7 + i, payload: rng.fill(new Uint8Array(1460)) });
      const r = c.compress(p);
      // Losses of one to three frames in a row (four and more wait for the sender's refresh, as in slhc).
      if (i > 0 && run < 3 && (run > 0 ? rng.below(3) === 0 : rng.below(20) === 0)) {
        if (run === 0) lossEvents++;
        run++;
        lost++;
        d.toss(); // the framing saw a bad FCS
        continue;
      }
      run = 0;
      const back = d.decompress(r.proto, r.packet);
      if (!back) {
        tossed++;
        continue;
      }
      assert.equal(hex(back), hex(p), `seed ${seed}: segment ${i}`); // the IP ID too: it steps by one here
      delivered++;
    }
    assert.ok(lost > 50, `seed ${seed}: lost ${lost}`);
    assert.equal(tossed, 0, `seed ${seed}: every segment after a loss was repaired (slhc would have tossed them all)`);
    assert.equal(d.stats.repairedTwice, lossEvents, `seed ${seed}: one repair per run of losses`);
    assert.ok(lost > lossEvents, `seed ${seed}: some runs were longer than one frame`);
    assert.equal(delivered, 2000 - lost);
  }
});
