/**
 * PPP frame check sequences (RFC 1662 §C.2 FCS-16, §C.3 FCS-32), table
 * driven. Used by the HDLC-like framing in hdlc.ts. Both are computed over
 * the unescaped bytes between flags (address through information field);
 * running the FCS over the received FCS bytes too yields the "good" value.
 */

/** RFC 1662 §C.2: initial FCS-16 value. */
export const FCS16_INIT = 0xffff;
/** RFC 1662 §C.2: FCS-16 over a frame including its FCS. */
export const FCS16_GOOD = 0xf0b8;
/** RFC 1662 §C.3: initial FCS-32 value. */
export const FCS32_INIT = 0xffffffff;
/** RFC 1662 §C.3: FCS-32 over a frame including its FCS. */
export const FCS32_GOOD = 0xdebb20e3;

/** RFC 1662 §C.2 fcstab: exported so hot loops (hdlc.ts) can inline the update `fcs = (fcs >>> 8) ^ FCS16_TABLE[(fcs ^ b) & 0xff]`. */
export const FCS16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let b = 0; b < 256; b++) {
    let v = b;
    for (let i = 0; i < 8; i++) v = v & 1 ? (v >>> 1) ^ 0x8408 : v >>> 1;
    t[b] = v;
  }
  return t;
})();

const FCS32_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let b = 0; b < 256; b++) {
    let v = b;
    for (let i = 0; i < 8; i++) v = v & 1 ? (v >>> 1) ^ 0xedb88320 : v >>> 1;
    t[b] = v >>> 0;
  }
  return t;
})();

/**
 * Slicing-by-N companions of FCS16_TABLE: FCS16_Tk[b] is the FCS-16 step
 * for byte b followed by k zero bytes, so N bytes fold in with N
 * independent lookups instead of a chain of N dependent ones.
 */
function nextSlice(prev: Uint16Array): Uint16Array {
  const t = new Uint16Array(256);
  for (let b = 0; b < 256; b++) t[b] = (prev[b] >>> 8) ^ FCS16_TABLE[prev[b] & 0xff];
  return t;
}
export const FCS16_T1 = nextSlice(FCS16_TABLE);
export const FCS16_T2 = nextSlice(FCS16_T1);
export const FCS16_T3 = nextSlice(FCS16_T2);
export const FCS16_T4 = nextSlice(FCS16_T3);
export const FCS16_T5 = nextSlice(FCS16_T4);
export const FCS16_T6 = nextSlice(FCS16_T5);
export const FCS16_T7 = nextSlice(FCS16_T6);

/**
 * Run FCS-16 over `buf` starting from `fcs` (RFC 1662 §C.2 pppfcs16),
 * eight bytes a step (slicing-by-8: ~1.5 GB/s on 1500-byte frames on the
 * bench machine, against ~1.0 GB/s by 4 and ~0.4 GB/s a byte at a time).
 */
export function fcs16(buf: Uint8Array, fcs: number = FCS16_INIT): number {
  const n = buf.length;
  // The tables in locals: V8 reads module bindings through the module context on every use.
  const t0 = FCS16_TABLE, t1 = FCS16_T1, t2 = FCS16_T2, t3 = FCS16_T3;
  const t4 = FCS16_T4, t5 = FCS16_T5, t6 = FCS16_T6, t7 = FCS16_T7;
  let i = 0;
  fcs &= 0xffff;
  for (const n8 = n - 7; i < n8; i += 8) {
    const x = fcs ^ (buf[i] | (buf[i + 1] << 8));
    fcs = t7[x & 0xff] ^ t6[x >>> 8] ^ t5[buf[i + 2]] ^ t4[buf[i + 3]] ^ t3[buf[i + 4]] ^ t2[buf[i + 5]] ^ t1[buf[i + 6]] ^ t0[buf[i + 7]];
  }
  for (; i < n; i++) fcs = (fcs >>> 8) ^ t0[(fcs ^ buf[i]) & 0xff];
  return fcs;
}

/** Run FCS-32 over `buf` starting from `fcs` (RFC 1662 §C.3 pppfcs32). */
export function fcs32(buf: Uint8Array, fcs: number = FCS32_INIT): number {
  for (let i = 0; i < buf.length; i++) fcs = (fcs >>> 8) ^ FCS32_TABLE[(fcs ^ buf[i]) & 0xff];
  return fcs >>> 0;
}
