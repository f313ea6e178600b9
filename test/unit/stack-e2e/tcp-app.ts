/**
 * A bulk-transfer application over the sans-I/O cores (IpLayer + F's
 * TcpLayer per side), for the simulated-link tests and the bench: each side
 * sends `data` then FIN while hashing what it receives until the peer's FIN.
 */
import { createHash, type Hash } from "node:crypto";
import { IpLayer } from "../../../stack/ip/ip-layer.js";
import { TcpLayer, type TcpLayerOptions } from "../../../stack/tcp/tcp-layer.js";
import type { TcpConnection } from "../../../stack/tcp/connection.js";
import type { Ip4 } from "../../../stack/util/addr.js";
import type { Clock } from "../../../stack/util/time.js";
import { SeededRng } from "../../../stack/util/rng.js";

export interface Host {
  ip: IpLayer;
  tcp: TcpLayer;
}

export function makeHost(address: Ip4, seed: number, mtu = 1500, tcp?: Partial<TcpLayerOptions>): Host {
  const rng = new SeededRng(seed);
  const ip = new IpLayer({ rng, address, mtu });
  const t = new TcpLayer({ rng, mtu, ...tcp });
  ip.attachTcp(t);
  return { ip, tcp: t };
}

/** One side of a bulk transfer on one connection. */
export class BulkSide {
  private off = 0;
  private closed = false;
  private readonly hash: Hash = createHash("sha256");
  received = 0;
  eof = false;
  digest: string | undefined;

  constructor(
    readonly conn: TcpConnection,
    private readonly data: Uint8Array,
    private readonly clock: Clock,
  ) {}

  step(): void {
    const now = this.clock.now();
    while (this.off < this.data.length) {
      const n = this.conn.send(this.data.subarray(this.off, this.off + 65536), now);
      if (n === 0) break;
      this.off += n;
    }
    if (this.off === this.data.length && !this.closed) {
      this.closed = true;
      this.conn.close(now);
    }
    for (let b = this.conn.read(1 << 20, now); b; b = this.conn.read(1 << 20, now)) {
      this.hash.update(b);
      this.received += b.length;
    }
    if (!this.eof && this.conn.finReceived && this.conn.readable === 0) {
      this.eof = true;
      this.digest = this.hash.digest("hex");
    }
  }
}

export function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}
