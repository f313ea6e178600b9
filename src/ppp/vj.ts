/**
 * Van Jacobson TCP/IP header compression (RFC 1144) as PPP carries it
 * (RFC 1332 §4: protocols 0x002d COMPRESSED_TCP and 0x002f
 * UNCOMPRESSED_TCP), sans-I/O: IPv4 datagrams in, (protocol, packet) out,
 * and back. It follows the Linux kernel's drivers/net/slip/slhc.c (the
 * peer we must interoperate with) step by step: the LRU slot list, which
 * segments go uncompressed, the SPECIAL_I / SPECIAL_D encodings, the
 * delta encoding (one byte, or 0 + 16 bits), the TCP checksum carried
 * verbatim, and the receiver's TOSS state after a lost frame. One
 * receiver-side difference: in TOSS we rebuild a packet the deltas
 * applied once to four times and take it when its TCP checksum proves it,
 * where slhc drops it (see `uncompress`); what goes on the wire is the same.
 *
 * Also here: the IPCP IP-Compression-Protocol option codec and printer
 * (`vjOption`, `<compress VJ 0f 01>`), and pppd's Ack/Nak rules for it
 * (`vjCheck`, `vjNak`), for ipcp.ts to plug into its option table.
 *
 * Sits in src/ppp; the session runs the compressor between IP and CCP on
 * transmit, and the decompressor between CCP and IP on receive.
 *
 * Memory: output packets are carved from a slab (stack/util/slab.ts), one
 * copy of the payload each way; the deltas and the receiver's working
 * headers live in per-instance scratch arrays, so a packet allocates nothing
 * else (this runs once per segment at up to tens of MB/s).
 */
import { Slab } from "../../stack/util/slab.js";
import { readIp4 } from "../../stack/util/addr.js";
import { finish, pseudoHeaderSum, sumWords } from "../../stack/wire/checksum.js";

/** RFC 1332 §2/§4 PPP protocol numbers. */
export const PROTO_IP = 0x0021;
export const PROTO_VJC_COMP = 0x002d;
export const PROTO_VJC_UNCOMP = 0x002f;
export type VjProto = typeof PROTO_IP | typeof PROTO_VJC_COMP | typeof PROTO_VJC_UNCOMP;

/** RFC 1144 §3.2 change-mask bits (slhc_vj.h). */
export const NEW_C = 0x40;
export const NEW_I = 0x20;
export const TCP_PUSH_BIT = 0x10;
export const NEW_S = 0x08;
export const NEW_A = 0x04;
export const NEW_W = 0x02;
export const NEW_U = 0x01;
/** RFC 1144 §3.2: the two mask values that never occur naturally, reused as special cases. */
export const SPECIAL_I = NEW_S | NEW_W | NEW_U; // echoed interactive traffic
export const SPECIAL_D = NEW_S | NEW_A | NEW_W | NEW_U; // unidirectional data
export const SPECIALS_MASK = NEW_S | NEW_A | NEW_W | NEW_U;

/** RFC 1144 §7 / pppd: 16 slots, max slot id 15. */
export const MAX_STATES = 16;
const IPPROTO_TCP = 6;
/**
 * VJ TOSS repair (VjDecompressor.uncompress): the most deltas applied to
 * rebuild a packet, i.e. up to three segments of a connection lost in a
 * row. Wrong guesses cannot pass the TCP checksum: k and k' segments of
 * length L differ by (k - k')·L in the sequence number, never 0 mod 65535.
 */
const REPAIR_MAX_TIMES = 4;
/** Room for a header with options: 60 bytes of IP, 60 of TCP. */
const MAX_HDR = 60;

/** One connection's saved headers (slhc struct cstate). */
class CState {
  /** The IP header with options, as last sent/received (bytes beyond ihl*4 are stale). */
  readonly ip = new Uint8Array(MAX_HDR);
  /** The TCP header with options. */
  readonly tcp = new Uint8Array(MAX_HDR);
  /** Receiver only: a refresh (UNCOMPRESSED_TCP) has been seen for this slot. */
  initialized = false;
  /** Compressor only: the next slot in the circular LRU list (oldest -> newest). */
  next = 0;
  constructor(readonly id: number) {}
}

const u16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const u32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
function equalBytes(a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/** RFC 1071 checksum of an IP header (ip_fast_csum): 0 when the stored checksum is right. */
function ipHeaderSum(b: Uint8Array, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[i] << 8) | b[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

// TCP flag bits in byte 13 of the TCP header.
const TH_FIN = 0x01;
const TH_SYN = 0x02;
const TH_RST = 0x04;
const TH_PUSH = 0x08;
const TH_ACK = 0x10;
const TH_URG = 0x20;

/** Longest delta encoding: four fields (urgent, window, ack, seq) + IP id, three bytes each. */
const MAX_DELTAS = 15;

/** slhc encode(): 1..255 in one byte, 0 and >= 256 as 0 + 16 bits, at `out[o]`; returns the new end. */
function encode(out: Uint8Array, o: number, n: number): number {
  n &= 0xffff; // the kernel passes an unsigned short
  if (n >= 256 || n === 0) {
    out[o] = 0;
    out[o + 1] = n >>> 8;
    out[o + 2] = n & 0xff;
    return o + 3;
  }
  out[o] = n;
  return o + 1;
}

export interface VjCompressorStats {
  /** Segments sent COMPRESSED_TCP / UNCOMPRESSED_TCP (slhc sls_o_compressed / sls_o_uncompressed). */
  compressed: number;
  uncompressed: number;
  /** Datagrams sent as plain IP: not TCP (sls_o_nontcp), or TCP that cannot be compressed (sls_o_tcp). */
  nonTcp: number;
  tcp: number;
  /** No slot matched: the oldest was reused (sls_o_misses); slots looked at (sls_o_searches). */
  misses: number;
  searches: number;
  /** Header bytes saved by compression. */
  savedBytes: number;
}

/**
 * The transmit side (slhc_compress). `maxSlotId` is the peer's
 * Max-Slot-Id (slots - 1); `compressSlotId` is the peer's Comp-Slot-Id
 * (may we omit the slot id when it did not change).
 */
export class VjCompressor {
  private readonly slots: CState[];
  /** Index of the least recently used slot; slots[oldest].next is the most recently used. */
  private oldest = 0;
  /** Slot of the last packet sent (255 = none yet): the implicit connection id. */
  private current = 255;
  readonly stats: VjCompressorStats = {
    compressed: 0, uncompressed: 0, nonTcp: 0, tcp: 0, misses: 0, searches: 0, savedBytes: 0,
  };
  /** The encoded deltas of the packet being compressed. */
  private readonly deltas = new Uint8Array(MAX_DELTAS);
  /** Where output packets are carved from. */
  private readonly slab = new Slab();

  constructor(readonly maxSlotId: number, readonly compressSlotId: boolean) {
    if (!Number.isInteger(maxSlotId) || maxSlotId < 0 || maxSlotId > 255) {
      throw new RangeError(`VJ max slot id must be 0..255, got ${maxSlotId}`);
    }
    this.slots = [];
    for (let i = 0; i <= maxSlotId; i++) this.slots.push(new CState(i));
    // slhc_init: ts[i].next = ts[i-1], ts[0].next = ts[limit]; oldest = 0.
    for (let i = maxSlotId; i > 0; i--) this.slots[i].next = i - 1;
    this.slots[0].next = maxSlotId;
  }

  /** Compress one IPv4 datagram. Never modifies `ip`; returns it unchanged for TYPE_IP. */
  compress(ip: Uint8Array): { proto: VjProto; packet: Uint8Array } {
    const isize = ip.length;
    const asIp = { proto: PROTO_IP as VjProto, packet: ip };
    if (isize < 20) return asIp;
    const ihl = ip[0] & 0x0f;
    if (ip[0] >> 4 !== 4 || ihl < 5) return asIp;
    // Not TCP, or a fragment: plain IP.
    if (ip[9] !== IPPROTO_TCP || (u16(ip, 6) & 0x3fff) !== 0) {
      if (ip[9] !== IPPROTO_TCP) this.stats.nonTcp++;
      else this.stats.tcp++;
      return asIp;
    }
    const nlen = ihl * 4;
    if (isize < nlen + 20) return asIp;
    const doff = ip[nlen + 12] >> 4;
    if (doff < 5) return asIp;
    const hlen = nlen + doff * 4;
    const flags = ip[nlen + 13];
    if (hlen > isize || (flags & (TH_SYN | TH_FIN | TH_RST)) !== 0 || (flags & TH_ACK) === 0) {
      this.stats.tcp++;
      return asIp;
    }

    // Locate the connection: linear search from the most recently used.
    const ocs = this.slots[this.oldest];
    let lcs = ocs;
    let cs = this.slots[lcs.next];
    let found = false;
    for (;;) {
      if (equalBytes(ip, 12, cs.ip, 12, 8) && equalBytes(ip, nlen, cs.tcp, 0, 4)) {
        found = true;
        break;
      }
      if (cs === ocs) break;
      lcs = cs;
      cs = this.slots[cs.next];
      this.stats.searches++;
    }
    if (!found) {
      // Reuse the oldest slot (cs === ocs); lcs becomes the oldest, so cs is now the newest.
      this.stats.misses++;
      this.oldest = lcs.id;
      return this.sendUncompressed(ip, cs, ihl, doff);
    }
    // Move cs to the front of the LRU list.
    if (lcs === ocs) {
      // already the most recently used
    } else if (cs === ocs) {
      this.oldest = lcs.id;
    } else {
      lcs.next = cs.next;
      cs.next = ocs.next;
      ocs.next = cs.id;
    }

    const oip = cs.ip;
    const oth = cs.tcp;
    const th = nlen;
    // Only what we expect to change may change: version/ihl, TOS, DF, TTL, TCP header length, options.
    if (ip[0] !== oip[0] || ip[1] !== oip[1] || (ip[6] & 0x40) !== (oip[6] & 0x40) || ip[8] !== oip[8]
        || doff !== oth[12] >> 4
        || (ihl > 5 && !equalBytes(ip, 20, oip, 20, nlen - 20))
        || (doff > 5 && !equalBytes(ip, th + 20, oth, 20, doff * 4 - 20))) {
      return this.sendUncompressed(ip, cs, ihl, doff);
    }

    // The changing fields, in the order the receiver expects: urgent, window, ack, seq.
    const deltas = this.deltas;
    let nd = 0;
    let changes = 0;
    if (flags & TH_URG) {
      nd = encode(deltas, nd, u16(ip, th + 18));
      changes |= NEW_U;
    } else if (u16(ip, th + 18) !== u16(oth, 18)) {
      // URG clear but the urgent pointer moved: RFC 793 allows it, we cannot encode it.
      return this.sendUncompressed(ip, cs, ihl, doff);
    }
    const dWin = u16(ip, th + 14) - u16(oth, 14);
    if (dWin !== 0) {
      nd = encode(deltas, nd, dWin);
      changes |= NEW_W;
    }
    const deltaA = (u32(ip, th + 8) - u32(oth, 8)) >>> 0;
    if (deltaA !== 0) {
      if (deltaA > 0xffff) return this.sendUncompressed(ip, cs, ihl, doff);
      nd = encode(deltas, nd, deltaA);
      changes |= NEW_A;
    }
    const deltaS = (u32(ip, th + 4) - u32(oth, 4)) >>> 0;
    if (deltaS !== 0) {
      if (deltaS > 0xffff) return this.sendUncompressed(ip, cs, ihl, doff);
      nd = encode(deltas, nd, deltaS);
      changes |= NEW_S;
    }
    const prevLen = u16(oip, 2);
    switch (changes) {
      case 0:
        // Nothing changed: a data segment after a pure ACK is fine; else a retransmit or
        // window probe, sent uncompressed in case the peer missed the compressed one.
        if (u16(ip, 2) !== prevLen && prevLen === hlen) break;
        return this.sendUncompressed(ip, cs, ihl, doff);
      case SPECIAL_I:
      case SPECIAL_D:
        // The real changes look like a special case: cannot be sent compressed.
        return this.sendUncompressed(ip, cs, ihl, doff);
      case NEW_S | NEW_A:
        if (deltaS === deltaA && deltaS === prevLen - hlen) {
          // Deviation from slhc, on the safe side: the receiver leaves URG as it was on a
          // special-case packet, so a saved URG would be wrongly repeated; send a refresh.
          if (oth[13] & TH_URG) return this.sendUncompressed(ip, cs, ihl, doff);
          changes = SPECIAL_I; // echoed terminal traffic
          nd = 0;
        }
        break;
      case NEW_S:
        if (deltaS === prevLen - hlen) {
          if (oth[13] & TH_URG) return this.sendUncompressed(ip, cs, ihl, doff);
          changes = SPECIAL_D; // data transfer
          nd = 0;
        }
        break;
    }
    // IP ID: the kernel compares the int difference with 1, then sends it as 16 bits.
    const dId = u16(ip, 4) - u16(oip, 4);
    if (dId !== 1) {
      nd = encode(deltas, nd, dId);
      changes |= NEW_I;
    }
    if (flags & TH_PUSH) changes |= TCP_PUSH_BIT;
    // Update the state with this packet's fixed headers (options are unchanged).
    oip.set(ip.subarray(0, 20), 0);
    oth.set(ip.subarray(th, th + 20), 0);

    const withId = !this.compressSlotId || this.current !== cs.id;
    const head = (withId ? 2 : 1) + 2 + nd;
    const out = this.slab.take(head + isize - hlen);
    let p = 0;
    if (withId) {
      out[p++] = changes | NEW_C;
      out[p++] = cs.id;
      this.current = cs.id;
    } else {
      out[p++] = changes;
    }
    out[p++] = ip[th + 16]; // TCP checksum, verbatim
    out[p++] = ip[th + 17];
    for (let i = 0; i < nd; i++) out[p++] = deltas[i];
    out.set(ip.subarray(hlen), p);
    this.stats.compressed++;
    this.stats.savedBytes += hlen - head;
    return { proto: PROTO_VJC_COMP, packet: out };
  }

  /** Save the whole header in `cs` and send the datagram with the slot id in place of the protocol. */
  private sendUncompressed(ip: Uint8Array, cs: CState, ihl: number, doff: number): { proto: VjProto; packet: Uint8Array } {
    const nlen = ihl * 4;
    cs.ip.set(ip.subarray(0, nlen), 0);
    cs.tcp.set(ip.subarray(nlen, nlen + doff * 4), 0);
    this.current = cs.id;
    this.stats.uncompressed++;
    const out = this.slab.take(ip.length); // copy: the caller's datagram stays intact
    out.set(ip);
    out[9] = cs.id;
    out[0] = (out[0] & 0x0f) | 0x40; // ppp_generic: cp[0] = (cp[0] & 0x0f) | 0x40
    return { proto: PROTO_VJC_UNCOMP, packet: out };
  }
}

export interface VjDecompressorStats {
  /** COMPRESSED_TCP received (sls_i_compressed), UNCOMPRESSED_TCP received (sls_i_uncompressed). */
  compressed: number;
  uncompressed: number;
  /** Dropped by reason: error, tossed, runt, badcheck, ... */
  drops: Record<string, number>;
  /**
   * Compressed packets taken in TOSS because their TCP checksum proved the
   * rebuilt header right: with the deltas applied once (the lost frame was
   * another connection's), or two or more times (this connection's
   * previous segments were lost, with the same deltas).
   */
  repairedOnce: number;
  repairedTwice: number;
}

/** The receive side (slhc_uncompress / slhc_remember / slhc_toss). */
export class VjDecompressor {
  private readonly slots: CState[];
  /** Slot of the last packet received: the implicit connection id. */
  private current = 255;
  /**
   * TOSS: a frame was lost or bad since the last explicit connection id, so
   * compressed packets without one cannot be trusted (RFC 1144 §4.3).
   * Set initially (slhc_init): nothing has an implicit id before a refresh.
   */
  private tossing = true;
  readonly stats: VjDecompressorStats = { compressed: 0, uncompressed: 0, drops: {}, repairedOnce: 0, repairedTwice: 0 };
  /** Working copies of a slot's headers: a packet that turns out bad leaves the slot as it was. */
  private readonly ipWork = new Uint8Array(MAX_HDR);
  private readonly tcpWork = new Uint8Array(MAX_HDR);
  /** Where output datagrams are carved from. */
  private readonly slab = new Slab();
  /** Read position in the packet being uncompressed (decodeDelta). */
  private pos = 0;

  constructor(readonly maxSlotId: number) {
    if (!Number.isInteger(maxSlotId) || maxSlotId < 0 || maxSlotId > 255) {
      throw new RangeError(`VJ max slot id must be 0..255, got ${maxSlotId}`);
    }
    this.slots = [];
    for (let i = 0; i <= maxSlotId; i++) this.slots.push(new CState(i));
  }

  /** True while compressed packets with an implicit connection id are being discarded. */
  get inToss(): boolean {
    return this.tossing;
  }

  /** A frame was lost or bad (FCS error, decompression error): discard until a refresh. */
  toss(): void {
    this.tossing = true;
  }

  /**
   * One received packet of protocol `proto`: the IPv4 datagram, or undefined
   * when dropped (counted in `stats.drops`, and the TOSS state entered as the
   * kernel's ppp_receive_error does). Plain IP (0x0021) is passed through.
   */
  decompress(proto: number, packet: Uint8Array): Uint8Array | undefined {
    if (proto === PROTO_IP) return packet;
    if (proto === PROTO_VJC_UNCOMP) return this.remember(packet);
    if (proto === PROTO_VJC_COMP) return this.uncompress(packet);
    return this.drop("not-vj");
  }

  private drop(reason: string): undefined {
    this.stats.drops[reason] = (this.stats.drops[reason] ?? 0) + 1;
    this.tossing = true;
    return undefined;
  }

  /** slhc_remember: an UNCOMPRESSED_TCP refresh. */
  private remember(packet: Uint8Array): Uint8Array | undefined {
    this.stats.uncompressed++;
    const isize = packet.length;
    if (isize < 20) return this.drop("runt");
    const ihl = packet[0] & 0x0f;
    if (ihl < 5) return this.drop("runt");
    const nlen = ihl * 4;
    // Stricter than slhc (which trusts the lengths): the headers must be all there.
    if (isize < nlen + 20) return this.drop("runt");
    const doff = packet[nlen + 12] >> 4;
    if (doff < 5 || isize < nlen + doff * 4) return this.drop("runt");
    const index = packet[9];
    const out = this.slab.take(isize); // copy: the frame buffer is not ours to change
    out.set(packet);
    out[9] = IPPROTO_TCP;
    if (ipHeaderSum(out, nlen) !== 0) return this.drop("badcheck");
    if (index > this.maxSlotId) return this.drop("error");
    const cs = this.slots[index];
    this.current = index;
    this.tossing = false;
    cs.ip.set(out.subarray(0, nlen), 0);
    cs.tcp.set(out.subarray(nlen, nlen + doff * 4), 0);
    cs.initialized = true;
    return out;
  }

  /** slhc decode() at `this.pos`: one byte, or 0 then 16 bits; -1 when the packet ends first. */
  private decodeDelta(packet: Uint8Array): number {
    let p = this.pos;
    if (p >= packet.length) return -1;
    const x = packet[p++];
    if (x !== 0) {
      this.pos = p;
      return x;
    }
    if (p + 2 > packet.length) return -1;
    this.pos = p + 2;
    return (packet[p] << 8) | packet[p + 1];
  }

  /**
   * slhc_uncompress: a COMPRESSED_TCP packet.
   *
   * In TOSS (after a lost frame) slhc drops every packet without an
   * explicit connection id until the sender's next refresh, which comes
   * only with a retransmission: the whole window is lost and TCP must wait
   * for its retransmission timer (measured: 8 MiB over a 1 Gbit/s line
   * with 1.2 % of frames lost took 15 s with VJ, 1.8 s without). We try
   * first: the header is rebuilt with the deltas applied once (the lost
   * frame was another connection's), then twice (it was this connection's
   * previous segment, with the same deltas: RFC 2507 §10.1's "twice"), and
   * on up to REPAIR_MAX_TIMES (that many segments lost in a row), and a
   * rebuild is taken only when the TCP checksum, carried
   * verbatim, proves it (the IP ID, which nothing checks, may then be one
   * off until the next refresh; RFC 6864 lets receivers ignore it). A segment behind a gap then reaches TCP, whose
   * duplicate ACKs bring a fast retransmission. The wire format is
   * unchanged; the sender cannot tell.
   */
  private uncompress(packet: Uint8Array): Uint8Array | undefined {
    this.stats.compressed++;
    const isize = packet.length;
    if (isize < 3) return this.drop("error");
    const changes = packet[0];
    let p = 1;
    // In TOSS even an explicit connection id does not make the slot's state current (slhc trusts it
    // and rebuilds from stale state, which TCP then drops): the same proof applies.
    const repairing = this.tossing;
    if (changes & NEW_C) {
      const x = packet[p++];
      if (x > this.maxSlotId || !this.slots[x].initialized) return this.drop("error");
      this.current = x;
    }
    const cs = this.slots[this.current];
    if (cs === undefined || !cs.initialized) return this.drop(repairing ? "tossed" : "error");
    if (p + 2 > isize) return this.drop("error");
    if (!repairing) {
      const len = this.rebuild(packet, p, cs, 1);
      if (len < 0) return this.drop("error");
      return this.commit(packet, cs, len);
    }
    for (let times = 1; times <= REPAIR_MAX_TIMES; times++) {
      const len = this.rebuild(packet, p, cs, times);
      if (len >= 0 && this.tcpChecksumOk(packet, len)) {
        this.tossing = false;
        if (times === 1) this.stats.repairedOnce++;
        else this.stats.repairedTwice++;
        return this.commit(packet, cs, len);
      }
    }
    return this.drop("tossed");
  }

  /**
   * Rebuild the headers of the COMPRESSED_TCP `packet` (its deltas start at
   * `p`, after the change mask and any connection id) from the slot `cs`
   * into ipWork/tcpWork, each delta applied `times` times; the slot itself
   * is not touched. Returns the datagram's length, or -1 if the packet is
   * malformed. The payload starts at `this.pos`.
   */
  private rebuild(packet: Uint8Array, p: number, cs: CState, times: number): number {
    const isize = packet.length;
    const changes = packet[0];
    const ip = this.ipWork;
    const th = this.tcpWork;
    ip.set(cs.ip);
    th.set(cs.tcp);
    th[16] = packet[p++]; // TCP checksum, verbatim
    th[17] = packet[p++];
    th[13] = changes & TCP_PUSH_BIT ? th[13] | TH_PUSH : th[13] & ~TH_PUSH;
    const ihl = ip[0] & 0x0f;
    const doff = th[12] >> 4;
    const hdrlen = ihl * 4 + doff * 4;
    this.pos = p;
    switch (changes & SPECIALS_MASK) {
      case SPECIAL_I: {
        const i = (u16(ip, 2) - hdrlen) * times;
        put32(th, 8, u32(th, 8) + i);
        put32(th, 4, u32(th, 4) + i);
        break;
      }
      case SPECIAL_D:
        put32(th, 4, u32(th, 4) + (u16(ip, 2) - hdrlen) * times);
        break;
      default: {
        if (changes & NEW_U) {
          th[13] |= TH_URG;
          const x = this.decodeDelta(packet);
          if (x < 0) return -1;
          put16(th, 18, x); // the urgent pointer itself, not a delta
        } else th[13] &= ~TH_URG;
        if (changes & NEW_W) {
          const x = this.decodeDelta(packet);
          if (x < 0) return -1;
          put16(th, 14, u16(th, 14) + x * times);
        }
        if (changes & NEW_A) {
          const x = this.decodeDelta(packet);
          if (x < 0) return -1;
          put32(th, 8, u32(th, 8) + x * times);
        }
        if (changes & NEW_S) {
          const x = this.decodeDelta(packet);
          if (x < 0) return -1;
          put32(th, 4, u32(th, 4) + x * times);
        }
      }
    }
    if (changes & NEW_I) {
      const x = this.decodeDelta(packet);
      if (x < 0) return -1;
      put16(ip, 4, u16(ip, 4) + x * times);
    } else put16(ip, 4, u16(ip, 4) + times);
    const dataLen = isize - this.pos;
    if (dataLen < 0) return -1;
    const len = dataLen + hdrlen;
    if (len > 0xffff) return -1;
    put16(ip, 2, len);
    ip[10] = 0;
    ip[11] = 0;
    put16(ip, 10, ipHeaderSum(ip, ihl * 4));
    return len;
  }

  /** Does the rebuilt header + the payload of `packet` pass the TCP checksum (RFC 9293 §3.1)? */
  private tcpChecksumOk(packet: Uint8Array, len: number): boolean {
    const ip = this.ipWork;
    const th = this.tcpWork;
    const tcpLen = len - (ip[0] & 0x0f) * 4;
    let sum = pseudoHeaderSum(readIp4(ip, 12), readIp4(ip, 16), IPPROTO_TCP, tcpLen);
    sum = sumWords(th.subarray(0, (th[12] >> 4) * 4), sum);
    sum = sumWords(packet.subarray(this.pos), sum); // the TCP header is a whole number of words, so the payload stays aligned
    return finish(sum) === 0;
  }

  /** Deliver the rebuilt datagram (headers + the payload at `this.pos`) and make it the slot's state. */
  private commit(packet: Uint8Array, cs: CState, len: number): Uint8Array {
    const ip = this.ipWork;
    const th = this.tcpWork;
    const nlen = (ip[0] & 0x0f) * 4;
    const tlen = (th[12] >> 4) * 4;
    const out = this.slab.take(len);
    out.set(ip.subarray(0, nlen), 0);
    out.set(th.subarray(0, tlen), nlen);
    out.set(packet.subarray(this.pos), nlen + tlen);
    cs.ip.set(ip);
    cs.tcp.set(th);
    return out;
  }
}

// --- IPCP option 2, IP-Compression-Protocol (RFC 1332 §3.2) ------------------

/** RFC 1332 §3.2 option type, and the RFC 1172 value old pppd peers still send. */
export const CI_COMPRESSTYPE = 2;
export const IPCP_VJ_COMP_OLD = 0x0037;
/** Option lengths: with Max-Slot-Id and Comp-Slot-Id (CILEN_VJ), and the old 4-byte form. */
export const CILEN_VJ = 6;
export const CILEN_COMPRESS = 4;

/** The option's value: protocol, and (RFC 1332 form) Max-Slot-Id and Comp-Slot-Id. */
export interface VjOptionValue {
  protocol: number;
  /** Undefined in the old 4-byte form (then pppd assumes 15 and 1). */
  maxSlotId?: number;
  compSlotId?: boolean;
}

/** What we let the peer ask for (pppd allow options: neg_vj, maxslotindex, cflag). */
export interface VjAllow {
  enabled: boolean;
  maxSlotId: number;
  compSlotId: boolean;
}

/** Codec and pppd printer for IPCP option 2, to be declared once in ipcp.ts's table. */
export const vjOption = {
  type: CI_COMPRESSTYPE,
  name: "compress",
  decode(d: Uint8Array): VjOptionValue | undefined {
    if (d.length === CILEN_VJ - 2) return { protocol: u16(d, 0), maxSlotId: d[2], compSlotId: d[3] !== 0 };
    if (d.length === CILEN_COMPRESS - 2) return { protocol: u16(d, 0) };
    return undefined;
  },
  encode(v: VjOptionValue): Uint8Array {
    if (v.maxSlotId === undefined) return Uint8Array.of(v.protocol >>> 8, v.protocol & 0xff);
    return Uint8Array.of(v.protocol >>> 8, v.protocol & 0xff, v.maxSlotId, v.compSlotId ? 1 : 0);
  },
  /** pppd ipcp_printpkt: "compress VJ" / "compress old-VJ" / "compress 0x%x", then the rest in hex. */
  print(d: Uint8Array): string | undefined {
    if (d.length < 2) return undefined;
    const p = u16(d, 0);
    const name = p === PROTO_VJC_COMP ? "VJ" : p === IPCP_VJ_COMP_OLD ? "old-VJ" : "0x" + p.toString(16);
    let s = `compress ${name}`;
    for (const b of d.subarray(2)) s += " " + b.toString(16).padStart(2, "0");
    return s;
  },
};

/** The value pppd asks for by default: VJ, 16 slots, slot-id compression: `<compress VJ 0f 01>`. */
export const defaultVjOption = (): VjOptionValue => ({ protocol: PROTO_VJC_COMP, maxSlotId: MAX_STATES - 1, compSlotId: true });

/**
 * pppd ipcp_reqci CI_COMPRESSTYPE: the peer asks us to send it VJ-compressed
 * packets. Reject when we do not allow VJ or the protocol is unknown; Nak a
 * Max-Slot-Id above ours, or Comp-Slot-Id when we do not allow it. On Ack,
 * `his` is what the compressor must use (old form: 15 and 1).
 */
export function vjCheck(
  v: VjOptionValue, allow: VjAllow,
): { kind: "ack"; his: Required<VjOptionValue> } | { kind: "nak"; value: VjOptionValue } | { kind: "rej" } {
  if (!allow.enabled) return { kind: "rej" };
  const old = v.maxSlotId === undefined;
  if (!(v.protocol === PROTO_VJC_COMP || (v.protocol === IPCP_VJ_COMP_OLD && old))) return { kind: "rej" };
  if (old) return { kind: "ack", his: { protocol: v.protocol, maxSlotId: MAX_STATES - 1, compSlotId: true } };
  let nak = false;
  let maxSlotId = v.maxSlotId!;
  let compSlotId = v.compSlotId!;
  if (maxSlotId > allow.maxSlotId) {
    nak = true;
    maxSlotId = allow.maxSlotId;
  }
  if (compSlotId && !allow.compSlotId) {
    nak = true;
    compSlotId = allow.compSlotId;
  }
  if (nak) return { kind: "nak", value: { protocol: v.protocol, maxSlotId, compSlotId } };
  return { kind: "ack", his: { protocol: v.protocol, maxSlotId, compSlotId } };
}

/**
 * pppd ipcp_nakci CI_COMPRESSTYPE: the peer Nak'd our VJ request with `v`.
 * Returns what to ask next (undefined = stop asking for VJ).
 */
export function vjNak(v: VjOptionValue, ours: VjOptionValue): VjOptionValue | undefined {
  if (v.maxSlotId !== undefined) {
    if (v.protocol !== PROTO_VJC_COMP) return undefined;
    return {
      protocol: PROTO_VJC_COMP,
      maxSlotId: Math.min(v.maxSlotId, ours.maxSlotId ?? MAX_STATES - 1),
      compSlotId: (ours.compSlotId ?? true) && v.compSlotId === true,
    };
  }
  if (v.protocol === PROTO_VJC_COMP || v.protocol === IPCP_VJ_COMP_OLD) return { protocol: v.protocol }; // old 4-byte form
  return undefined;
}
