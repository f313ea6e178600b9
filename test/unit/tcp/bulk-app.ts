/**
 * A byte-stream application for the TCP tests: pushes `total` deterministic
 * bytes into a connection as fast as the send buffer takes them, reads
 * everything that arrives, and keeps SHA-256 digests of both directions.
 */
import { createHash, type Hash } from "node:crypto";
import type { TcpConnection } from "../../../stack/tcp/connection.js";
import type { Millis } from "../../../stack/util/time.js";
import { SeededRng } from "../../../stack/util/rng.js";

const PERIOD = 1_048_583; // a prime, so chunk boundaries never line up with the pattern
let pattern: Uint8Array | undefined;
function source(): Uint8Array {
  if (!pattern) {
    const r = new SeededRng(0xdada);
    pattern = new Uint8Array(PERIOD + 65536 + 4);
    for (let i = 0; i < pattern.length; i += 4) {
      const v = r.u32();
      pattern[i] = v;
      pattern[i + 1] = v >>> 8;
      pattern[i + 2] = v >>> 16;
      pattern[i + 3] = v >>> 24;
    }
    // the tail repeats the head, so a chunk may run past PERIOD seamlessly
    pattern.copyWithin(PERIOD, 0, 65536);
  }
  return pattern;
}

export class BulkApp {
  sent = 0;
  received = 0;
  readonly sentHash: Hash = createHash("sha256");
  readonly recvHash: Hash = createHash("sha256");
  closedWrite = false;
  /** Stop reading (a slow reader) while true. */
  paused = false;

  constructor(
    public conn: TcpConnection | undefined,
    readonly total: number,
    readonly offset = 0,
    readonly closeWhenDone = true,
  ) {}

  pump(now: Millis): void {
    const c = this.conn;
    if (!c) return;
    const src = source();
    while (this.sent < this.total) {
      const at = (this.offset + this.sent) % PERIOD;
      const want = Math.min(65536, this.total - this.sent);
      const chunk = src.subarray(at, at + want);
      const n = c.send(chunk, now);
      if (n <= 0) break;
      this.sentHash.update(chunk.subarray(0, n));
      this.sent += n;
    }
    if (this.sent >= this.total && !this.closedWrite && this.closeWhenDone && c.state !== "SynSent" && c.state !== "Closed") {
      this.closedWrite = true;
      c.close(now);
    }
    if (!this.paused) {
      for (let d = c.read(1 << 20, now); d; d = c.read(1 << 20, now)) {
        this.recvHash.update(d);
        this.received += d.length;
      }
    }
  }

  /** Digest of the `n` bytes this pattern would produce from `offset`. */
  static expected(n: number, offset = 0): string {
    const h = createHash("sha256");
    const src = source();
    let done = 0;
    while (done < n) {
      const at = (offset + done) % PERIOD;
      const want = Math.min(65536, n - done);
      h.update(src.subarray(at, at + want));
      done += want;
    }
    return h.digest("hex");
  }
}
