/**
 * Randomness for sans-I/O cores: magic numbers, CHAP challenges, TCP ISS,
 * ephemeral ports. Cores take an `Rng`; tests pass a `SeededRng` and print
 * its seed when they fail, so every failure can be replayed.
 */
import { randomBytes, randomInt } from "node:crypto";

export interface Rng {
  /** A uniformly random unsigned 32-bit integer. */
  u32(): number;
  /** Fill `buf` with random bytes and return it. */
  fill(buf: Uint8Array): Uint8Array;
}

/** Cryptographic randomness, for production. */
export const cryptoRng: Rng = {
  u32: () => randomInt(0, 2 ** 32 - 1) >>> 0,
  fill: (buf) => {
    buf.set(randomBytes(buf.length));
    return buf;
  },
};

/** Deterministic randomness (splitmix32), for tests and simulations. */
export class SeededRng implements Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  u32(): number {
    let z = (this.state = (this.state + 0x9e3779b9) >>> 0);
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  fill(buf: Uint8Array): Uint8Array {
    for (let i = 0; i < buf.length; i++) buf[i] = this.u32() & 0xff;
    return buf;
  }
  /** A float in [0, 1). */
  next(): number {
    return this.u32() / 2 ** 32;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}
