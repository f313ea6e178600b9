/**
 * The Node face of one bound UDP port on the userspace stack, shaped like
 * dgram.Socket (and proxy/link-net.ts LinkUdpSocket): send(msg, port,
 * address), 'message' (msg: Buffer, rinfo {address, port, family, size}),
 * close(), .port. Node edge: it turns core datagrams into Buffers; the core
 * is stack/udp/udp-layer.ts, driven by NodeStack.
 */
import { EventEmitter } from "node:events";
import { formatIp4, parseIp4, type Ip4 } from "../util/addr.js";
import type { UdpDatagramIn } from "../udp/udp-layer.js";

/** What the socket needs from its NodeStack (kept narrow so the socket is testable alone). */
export interface UdpSocketHost {
  readonly localIp: Ip4 | undefined;
  udpSend(srcPort: number, dst: Ip4, dstPort: number, payload: Uint8Array): void;
  udpClose(port: number): void;
}

export interface UdpRemoteInfo {
  address: string;
  port: number;
  family: "IPv4";
  size: number;
}

/** A socket-level error with a Node-style code. */
export class UdpSocketError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "UdpSocketError";
  }
}

export class UdpSocket extends EventEmitter {
  private closed = false;

  constructor(
    private readonly host: UdpSocketHost,
    readonly port: number,
  ) {
    super();
  }

  /** dgram-like address(). */
  address(): { address: string; port: number; family: "IPv4" } {
    const a = this.host.localIp;
    return { address: a === undefined ? "0.0.0.0" : formatIp4(a), port: this.port, family: "IPv4" };
  }

  /** Send one datagram. Errors (closed socket, bad address, link down) are emitted as 'error' and passed to `cb`. */
  send(msg: Uint8Array | string, port: number, address: string, cb?: (err: Error | null) => void): void {
    const fail = (code: string, text: string) => {
      const err = new UdpSocketError(code, text);
      queueMicrotask(() => {
        if (cb) cb(err);
        else this.emit("error", err);
      });
    };
    if (this.closed) return fail("ERR_SOCKET_DGRAM_NOT_RUNNING", "UDP socket is closed");
    const dst = parseIp4(address);
    if (dst === undefined) return fail("EINVAL", `not an IPv4 address: ${address}`);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) return fail("EINVAL", `bad UDP port ${port}`);
    if (this.host.localIp === undefined) return fail("ENETUNREACH", "the link has no address (IPCP is not up)");
    const payload = typeof msg === "string" ? Buffer.from(msg) : msg;
    try {
      this.host.udpSend(this.port, dst, port, payload);
    } catch (e) {
      return fail("EMSGSIZE", (e as Error).message);
    }
    if (cb) queueMicrotask(() => cb(null));
  }

  /** Called by NodeStack for each datagram taken from the core queue. */
  deliver(d: UdpDatagramIn): void {
    if (this.closed) return;
    const msg = Buffer.from(d.payload.buffer, d.payload.byteOffset, d.payload.byteLength);
    const rinfo: UdpRemoteInfo = { address: formatIp4(d.src), port: d.srcPort, family: "IPv4", size: msg.length };
    this.emit("message", msg, rinfo);
  }

  close(cb?: () => void): void {
    if (this.closed) return;
    this.closed = true;
    this.host.udpClose(this.port);
    queueMicrotask(() => {
      this.emit("close");
      cb?.();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
