/**
 * The client's LinkNet: what the proxies see of the link (proxy/link-net.ts),
 * backed by whichever PppLine is current. With `persist` the line is replaced
 * after a hang-up; requests made meanwhile wait for it in waitUp().
 */
import type { LinkNet, LinkServer, LinkSocket, LinkUdpSocket, PingResult } from "../../proxy/link-net.js";
import type { PppLine } from "./ppp-line.js";

function netDown(): Error {
  return Object.assign(new Error("the PPP link is down"), { code: "ENETDOWN" });
}

export class ClientLinkNet implements LinkNet {
  private line: PppLine | undefined;
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  /** false once the client gives up for good (no `persist`): waitUp() rejects at once. */
  private willComeBack = true;

  constructor(private readonly extraDns: string[] = []) {}

  /** A new line takes over (it may not be up yet). */
  attach(line: PppLine): void {
    this.line = line;
    line.on("up", () => {
      const w = this.waiters;
      this.waiters = [];
      for (const x of w) x.resolve();
    });
  }

  /** The client will not bring the link back: fail everyone waiting. */
  giveUp(): void {
    this.willComeBack = false;
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.reject(netDown());
  }

  get up(): boolean {
    return this.line?.up !== undefined;
  }

  get localAddress(): string | undefined {
    return this.line?.up?.local;
  }

  get peerAddress(): string | undefined {
    return this.line?.up?.remote;
  }

  get dnsServers(): string[] {
    return [...(this.line?.up?.dns ?? []), ...this.extraDns];
  }

  private stack() {
    const line = this.line;
    if (!line?.up) throw netDown();
    return line.stack;
  }

  connect(host: string, port: number): LinkSocket {
    const sock = this.stack().connect({ host, port });
    // Proxies relay half-close: the far side's FIN must not end our sending side.
    sock.allowHalfOpen = true;
    return sock;
  }

  listen(port: number): LinkServer {
    return this.stack().listen(port);
  }

  udp(port?: number): LinkUdpSocket {
    return this.stack().udpSocket({ port });
  }

  ping(host: string, opts: { seq: number; size?: number; timeoutMs?: number }): Promise<PingResult> {
    return this.stack().ping(host, opts);
  }

  waitUp(): Promise<void> {
    if (this.up) return Promise.resolve();
    if (!this.willComeBack) return Promise.reject(netDown());
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
}
