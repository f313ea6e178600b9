/**
 * test/interop/hdlc-scan.ts — a deliberately tiny, independent RFC 1662
 * async-HDLC frame scanner for the interop self-test: it checks what the real
 * pppd puts on the wire without trusting ppproxy's own HDLC code.
 *
 * Test-side helper only.
 */

/** RFC 1662 §2 flag sequence. */
const FLAG = 0x7e;
/** RFC 1662 §4.2 control escape; the next octet is XORed with 0x20. */
const ESCAPE = 0x7d;
/** RFC 1662 §C.2 initial FCS-16 value. */
const FCS16_INIT = 0xffff;
/** RFC 1662 §C.2 good final FCS-16 value, computed over data + FCS. */
const FCS16_GOOD = 0xf0b8;

/** RFC 1662 §C.2 FCS-16, bitwise (reflected polynomial 0x8408). */
export function fcs16(data: Uint8Array, fcs = FCS16_INIT): number {
  for (const byte of data) {
    fcs ^= byte;
    for (let i = 0; i < 8; i++) fcs = fcs & 1 ? (fcs >>> 1) ^ 0x8408 : fcs >>> 1;
  }
  return fcs;
}

export interface ScannedFrame {
  /** Unescaped frame without the FCS (address, control, protocol, information). */
  body: Uint8Array;
  /** True when the FCS over body + FCS gives the RFC 1662 good value. */
  fcsOk: boolean;
  /** The PPP protocol number, read past an optional ff 03 and a 1- or 2-octet field. */
  protocol: number;
}

/** Splits raw async-HDLC bytes into frames; fragments shorter than 4 octets are ignored. */
export function scanFrames(raw: Uint8Array): ScannedFrame[] {
  const frames: ScannedFrame[] = [];
  let cur: number[] = [];
  let escaped = false;
  const finish = (): void => {
    if (cur.length >= 4) {
      const all = Uint8Array.from(cur);
      const body = all.subarray(0, all.length - 2);
      let p = 0;
      if (body[0] === 0xff && body[1] === 0x03) p = 2;
      // RFC 1661 §2: protocol field is odd in its last octet; PFC may shorten it to one
      const protocol = body[p] & 1 ? body[p] : (body[p] << 8) | body[p + 1];
      frames.push({ body, fcsOk: fcs16(all) === FCS16_GOOD, protocol });
    }
    cur = [];
    escaped = false;
  };
  for (const b of raw) {
    if (b === FLAG) finish();
    else if (b === ESCAPE) escaped = true;
    else {
      cur.push(escaped ? b ^ 0x20 : b);
      escaped = false;
    }
  }
  return frames;
}
