/**
 * One PPP line at work: a Link, the PppSession on it (run by the CoreDriver
 * with the real timer), and the userspace IP stack that the session's IP
 * packets go to and come from. Both roles use it; the client puts proxies on
 * the stack, the server a masquerade.
 *
 * Transmit: the stack's datagrams go into the session's scheduler
 * (sendIp); when its queue is at high water the stack's `output` says false,
 * and the session's `tx-writable` event calls `stack.outputReady()`, so our
 * TCP senders feel the line (their data waits in socket buffers). The driver
 * paces writes to the line rate when the link knows it.
 *
 * TCP timestamps (RFC 7323) are turned off for the stack on slow links
 * (below `TIMESTAMPS_OFF_BELOW_BPS`) and whenever VJ compresses what we send:
 * TSval changes in every segment, and VJ (RFC 1144) sends a segment whose
 * options changed uncompressed, so timestamps cost 12 bytes plus about 40 of
 * VJ per segment.
 *
 * Events: 'up' ({local, remote, dns, mtu, peerName}), 'down', 'dead' (reason).
 */
import { EventEmitter } from "node:events";
import { CoreDriver, type CoreDriverOptions } from "../link/core-driver.js";
import type { Link } from "../link/link.js";
import { PppSession, type SessionEvent } from "../ppp/session.js";
import type { SessionConfig } from "../ppp/session-config.js";
import { NodeStack } from "../../stack/node/node-stack.js";
import { formatIp4 } from "../../stack/util/addr.js";
import { cryptoRng, type Rng } from "../../stack/util/rng.js";
import { setSlabAllocator } from "../../stack/util/slab.js";
import { systemClock, type Clock } from "../../stack/util/time.js";
import type { Logger } from "./log.js";

// Packet slabs need no zero-filling: every region is written before it is handed out (stack/util/slab.ts).
// Handed on as a plain Uint8Array: a Buffer's subarray() builds a Buffer, which costs several times more.
setSlabAllocator((n) => {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}, 256 * 1024);

/** Links slower than this (bit/s) run the stack's TCP without timestamps. */
export const TIMESTAMPS_OFF_BELOW_BPS = 1_000_000;

export interface LineUp {
  local: string;
  remote: string;
  dns: string[];
  mtu: number;
  peerName?: string;
}

export interface PppLineOptions {
  config: SessionConfig;
  link: Link;
  log: Logger;
  rng?: Rng;
  clock?: Clock;
  /** Bytes already read from the line before PPP started (past the connect script's last expect). */
  initialInput?: Uint8Array;
  /** The driver's pacing (default true: on when the link knows its rate); `false` writes until the link says false. */
  pacing?: CoreDriverOptions["pacing"];
  /** TCP timestamps for the stack: default "auto" (off below TIMESTAMPS_OFF_BELOW_BPS or when VJ is on). */
  tcpTimestamps?: boolean | "auto";
}

export class PppLine extends EventEmitter {
  readonly session: PppSession;
  readonly stack: NodeStack;
  private readonly driver: CoreDriver<SessionEvent>;
  private readonly clock: Clock;
  private current: LineUp | undefined;
  private finished = false;

  constructor(private readonly opts: PppLineOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    const rng = opts.rng ?? cryptoRng;
    this.session = new PppSession(opts.config, { rng });
    this.stack = new NodeStack({ mtu: opts.config.mtu, clock: this.clock, rng });
    this.setTimestamps(false);
    this.stack.output = (packet) => {
      this.session.sendIp(packet, this.clock.now()); // a drop is counted in session.stats.drops
      this.driver.kick();
      return !this.session.txQueueFull;
    };
    this.driver = new CoreDriver<SessionEvent>(this.session, opts.link, { clock: this.clock, pacing: opts.pacing ?? true });
    this.driver.on("event", (e: SessionEvent | { type: "hangup"; reason?: string }) => this.onEvent(e));
    // A bug in a protocol core must cost this line, never the process and its other lines.
    this.driver.on("error", (err: Error) => {
      opts.log("error", `internal error on ${opts.link.name}, hanging up: ${err.stack ?? err.message}`);
      this.finish(`internal error: ${err.message}`);
    });
  }

  /** The addresses while IPCP is open. */
  get up(): LineUp | undefined {
    return this.current;
  }

  get link(): Link {
    return this.opts.link;
  }

  start(): void {
    this.driver.start();
    this.session.open(this.clock.now());
    if (this.opts.initialInput?.length) this.session.handleInput(this.opts.initialInput, this.clock.now());
    this.driver.kick();
  }

  /** Has the line finished ('dead' emitted)? */
  get dead(): boolean {
    return this.finished;
  }

  /** Hang up politely: LCP Terminate-Request, then 'dead'. */
  close(reason = "User request"): void {
    this.session.close(reason, this.clock.now());
    this.driver.kick();
  }

  /** close(), resolving once the line is dead (or after `graceMs`, when the line is dropped outright). */
  hangup(reason = "User request", graceMs = 3000): Promise<void> {
    if (this.finished) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.finish("hung up");
        resolve();
      }, graceMs);
      this.once("dead", () => {
        clearTimeout(t);
        resolve();
      });
      this.close(reason);
    });
  }

  /** The stack's TCP timestamps for connections opened from now on (tcpTimestamps, or "auto": off on slow links or with VJ). */
  private setTimestamps(vj: boolean): void {
    const want = this.opts.tcpTimestamps ?? "auto";
    const bps = this.opts.link.bitsPerSecond;
    const slow = bps !== undefined && bps < TIMESTAMPS_OFF_BELOW_BPS;
    this.stack.tcpLayer.limits.timestamps = want === "auto" ? !slow && !vj : want;
  }

  private onEvent(e: SessionEvent | { type: "hangup"; reason?: string }): void {
    switch (e.type) {
      case "log":
        this.opts.log(e.level, e.text);
        break;
      case "ip-packet":
        // The session hands over a buffer of its own (a frame or VJ slab region): the stack may keep it.
        this.stack.deliver(e.packet);
        break;
      case "tx-writable":
        this.stack.outputReady();
        break;
      case "ip-up": {
        this.current = {
          local: formatIp4(e.local),
          remote: formatIp4(e.remote),
          dns: e.dns.map(formatIp4),
          mtu: e.mtu,
          peerName: e.peerName,
        };
        this.stack.setMtu(e.mtu);
        this.setTimestamps(this.session.vjTransmit);
        this.stack.setAddress(this.current.local);
        this.emit("up", this.current);
        break;
      }
      case "ip-down":
        this.current = undefined;
        this.stack.setAddress(undefined);
        this.emit("down");
        break;
      case "hangup":
        this.session.lineDown(this.clock.now());
        this.driver.kick();
        break;
      case "dead":
        this.finish(e.reason);
        break;
      case "phase":
        break;
    }
  }

  private finish(reason: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.current) {
      this.current = undefined;
      this.emit("down");
    }
    this.driver.stop();
    this.stack.close();
    void this.opts.link.close();
    this.emit("dead", reason);
  }
}
