/**
 * PPP BSD-Compress (RFC 1977) per-packet codec, sans-I/O; wire- and
 * dictionary-compatible with the Linux kernel's drivers/net/ppp/bsd_comp.c
 * (the peer pppd drives), which is LZW as in 4.3BSD compress(1), fitted to
 * a packet stream.
 *
 * A compressed packet (PPP protocol 0x00fd) carries a 2-byte sequence
 * number, then LZW codes, most significant bit first, packed with no gaps.
 * The first "character" of each packet is the protocol's low byte: only
 * protocols 0x0021..0x00f9 are compressed (bsd_compress returns 0 for the
 * rest), so the high byte is always 0 and is not sent. Codes start 9 bits
 * wide and grow to the negotiated maximum (9..15); 256 is CLEAR and is only
 * ever the last code of a packet; the last byte's unused low bits are ones.
 * Unlike compress(1), a code-size change emits no padding, and the first
 * code of each packet adds no dictionary entry (the decoder starts each
 * packet with oldcode = CLEAR).
 *
 * The dictionary lives on across packets, so both ends must update it the
 * same way for every packet in range, including the ones sent uncompressed
 * because they did not shrink: the sender ran them through the compressor,
 * the receiver runs them through the same compressor and throws the output
 * away (bsd_incomp). That is why the open-addressed hash table is copied
 * exactly (hsize, hshift, probe sequence, code -> slot map and the
 * invalidation of a reused code's old slot): a lookup miss caused by the
 * table's layout changes the code numbering, and both tables must miss
 * together. For the same reason the ratio check that clears a full
 * dictionary (bsd_check: every CHECK_GAP input bytes, clear if the ratio,
 * in 1/RATIO_SCALE units, fell or is below 1) is computed identically on
 * both sides from the same counts: for an uncompressed packet the CLEAR
 * code goes nowhere and both sides clear on their own.
 *
 * Decompression errors follow the kernel: a sequence gap is DECOMP_ERROR
 * (`fatal: false`; the caller sends a CCP Reset-Request), a bad code or an
 * overrun of the MRU is DECOMP_FATALERROR (`fatal: true`; pppd takes CCP
 * down, ccp.ts sends a Reset-Request unless configured as pppd). A reset
 * (Reset-Ack) clears the dictionary and sets the sequence number to 0.
 *
 * The bit accumulator is 32 bits here, as the 4.3BSD code assumes ("relying
 * on the 32-bit, unsigned accm to mask the result" in bsd_decompress). The
 * kernel declares it `unsigned long`, which is 64 bits on 64-bit Linux; its
 * compressor does not care (each output byte is cast to 8 bits) but its
 * decompressor then carries earlier codes' bits above bit 31 into later
 * codes, so an x86_64 Linux peer fails (DECOMP_FATALERROR, pppd "Lost
 * compression sync") on our first packet of two codes or more, and pppd
 * takes CCP down; data then flows uncompressed. Its compressor is fine:
 * with `bsdcomp 15,0` (ask the peer to compress toward us, never compress
 * toward it) that direction is compressed. test/interop/bsd-interop.test.ts
 * shows both.
 */
import { PPP_COMP } from "./deflate.js";

/** RFC 1977 §2.1 / bsd_comp.c BSD_OVHD: the 2-byte sequence number ahead of the codes. */
export const BSD_OVHD = 2;
/** bsd_comp.c MIN_BSD_BITS / MAX_BSD_BITS: code sizes the kernel can allocate (16 is refused). */
export const BSD_MIN_BITS = 9;
export const BSD_MAX_BITS = 15;
/** RFC 1977 §3 version in the option's top three bits (BSD_CURRENT_VERSION). */
export const BSD_CURRENT_VERSION = 1;

/** bsd_comp.c: CLEAR code, first free code, largest literal. */
const CLEAR = 256;
const FIRST = 257;
const LAST = 255;
/** Initial code width (BSD_INIT_BITS). */
const BSD_INIT_BITS = BSD_MIN_BITS;
/** bsd_comp.c: ratio check interval in input bytes, and the ratio's fixed point. */
export const CHECK_GAP = 10000;
const RATIO_SCALE_LOG = 8;
const RATIO_SCALE = 1 << RATIO_SCALE_LOG;
const RATIO_MAX = 0x7fffffff >> RATIO_SCALE_LOG;

const maxCode = (bits: number): number => (1 << bits) - 1;
/** "No code here" marker in a hash slot (MAXCODE(MAX_BSD_BITS)), always >= max_ent. */
const BADCODEM1 = maxCode(BSD_MAX_BITS);

/** The option's value byte (BSD_MAKE_OPT) and its halves. */
export const bsdMakeOpt = (version: number, bits: number): number => ((version & 7) << 5) | (bits & 0x1f);
export const bsdVersion = (opt: number): number => opt >> 5;
export const bsdNbits = (opt: number): number => opt & 0x1f;

/** bsd_compress: only protocols 0x21..0xf9 go through the dictionary (and become 0x00fd). */
export function bsdCompressibleProtocol(proto: number): boolean {
  return proto >= 0x21 && proto <= 0xf9;
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < BSD_MIN_BITS || bits > BSD_MAX_BITS) {
    throw new RangeError(`BSD-Compress code size must be ${BSD_MIN_BITS}..${BSD_MAX_BITS}, got ${bits}`);
  }
}

/** bsd_alloc: hash table size and shift per code size. */
function hashShape(bits: number): { hsize: number; hshift: number } {
  if (bits <= 12) return { hsize: 5003, hshift: 4 };
  if (bits === 13) return { hsize: 9001, hshift: 5 };
  if (bits === 14) return { hsize: 18013, hshift: 6 };
  return { hsize: 35023, hshift: 7 };
}

export interface BsdStats {
  /** Packets and bytes (protocol byte + data) that went through the dictionary. */
  uncPackets: number;
  uncBytes: number;
  /** Compressed packets and their bytes on the wire (sequence number + codes). */
  compPackets: number;
  compBytes: number;
  /** Packets that did not shrink (sent, or received, as they were). */
  incPackets: number;
  incBytes: number;
  /** Dictionary clears by the ratio check or a received CLEAR code (not resets). */
  clears: number;
}

/**
 * The dictionary both directions share the shape of (struct bsd_db). The
 * hash slot arrays are the kernel's struct bsd_dict split in three:
 * `fcode` (suffix << 16 | prefix), `codem1` (code - 1 stored in the slot)
 * and `cptr` (indexed by CODE: the slot that holds it).
 */
class BsdDb {
  readonly hsize: number;
  readonly hshift: number;
  readonly maxmaxcode: number;
  readonly fcode: Int32Array;
  readonly codem1: Uint16Array;
  readonly cptr: Uint16Array;
  /** Decompressor only: string length per code. */
  readonly lens: Uint16Array | undefined;
  nBits = BSD_INIT_BITS;
  maxEnt = FIRST - 1;
  seqno = 0;
  /** Input bytes and output bytes since the last clear, aged (bsd_check). */
  inCount = 0;
  bytesOut = 0;
  ratio = 0;
  checkpoint = CHECK_GAP;
  readonly stats: BsdStats = { uncPackets: 0, uncBytes: 0, compPackets: 0, compBytes: 0, incPackets: 0, incBytes: 0, clears: 0 };
  /** Scratch for compressor output: sequence number + codes (the worst case is 2 bytes per input byte). */
  out = new Uint8Array(4096);

  constructor(readonly maxbits: number, decomp: boolean) {
    checkBits(maxbits);
    const { hsize, hshift } = hashShape(maxbits);
    this.hsize = hsize;
    this.hshift = hshift;
    this.maxmaxcode = maxCode(maxbits);
    this.fcode = new Int32Array(hsize);
    this.codem1 = new Uint16Array(hsize).fill(BADCODEM1);
    this.cptr = new Uint16Array(hsize);
    if (decomp) {
      this.lens = new Uint16Array(this.maxmaxcode + 1);
      this.lens.fill(1, 0, LAST + 1);
    }
    this.reset();
  }

  /** bsd_clear (its clear_count is our stats.clears, counted by the callers that are not a reset). */
  clear(): void {
    this.maxEnt = FIRST - 1;
    this.nBits = BSD_INIT_BITS;
    this.bytesOut = 0;
    this.inCount = 0;
    this.ratio = 0;
    this.checkpoint = CHECK_GAP;
  }

  /** bsd_reset (CCP Reset-Ack): clear, sequence 0. */
  reset(): void {
    this.clear();
    this.seqno = 0;
  }

  /** bsd_check: true when the dictionary was just cleared and a CLEAR code is due. */
  check(): boolean {
    if (this.inCount >= this.checkpoint) {
      if (this.inCount >= RATIO_MAX || this.bytesOut >= RATIO_MAX) {
        this.inCount -= this.inCount >>> 2;
        this.bytesOut -= this.bytesOut >>> 2;
      }
      this.checkpoint = this.inCount + CHECK_GAP;
      if (this.maxEnt >= this.maxmaxcode) {
        let newRatio = this.inCount << RATIO_SCALE_LOG;
        if (this.bytesOut !== 0) newRatio = Math.floor(newRatio / this.bytesOut);
        if (newRatio < this.ratio || newRatio < 1 * RATIO_SCALE) {
          this.clear();
          this.stats.clears++;
          return true;
        }
        this.ratio = newRatio;
      }
    }
    return false;
  }

  /**
   * bsd_compress, whole: run protocol byte + `data` through the dictionary
   * and write sequence number + codes into `this.out`. Returns the wire
   * length (sequence number included). The caller checks the protocol.
   */
  compress(proto: number, data: Uint8Array): number {
    const need = BSD_OVHD + 2 * (data.length + 2) + 4;
    if (this.out.length < need) this.out = new Uint8Array(need * 2);
    const out = this.out;
    const { hshift, hsize, fcode: fcodes, codem1, cptr, lens, maxmaxcode } = this;
    let maxEnt = this.maxEnt;
    let nBits = this.nBits;
    let bitno = 32;
    let accm = 0;
    let mxcode = maxCode(nBits);
    out[0] = (this.seqno >>> 8) & 0xff;
    out[1] = this.seqno & 0xff;
    let olen = BSD_OVHD;
    let ent = proto;
    const n = data.length;
    for (let i = 0; i < n; i++) {
      const c = data[i];
      const fcode = (c << 16) + ent;
      let hval = (c << hshift) ^ ent;
      found: {
        if (codem1[hval] >= maxEnt) break found; // an empty (or stale) slot: nomatch
        if (fcodes[hval] === fcode) {
          ent = codem1[hval] + 1;
          continue;
        }
        const disp = hval === 0 ? 1 : hval;
        for (;;) {
          hval += disp;
          if (hval >= hsize) hval -= hsize;
          if (codem1[hval] >= maxEnt) break found;
          if (fcodes[hval] === fcode) break;
        }
        ent = codem1[hval] + 1;
        continue;
      }
      // nomatch: OUTPUT(ent), then give (ent, c) the next code if there is room.
      bitno -= nBits;
      accm = (accm | (ent << bitno)) >>> 0;
      do {
        out[olen++] = accm >>> 24;
        accm = (accm << 8) >>> 0;
        bitno += 8;
      } while (bitno <= 24);
      if (maxEnt < maxmaxcode) {
        if (maxEnt >= mxcode) {
          this.nBits = ++nBits;
          mxcode = maxCode(nBits);
        }
        // Take over the code's slot: the slot that held code maxEnt+1 before (a stale entry) is emptied.
        const old = cptr[maxEnt + 1];
        if (codem1[old] === maxEnt) codem1[old] = BADCODEM1;
        cptr[maxEnt + 1] = hval;
        codem1[hval] = maxEnt;
        fcodes[hval] = fcode;
        this.maxEnt = ++maxEnt;
        if (lens) lens[maxEnt] = lens[ent] + 1;
      }
      ent = c;
    }
    // OUTPUT(ent): the last code.
    bitno -= nBits;
    accm = (accm | (ent << bitno)) >>> 0;
    do {
      out[olen++] = accm >>> 24;
      accm = (accm << 8) >>> 0;
      bitno += 8;
    } while (bitno <= 24);

    const isize = n + 1; // the protocol byte counts as input
    this.bytesOut += olen - BSD_OVHD;
    this.inCount += isize;
    this.stats.uncPackets++;
    this.stats.uncBytes += isize;
    this.seqno = (this.seqno + 1) & 0xffff;
    if (bitno < 32) this.bytesOut++; // the dribble byte, counted before bsd_check
    if (this.check()) {
      // OUTPUT(CLEAR) at the width in use for this packet.
      bitno -= nBits;
      accm = (accm | (CLEAR << bitno)) >>> 0;
      do {
        out[olen++] = accm >>> 24;
        accm = (accm << 8) >>> 0;
        bitno += 8;
      } while (bitno <= 24);
    }
    // Pad the dribble bits with ones; no byte of ones alone.
    if (bitno !== 32) out[olen++] = ((accm | (0xff << (bitno - 8))) >>> 24) & 0xff;
    // The decoder widens codes as it adds this entry; so do we, for the next packet.
    if (maxEnt >= mxcode && maxEnt < maxmaxcode) this.nBits++;
    return olen;
  }
}

/** The transmit side (bsd_comp_alloc/bsd_compress). */
export class BsdCompressor {
  private readonly db: BsdDb;

  constructor(readonly bits: number) {
    this.db = new BsdDb(bits, false);
  }

  get stats(): BsdStats {
    return this.db.stats;
  }

  /** CCP Reset-Ack sent (or a new negotiation): empty dictionary, sequence 0 (bsd_reset). */
  reset(): void {
    this.db.reset();
  }

  /** Current code width (for tests and logs). */
  get codeBits(): number {
    return this.db.nBits;
  }

  /**
   * Compress one packet of protocol `proto` (information field `data`).
   * Returns `{ proto: 0x00fd, packet }` (a fresh copy) when it shrank, else
   * the packet as it was; protocols outside 0x21..0xf9 are not touched.
   */
  compress(proto: number, data: Uint8Array): { proto: number; packet: Uint8Array } {
    if (!bsdCompressibleProtocol(proto)) return { proto, packet: data };
    const olen = this.db.compress(proto, data);
    // bsd_compress gives up once the output reaches the input's size (osize = min(osize, isize)):
    // 4-byte PPP header + seq + codes must stay below 4-byte PPP header + data.
    if (olen >= data.length) {
      this.db.stats.incPackets++;
      this.db.stats.incBytes += data.length + 1;
      return { proto, packet: data };
    }
    this.db.stats.compPackets++;
    this.db.stats.compBytes += olen;
    return { proto: PPP_COMP, packet: this.db.out.slice(0, olen) };
  }
}

/** Why a compressed packet was not delivered. */
export type BsdError = "short" | "seq" | "bad-clear" | "bad-code" | "chain" | "mru" | "no-proto";

export type BsdDecompressResult =
  | { ok: true; proto: number; packet: Uint8Array }
  | { ok: false; error: BsdError; fatal: boolean; detail: string };

/** The receive side (bsd_decomp_alloc/bsd_decompress/bsd_incomp). */
export class BsdDecompressor {
  private readonly db: BsdDb;
  private out: Uint8Array;
  /** Failures by reason. */
  readonly errors: Record<string, number> = {};

  /** `mru`: the largest packet (protocol field excluded) we accept after decompressing. */
  constructor(readonly bits: number, readonly mru: number) {
    this.db = new BsdDb(bits, true);
    this.out = new Uint8Array(mru + 1); // protocol byte + mru
  }

  get stats(): BsdStats {
    return this.db.stats;
  }

  /** CCP Reset-Ack received (or a new negotiation): empty dictionary, sequence 0. */
  reset(): void {
    this.db.reset();
  }

  get expectedSeq(): number {
    return this.db.seqno;
  }

  get codeBits(): number {
    return this.db.nBits;
  }

  private fail(error: BsdError, fatal: boolean, detail: string): BsdDecompressResult {
    this.errors[error] = (this.errors[error] ?? 0) + 1;
    return { ok: false, error, fatal, detail };
  }

  /** One received 0x00fd packet (information field: sequence number + codes). */
  decompress(packet: Uint8Array): BsdDecompressResult {
    const db = this.db;
    if (packet.length < BSD_OVHD) return this.fail("short", false, `short packet (${packet.length})`);
    const seq = (packet[0] << 8) | packet[1];
    if (seq !== db.seqno) return this.fail("seq", false, `bad sequence # ${seq}, expected ${db.seqno}`);
    db.seqno = (db.seqno + 1) & 0xffff;
    let ilen = packet.length - BSD_OVHD;
    db.bytesOut += ilen;

    const { hshift, hsize, fcode: fcodes, codem1, cptr, maxmaxcode } = db;
    const lens = db.lens!;
    const out = this.out;
    const osize = out.length;
    let maxEnt = db.maxEnt;
    let nBits = db.nBits;
    let tgtbitno = 32 - nBits;
    let accm = 0;
    let bitno = 32;
    let oldcode = CLEAR;
    let explen = 0; // bytes written to `out` (the kernel's explen - 3)
    let ip = BSD_OVHD;
    let cleared = false;
    for (;;) {
      if (ilen-- <= 0) {
        db.inCount += explen;
        break;
      }
      bitno -= 8;
      accm = (accm | (packet[ip++] << bitno)) >>> 0;
      if (tgtbitno < bitno) continue;
      const incode = accm >>> tgtbitno;
      accm = (accm << nBits) >>> 0;
      bitno += nBits;

      if (incode === CLEAR) {
        // Only ever the last code of a packet.
        if (ilen > 0) return this.fail("bad-clear", true, "bad CLEAR");
        db.clear();
        db.stats.clears++;
        cleared = true;
        break;
      }
      // A code is at most one past the dictionary (KwKwK), never past it on a packet's first code.
      // (The kernel lets max_ent + 2 through to garbage; no compressor sends it.)
      if (incode > maxEnt + 1 || incode > maxmaxcode || (incode > maxEnt && oldcode === CLEAR)) {
        return this.fail("bad-code", true, `bad code 0x${incode.toString(16)} oldcode=0x${oldcode.toString(16)} max_ent=0x${maxEnt.toString(16)} explen=${explen} seqno=${db.seqno}`);
      }
      let finchar: number;
      let extra: boolean;
      if (incode > maxEnt) {
        finchar = oldcode; // KwKwK: the previous string and its own first byte
        extra = true;
      } else {
        finchar = incode;
        extra = false;
      }
      let codelen = lens[finchar];
      if (explen + codelen + (extra ? 1 : 0) > osize) return this.fail("mru", true, "ran out of mru");
      // Walk the chain backwards from the string's last byte.
      let p = explen + codelen;
      explen = p;
      while (finchar > LAST) {
        const slot = cptr[finchar];
        if (--codelen <= 0 || codem1[slot] !== finchar - 1) {
          return this.fail("chain", true, `bad code chain 0x${incode.toString(16)} at 0x${finchar.toString(16)}`);
        }
        const f = fcodes[slot];
        out[--p] = (f >>> 16) & 0xff;
        finchar = f & 0xffff;
      }
      out[--p] = finchar;
      if (extra) out[explen++] = finchar;

      // Every code but a packet's first adds (oldcode, first byte of this string), while there is room.
      if (oldcode !== CLEAR && maxEnt < maxmaxcode) {
        const fcode = (finchar << 16) + oldcode;
        let hval = (finchar << hshift) ^ oldcode;
        if (codem1[hval] < maxEnt) {
          const disp = hval === 0 ? 1 : hval;
          do {
            hval += disp;
            if (hval >= hsize) hval -= hsize;
          } while (codem1[hval] < maxEnt);
        }
        const old = cptr[maxEnt + 1];
        if (codem1[old] === maxEnt) codem1[old] = BADCODEM1;
        cptr[maxEnt + 1] = hval;
        codem1[hval] = maxEnt;
        fcodes[hval] = fcode;
        db.maxEnt = ++maxEnt;
        lens[maxEnt] = lens[oldcode] + 1;
        if (maxEnt >= maxCode(nBits) && maxEnt < maxmaxcode) {
          db.nBits = ++nBits;
          tgtbitno = 32 - nBits;
        }
      }
      oldcode = incode;
    }
    db.stats.compPackets++;
    db.stats.compBytes += packet.length;
    db.stats.uncPackets++;
    db.stats.uncBytes += explen;
    // The kernel's bsd_check here only notices a peer that should have cleared; it keeps the counts in step.
    if (!cleared) db.check();
    if (explen === 0) return this.fail("no-proto", false, "didn't get proto");
    return { ok: true, proto: out[0], packet: out.slice(1, explen) };
  }

  /**
   * A packet that arrived uncompressed while the decompressor runs: run it
   * through the dictionary as the peer's compressor did (bsd_incomp).
   * Always true (the shape of DeflateDecompressor.incomp).
   */
  incomp(proto: number, data: Uint8Array): boolean {
    if (!bsdCompressibleProtocol(proto)) return true;
    this.db.compress(proto, data);
    this.db.stats.incPackets++;
    this.db.stats.incBytes += data.length + 1;
    return true;
  }
}
