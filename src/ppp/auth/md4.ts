/**
 * MD4 message digest (RFC 1320), for MS-CHAPv2's NtPasswordHash
 * (RFC 2759 §8.3). Node 20's OpenSSL 3 keeps MD4 in the legacy provider,
 * which is not loaded, so it lives here: small, one-shot, no streaming.
 *
 * MD4 is broken as a general hash; it is used only because RFC 2759 demands it.
 */

/** RFC 1320 §3.3 initial buffer (A, B, C, D), little-endian words. */
const INIT = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476] as const;
/** RFC 1320 §3.4 round 2 and 3 additive constants (sqrt 2 and sqrt 3). */
const ROUND2_K = 0x5a827999;
const ROUND3_K = 0x6ed9eba1;
/** RFC 1320 §3.4 shift amounts and word orders per round. */
const R1_S = [3, 7, 11, 19];
const R2_S = [3, 5, 9, 13];
const R3_S = [3, 9, 11, 15];
const R2_ORDER = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
const R3_ORDER = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];

const rotl = (x: number, s: number): number => ((x << s) | (x >>> (32 - s))) >>> 0;

/** The 16-octet MD4 digest of `msg`. */
export function md4(msg: Uint8Array): Uint8Array {
  // RFC 1320 §3.1-3.2: append 0x80, zeros to 56 mod 64, then the bit length as 64-bit little-endian.
  const total = Math.ceil((msg.length + 9) / 64) * 64;
  const buf = new Uint8Array(total);
  buf.set(msg);
  buf[msg.length] = 0x80;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bits = msg.length * 8;
  view.setUint32(total - 8, bits >>> 0, true);
  view.setUint32(total - 4, Math.floor(bits / 2 ** 32) >>> 0, true);

  let [a, b, c, d] = INIT as unknown as number[];
  const x = new Array<number>(16);
  for (let block = 0; block < total; block += 64) {
    for (let i = 0; i < 16; i++) x[i] = view.getUint32(block + 4 * i, true);
    const aa = a, bb = b, cc = c, dd = d;
    // Round 1: F(X,Y,Z) = XY v not(X) Z
    for (let i = 0; i < 16; i++) {
      const f = ((b & c) | (~b & d)) >>> 0;
      const t = rotl((a + f + x[i]) >>> 0, R1_S[i % 4]);
      [a, b, c, d] = [d, t, b, c];
    }
    // Round 2: G(X,Y,Z) = XY v XZ v YZ
    for (let i = 0; i < 16; i++) {
      const g = ((b & c) | (b & d) | (c & d)) >>> 0;
      const t = rotl((a + g + x[R2_ORDER[i]] + ROUND2_K) >>> 0, R2_S[i % 4]);
      [a, b, c, d] = [d, t, b, c];
    }
    // Round 3: H(X,Y,Z) = X xor Y xor Z
    for (let i = 0; i < 16; i++) {
      const h = (b ^ c ^ d) >>> 0;
      const t = rotl((a + h + x[R3_ORDER[i]] + ROUND3_K) >>> 0, R3_S[i % 4]);
      [a, b, c, d] = [d, t, b, c];
    }
    a = (a + aa) >>> 0;
    b = (b + bb) >>> 0;
    c = (c + cc) >>> 0;
    d = (d + dd) >>> 0;
  }
  const out = new Uint8Array(16);
  const ov = new DataView(out.buffer);
  ov.setUint32(0, a, true);
  ov.setUint32(4, b, true);
  ov.setUint32(8, c, true);
  ov.setUint32(12, d, true);
  return out;
}
