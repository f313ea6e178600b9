/**
 * The Node face of TCP over one sans-I/O `TcpLayer`: `connect`, `listen`
 * (a `TcpServer` emitting 'connection') and the masquerade forwarder
 * (gVisor's Forwarder pattern). It owns no timer and no link: whenever it
 * changes core state it calls `kick()` (the NodeStack flushes `pollTransmit`
 * and re-arms its one timer), and it surfaces core events to sockets in
 * `onCoreEvents()`.
 *
 * Event delivery: the NodeStack should call `onCoreEvents()` after every
 * `input()`/`handleTimeout()`. As a safety net NodeTcp also hooks
 * `TcpLayer.onEventsPending` and drains on a microtask, so events are never
 * stranded if a driver forgets. Part of the stack/node adapter.
 */
import { EventEmitter } from "node:events";
import { formatIp4, type Ip4 } from "../util/addr.js";
import type { Clock, Millis } from "../util/time.js";
import type { TcpConnection } from "../tcp/connection.js";
import type { TcpForwardPending, TcpLayer, TcpListener, TcpRejectHow } from "../tcp/tcp-layer.js";
import { TcpSocket, tcpError, type SocketHost } from "./tcp-socket.js";

export { TcpSocket } from "./tcp-socket.js";

/** One SYN nobody listens for, offered to the forwarder (server-side masquerade). */
export interface TcpForwardRequest {
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
  /** Complete the peer's handshake now (SYN-ACK) and return the socket ('connect' once established). */
  accept(): TcpSocket;
  reject(how: TcpRejectHow): void;
}

/** A listener; emits 'listening', 'connection' (TcpSocket), 'close'. */
export class TcpServer extends EventEmitter {
  private closedFlag = false;
  constructor(
    private readonly node: NodeTcp,
    readonly listener: TcpListener,
    /** Like net.Server's allowHalfOpen, for the sockets it accepts. */
    readonly allowHalfOpen = false,
  ) {
    super();
    process.nextTick(() => {
      if (!this.closedFlag) this.emit("listening");
    });
  }
  get port(): number {
    return this.listener.port;
  }
  address(): { address: string; family: string; port: number } {
    return {
      address: this.listener.address === undefined ? "0.0.0.0" : formatIp4(this.listener.address),
      family: "IPv4",
      port: this.listener.port,
    };
  }
  /** Stop accepting; existing connections are untouched. */
  close(cb?: () => void): this {
    if (!this.closedFlag) {
      this.closedFlag = true;
      this.node.unlisten(this);
      process.nextTick(() => this.emit("close"));
    }
    if (cb) this.once("close", cb);
    return this;
  }
}

export class NodeTcp implements SocketHost {
  private readonly servers = new Map<TcpListener, TcpServer>();
  private forwarder: ((req: TcpForwardRequest) => void) | undefined;
  private drainScheduled = false;

  constructor(
    readonly layer: TcpLayer,
    private readonly kickFn: () => void,
    private readonly clock: Clock,
  ) {
    layer.onEventsPending = () => {
      if (this.drainScheduled) return;
      this.drainScheduled = true;
      queueMicrotask(() => {
        this.drainScheduled = false;
        this.onCoreEvents();
      });
    };
  }

  now(): Millis {
    return this.clock.now();
  }

  kick(): void {
    this.kickFn();
  }

  /** Active open. Errors (ECONNREFUSED, ETIMEDOUT, ...) arrive as 'error' on the socket. */
  connect(opts: { localAddress: Ip4; host: Ip4; port: number; timeoutMs?: number; allowHalfOpen?: boolean }): TcpSocket {
    let conn: TcpConnection;
    try {
      conn = this.layer.connect(opts, this.now());
    } catch (e) {
      const s = new TcpSocket(this, undefined, { connecting: true, emitConnect: true });
      const code = (e as NodeJS.ErrnoException).code ?? "EINVAL";
      process.nextTick(() => s.destroy(tcpError(code, "connect", formatIp4(opts.host), opts.port)));
      return s;
    }
    const s = new TcpSocket(this, conn, { connecting: true, emitConnect: true, allowHalfOpen: opts.allowHalfOpen });
    this.kick();
    return s;
  }

  /** Listen on `address` (undefined = every address, including masqueraded ones) and `port` (0 = ephemeral). */
  listen(address: Ip4 | undefined, port: number, opts: { backlog?: number; allowHalfOpen?: boolean } = {}): TcpServer {
    const l = this.layer.listen(address, port, opts.backlog);
    const server = new TcpServer(this, l, opts.allowHalfOpen ?? false);
    this.servers.set(l, server);
    return server;
  }

  /** @internal */
  unlisten(server: TcpServer): void {
    this.layer.unlisten(server.listener);
    this.servers.delete(server.listener);
  }

  /** Route SYNs for unknown address/port pairs to `fn` (or stop, with undefined: RST again). */
  setForwarder(fn: ((req: TcpForwardRequest) => void) | undefined, opts: { maxInFlight?: number } = {}): void {
    this.forwarder = fn;
    this.layer.setForwarding(fn !== undefined, opts.maxInFlight);
  }

  /**
   * The stack is going away: every socket errors with ECONNRESET (a RST is
   * queued for each connection), every server closes, the forwarder is
   * dropped.
   */
  close(): void {
    const sockets: TcpSocket[] = [];
    for (const c of this.layer.connections()) if (c.user instanceof TcpSocket) sockets.push(c.user);
    this.forwarder = undefined;
    this.layer.setForwarding(false);
    for (const server of [...this.servers.values()]) server.close();
    this.layer.abortAll(this.now());
    for (const s of sockets) s.destroy(tcpError("ECONNRESET", "read", s.remoteAddress, s.remotePort));
    this.kick();
  }

  /** Surface core events to sockets, servers and the forwarder. Cheap when there are none. */
  onCoreEvents(): void {
    let kicked = false;
    for (let e = this.layer.pollEvent(); e; e = this.layer.pollEvent()) {
      if (e.type === "conn") {
        const s = e.conn.user as TcpSocket | undefined;
        if (s) s.onCoreEvents(e.flags);
      } else if (e.type === "accept") {
        const server = this.servers.get(e.listener);
        if (!server) {
          e.conn.abort(this.now());
          kicked = true;
          continue;
        }
        const s = new TcpSocket(this, e.conn, { connecting: false, allowHalfOpen: server.allowHalfOpen });
        server.emit("connection", s);
      } else {
        this.offer(e.request);
        kicked = true;
      }
    }
    if (kicked) this.kick();
  }

  private offer(f: TcpForwardPending): void {
    const fn = this.forwarder;
    if (!fn) {
      this.layer.rejectForward(f, "rst", this.now());
      return;
    }
    const req: TcpForwardRequest = {
      src: formatIp4(f.src),
      srcPort: f.srcPort,
      dst: formatIp4(f.dst),
      dstPort: f.dstPort,
      accept: () => {
        let conn: TcpConnection;
        try {
          conn = this.layer.acceptForward(f, this.now());
        } catch (e) {
          // settled meanwhile: hand back a socket that fails, never throw into the caller
          const s = new TcpSocket(this, undefined, { connecting: true, emitConnect: true });
          const code = (e as NodeJS.ErrnoException).code ?? "ECONNABORTED";
          process.nextTick(() => s.destroy(tcpError(code, "accept", formatIp4(f.src), f.srcPort)));
          return s;
        }
        const s = new TcpSocket(this, conn, { connecting: true, emitConnect: true });
        this.kick();
        return s;
      },
      reject: (how) => {
        this.layer.rejectForward(f, how, this.now());
        this.kick();
      },
    };
    try {
      fn(req);
    } catch {
      if (!f.settled) this.layer.rejectForward(f, "rst", this.now());
    }
  }
}
