/**
 * Two NodeTcp adapters over two TcpLayers joined by a lossless in-memory
 * link, on one ManualClock. `kick()` just marks the pair busy; `pump()` moves
 * datagrams across and, when nothing is left to do and the event loop has
 * settled, jumps the clock to the next core deadline. Nothing sleeps on the
 * wall clock: `setImmediate` only lets Node's stream machinery run.
 */
import { setImmediate as tick } from "node:timers/promises";
import { NodeTcp } from "../../../stack/node/tcp-node.js";
import { TcpLayer } from "../../../stack/tcp/tcp-layer.js";
import type { TcpLimits } from "../../../stack/tcp/config.js";
import type { TransportDatagram } from "../../../stack/ip/transport.js";
import { ManualClock } from "../../../stack/util/time.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { A, B } from "./harness.js";

export class NodePair {
  readonly clock = new ManualClock(1000);
  readonly la: TcpLayer;
  readonly lb: TcpLayer;
  readonly na: NodeTcp;
  readonly nb: NodeTcp;
  /** Drop datagrams this returns false for. */
  filter: ((d: TransportDatagram) => boolean) | undefined;
  private busy = false;
  /** Observed advertised windows of segments B sends (raw field). */
  readonly windowsFromB: number[] = [];

  constructor(seed = 1, limits: Partial<TcpLimits> = {}) {
    this.la = new TcpLayer({ rng: new SeededRng(seed), mtu: 1500, limits });
    this.lb = new TcpLayer({ rng: new SeededRng(seed + 1), mtu: 1500, limits });
    this.na = new NodeTcp(this.la, () => (this.busy = true), this.clock);
    this.nb = new NodeTcp(this.lb, () => (this.busy = true), this.clock);
  }

  /** Deliver everything queued in both directions (synchronously, zero latency). */
  flush(): boolean {
    let moved = false;
    for (let again = true; again; ) {
      again = false;
      for (const [from, to] of [[this.la, this.lb], [this.lb, this.la]] as const) {
        for (let d = from.pollTransmit(); d; d = from.pollTransmit()) {
          again = moved = true;
          if (from === this.lb && d.payload.length >= 16) this.windowsFromB.push((d.payload[14] << 8) | d.payload[15]);
          if (this.filter && !this.filter(d)) continue;
          if (d.dst === A || d.dst === B) to.input(d.src, d.dst, d.payload, this.clock.now());
        }
      }
    }
    this.na.onCoreEvents();
    this.nb.onCoreEvents();
    return moved;
  }

  /** Run until `done()`; jumps simulated time when idle. Returns false on the `maxSim` limit. */
  async until(done: () => boolean, maxSimMs = 600_000): Promise<boolean> {
    const end = this.clock.now() + maxSimMs;
    let idleRounds = 0;
    while (!done()) {
      this.busy = false;
      const moved = this.flush();
      await tick();
      if (moved || this.busy) {
        idleRounds = 0;
        continue;
      }
      if (++idleRounds < 3) continue; // let stream callbacks settle
      idleRounds = 0;
      const t = [this.la.pollTimeout(), this.lb.pollTimeout()].filter((x): x is number => x !== undefined);
      if (!t.length) {
        await tick();
        if (done()) break;
        return false;
      }
      const next = Math.min(...t);
      if (next > end) return false;
      this.clock.set(next);
      this.la.handleTimeout(this.clock.now());
      this.lb.handleTimeout(this.clock.now());
    }
    this.flush();
    return true;
  }
}
