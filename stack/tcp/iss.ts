/**
 * Initial sequence numbers per RFC 6528 §3: ISN = M + F(localip, localport,
 * remoteip, remoteport, secretkey), M a 4-microsecond timer, F a keyed hash
 * (SHA-256 here) under a secret drawn once from the injected Rng.
 */
import { createHash } from "node:crypto";
import type { Rng } from "../util/rng.js";
import type { Millis } from "../util/time.js";

export class IssGenerator {
  private readonly secret: Uint8Array;

  constructor(rng: Rng) {
    this.secret = rng.fill(new Uint8Array(16));
  }

  iss(localIp: number, localPort: number, remoteIp: number, remotePort: number, now: Millis): number {
    const tuple = new Uint8Array(12);
    const dv = new DataView(tuple.buffer);
    dv.setUint32(0, localIp);
    dv.setUint16(4, localPort);
    dv.setUint32(6, remoteIp);
    dv.setUint16(10, remotePort);
    const h = createHash("sha256").update(this.secret).update(tuple).digest();
    const f = h.readUInt32BE(0);
    // M: one tick per 4 µs (RFC 6528 §3 / RFC 9293 §3.4.1).
    const m = Math.floor(now * 250);
    return (f + m) >>> 0;
  }
}
