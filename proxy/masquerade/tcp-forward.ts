/**
 * Masquerade for TCP: a peer's SYN to any address becomes a host socket.
 *
 * As gVisor's TCP forwarder and slirp do, the host connection is made first;
 * the peer's handshake completes only once it succeeds, so a refused or
 * unreachable destination looks to the peer exactly as it would on a real
 * network (RST, or ICMP unreachable). Then the two sockets are joined with
 * half-close and reset carried across.
 */
import net from "node:net";
import { Duplex } from "node:stream";
import type { Counters, Logger as Log } from "../log.js";
import type { Policy } from "./policy.js";
import type { TcpForwardRequest, TcpRejectHow } from "./stack-face.js";
import { join } from "../join.js";
import { PasvRewriter } from "./ftp-alg.js";

export interface TcpForwardLimits {
  /** Open connections per peer. */
  maxConnections: number;
  /** Host connects in progress (the peer's SYNs we hold). */
  maxHalfOpen: number;
  /** How long a host connect may take before the peer is told the host is unreachable. */
  connectTimeoutMs: number;
  /** Ports of FTP servers on the host whose PASV replies get the server address (default [21]). */
  ftpControlPorts: number[];
}

/** How a host-side connect failure looks to the peer. */
export function rejectionFor(code: string | undefined): TcpRejectHow {
  switch (code) {
    case "ECONNREFUSED":
      return "rst";
    case "ENETUNREACH":
      return "icmp-net-unreachable";
    case "EHOSTUNREACH":
    case "ETIMEDOUT":
    case "EHOSTDOWN":
      return "icmp-host-unreachable";
    case "EACCES":
    case "EPERM":
      return "icmp-admin-prohibited";
    default:
      return "rst";
  }
}

/** The host socket seen through the passive-FTP rewriter (replies rewritten, commands untouched). */
function withPasvRewrite(host: net.Socket, serverAddress: string): Duplex {
  const replies = host.pipe(new PasvRewriter(serverAddress));
  const d = Duplex.from({ readable: replies, writable: host });
  host.on("error", (err) => d.destroy(err));
  d.on("close", () => host.destroy());
  return d;
}

export class TcpForwarder {
  private open = 0;
  private halfOpen = 0;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly policy: Policy,
    private readonly serverAddress: () => string | undefined,
    private readonly limits: TcpForwardLimits,
    private readonly counters: Counters,
    private readonly log: Log,
  ) {}

  get connections(): number {
    return this.open;
  }

  /** Host connects in progress. */
  get connecting(): number {
    return this.halfOpen;
  }

  handle(req: TcpForwardRequest): void {
    const where = `${req.dst}:${req.dstPort}`;
    const decision = this.policy.decide(req.dst, req.dstPort, this.serverAddress());
    if (!decision.ok) {
      this.counters.add("tcp.denied");
      this.log("warn", `masquerade: refused TCP ${req.src}:${req.srcPort} -> ${where}: ${decision.reason}`);
      req.reject("icmp-admin-prohibited");
      return;
    }
    if (this.open + this.halfOpen >= this.limits.maxConnections) {
      this.counters.add("tcp.dropped.max-connections");
      this.log("warn", `masquerade: refused TCP to ${where}: ${this.limits.maxConnections} connections open`);
      req.reject("rst");
      return;
    }
    if (this.halfOpen >= this.limits.maxHalfOpen) {
      // Let the peer's SYN retransmission try again later, as a full backlog does.
      this.counters.add("tcp.dropped.half-open");
      req.reject("silent");
      return;
    }

    this.halfOpen++;
    const host = net.connect({ host: decision.host, port: req.dstPort, allowHalfOpen: true });
    this.sockets.add(host);
    const timer = setTimeout(() => host.destroy(Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" })), this.limits.connectTimeoutMs);
    let connected = false;

    host.once("connect", () => {
      clearTimeout(timer);
      connected = true;
      this.halfOpen--;
      this.open++;
      this.counters.add("tcp.connections");
      host.setNoDelay(true);
      const peer = req.accept();
      // Half-close travels: the peer's FIN must not close our sending side (net.Socket's default).
      peer.allowHalfOpen = true;
      const ftp = decision.host === "127.0.0.1" && this.limits.ftpControlPorts.includes(req.dstPort);
      const toHost = ftp ? withPasvRewrite(host, req.dst) : host;
      join(peer, toHost, (err) => {
        this.open--;
        this.sockets.delete(host);
        if (err) this.log("debug", `masquerade: TCP ${where} ended: ${err.message}`);
      });
    });
    host.once("error", (err: NodeJS.ErrnoException) => {
      if (connected) return; // joinSockets owns errors after connect
      clearTimeout(timer);
      this.halfOpen--;
      this.sockets.delete(host);
      this.counters.add(`tcp.failed.${err.code ?? "other"}`);
      this.log("debug", `masquerade: TCP ${where}: ${err.code ?? err.message}`);
      req.reject(rejectionFor(err.code));
    });
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}
