/**
 * The Internet checksum (RFC 1071): the ones' complement of the ones'
 * complement sum of 16-bit words. Used by IPv4, ICMP, UDP and TCP.
 */

/** Add `data` to a running 32-bit partial sum (not yet folded). */
export function sumWords(data: Uint8Array, initial = 0): number {
  let sum = initial;
  const n = data.length & ~1;
  for (let i = 0; i < n; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (data.length & 1) sum += data[data.length - 1] << 8;
  return sum;
}

/** Fold a partial sum to 16 bits and complement it. */
export function finish(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** RFC 1071 checksum of `data`. A buffer holding a correct checksum yields 0. */
export function internetChecksum(data: Uint8Array, initial = 0): number {
  return finish(sumWords(data, initial));
}

/**
 * Partial sum of the IPv4 pseudo-header used by TCP and UDP (RFC 9293 §3.1,
 * RFC 768): source, destination, zero, protocol, length.
 */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (
    (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length
  );
}
