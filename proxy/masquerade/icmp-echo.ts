/**
 * ICMP echo to hosts beyond the server. An unprivileged process cannot send
 * raw ICMP, so, as tailscale's userspace mode does, each echo request the
 * peer sends to an outside address runs the system `ping -c 1` once; only
 * when that ping gets a real reply does the peer get an echo reply (with its
 * own payload, which is what the far host echoes anyway). No reply, no
 * answer: nothing is ever faked. Without a `ping` binary, requests are
 * dropped and counted (`icmp.no-ping-binary`).
 */
import { execFile } from "node:child_process";
import type { Counters, Logger as Log } from "../log.js";
import type { Policy } from "./policy.js";
import type { IcmpEchoRequest, MasqueradeStack } from "./stack-face.js";

export interface IcmpEchoLimits {
  /** System pings running at once, per peer. */
  maxInFlight: number;
  /** Seconds each system ping waits for its reply. */
  waitSeconds: number;
}

export type PingRunner = (host: string, payloadBytes: number, ttl: number, waitSeconds: number) => Promise<boolean>;

/** Runs `ping -n -c 1 -W wait -s size -t ttl host`; true when a reply came back. */
export const systemPing: PingRunner = (host, payloadBytes, ttl, waitSeconds) =>
  new Promise((resolve, reject) => {
    const args = ["-n", "-c", "1", "-W", String(waitSeconds), "-s", String(payloadBytes), "-t", String(Math.max(1, ttl)), host];
    execFile("ping", args, { timeout: (waitSeconds + 2) * 1000 }, (err, stdout) => {
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT") return reject(err);
      resolve(/bytes from/.test(stdout));
    });
  });

export class IcmpEchoForwarder {
  private inFlight = 0;

  constructor(
    private readonly stack: MasqueradeStack,
    private readonly policy: Policy,
    private readonly serverAddress: () => string | undefined,
    private readonly limits: IcmpEchoLimits,
    private readonly counters: Counters,
    private readonly log: Log,
    private readonly ping: PingRunner = systemPing,
  ) {}

  handle(e: IcmpEchoRequest): void {
    const decision = this.policy.decide(e.dst, undefined, this.serverAddress());
    if (!decision.ok) {
      this.counters.add("icmp.denied");
      return;
    }
    if (this.inFlight >= this.limits.maxInFlight) {
      this.counters.add("icmp.dropped.in-flight");
      return;
    }
    this.inFlight++;
    this.ping(decision.host, e.payload.length, e.ttl, this.limits.waitSeconds)
      .then((replied) => {
        if (!replied) return this.counters.add("icmp.no-reply");
        this.counters.add("icmp.replies");
        this.stack.sendIcmpEchoReply(e.dst, e.src, e.id, e.seq, e.payload);
      })
      .catch((err: Error) => {
        this.counters.add("icmp.no-ping-binary");
        this.log("warn", `masquerade: cannot forward ping to ${e.dst}: ${err.message}`);
      })
      .finally(() => this.inFlight--);
  }
}
