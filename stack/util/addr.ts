/** IPv4 addresses travel through the stack as unsigned 32-bit numbers. */

export type Ip4 = number;

/** "192.168.7.1" -> 0xc0a80701; undefined when malformed. */
export function parseIp4(text: string): Ip4 | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return undefined;
    v = v * 256 + o;
  }
  return v >>> 0;
}

export function formatIp4(a: Ip4): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

export function readIp4(b: Uint8Array, off: number): Ip4 {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

export function writeIp4(b: Uint8Array, off: number, a: Ip4): void {
  b[off] = a >>> 24;
  b[off + 1] = (a >>> 16) & 0xff;
  b[off + 2] = (a >>> 8) & 0xff;
  b[off + 3] = a & 0xff;
}

/** True for 127.0.0.0/8. */
export function isLoopback(a: Ip4): boolean {
  return a >>> 24 === 127;
}
