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
 * Slicing-by-4 companions of FCS16_TABLE: FCS16_TABLE_k[b] is the FCS-16
 * step for byte b followed by k zero bytes, so four bytes fold in with four
 * independent lookups instead of a chain of four dependent ones.
 */
export const FCS16_T1 = new Uint16Array(256);
export const FCS16_T2 = new Uint16Array(256);
export const FCS16_T3 = new Uint16Array(256);
for (let b = 0; b < 256; b++) {
  FCS16_T1[b] = (FCS16_TABLE[b] >>> 8) ^ FCS16_TABLE[FCS16_TABLE[b] & 0xff];
  FCS16_T2[b] = (FCS16_T1[b] >>> 8) ^ FCS16_TABLE[FCS16_T1[b] & 0xff];
  FCS16_T3[b] = (FCS16_T2[b] >>> 8) ^ FCS16_TABLE[FCS16_T2[b] & 0xff];
}

/** Run FCS-16 over `buf` starting from `fcs` (RFC 1662 §C.2 pppfcs16, four bytes a step). */
export function fcs16(buf: Uint8Array, fcs: number = FCS16_INIT): number {
  const n = buf.length;
  let i = 0;
  fcs &= 0xffff;
  for (const n4 = n - 3; i < n4; i += 4) {
    const x = fcs ^ (buf[i] | (buf[i + 1] << 8));
    fcs = FCS16_T3[x & 0xff] ^ FCS16_T2[x >>> 8] ^ FCS16_T1[buf[i + 2]] ^ FCS16_TABLE[buf[i + 3]];
  }
  for (; i < n; i++) fcs = (fcs >>> 8) ^ FCS16_TABLE[(fcs ^ buf[i]) & 0xff];
  return fcs;
}

/** Run FCS-32 over `buf` starting from `fcs` (RFC 1662 §C.3 pppfcs32). */
export function fcs32(buf: Uint8Array, fcs: number = FCS32_INIT): number {
  for (let i = 0; i < buf.length; i++) fcs = (fcs >>> 8) ^ FCS32_TABLE[(fcs ^ buf[i]) & 0xff];
  return fcs >>> 0;
}
