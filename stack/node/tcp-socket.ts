/**
 * The Node face of one TCP connection: a `stream.Duplex` that behaves like
 * `net.Socket` (and satisfies proxy/link-net.ts `LinkSocket`) over a
 * sans-I/O `TcpConnection`. Backpressure both ways:
 *  - `_write` holds its callback until the core's send buffer has taken every
 *    byte (so `write()` returns false while the send buffer is full);
 *  - bytes leave the core's receive buffer only when `_read` pulls them, so
 *    the advertised window reflects what the reader actually consumed.
 * `end()` sends FIN after the queued data; `destroy()` sends RST. Errors
 * carry Node codes (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EHOSTUNREACH,
 * ENETUNREACH). Part of the stack/node adapter (the only Node-I/O edge of
 * the stack).
 */
import { Duplex } from "node:stream";
import { formatIp4 } from "../util/addr.js";
import type { Millis } from "../util/time.js";
import {
  EV_CLOSED, EV_CONNECTED, EV_EOF, EV_ERROR, EV_READABLE, EV_WRITABLE,
  type TcpConnection, type TcpErrorCode,
} from "../tcp/connection.js";

/** What a socket needs from its NodeTcp. */
export interface SocketHost {
  now(): Millis;
  /** Core state changed: flush transmissions and re-arm the timer. */
  kick(): void;
}

/** A Node-style system error: `connect ECONNREFUSED 10.0.0.2:80`. */
export function tcpError(code: TcpErrorCode | string, syscall: string, address?: string, port?: number): NodeJS.ErrnoException {
  const where = address !== undefined ? ` ${address}${port !== undefined ? `:${port}` : ""}` : "";
  const err = new Error(`${syscall} ${code}${where}`) as NodeJS.ErrnoException & { address?: string; port?: number };
  err.code = code;
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (port !== undefined) err.port = port;
  return err;
}

/** Received bytes go to the reader in Node's pooled, unzeroed Buffers (the stack writes every byte). */
const allocBuffer = (n: number): Uint8Array => Buffer.allocUnsafe(n);
const READ_CHUNK = 64 * 1024;

export interface TcpSocketOptions {
  /** Like net.Socket: keep the write side open after the peer's FIN (default false). */
  allowHalfOpen?: boolean;
  /** True while the handshake is still in progress (active open or forwarded accept). */
  connecting?: boolean;
  /** Emit 'connect' once established (active opens and forwarded accepts). */
  emitConnect?: boolean;
}

export class TcpSocket extends Duplex {
  connecting: boolean;
  bytesRead = 0;
  private conn: TcpConnection | undefined;
  private readonly host: SocketHost;
  private readonly emitConnect: boolean;
  private wantRead = false;
  /** A pull for EV_READABLE is queued as a microtask (see onCoreEvents). */
  private pullQueued = false;
  private eofPushed = false;
  private pendingWrite: { chunk: Uint8Array; cb: (err?: Error | null) => void } | undefined;
  private written = 0;
  private idleMs = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(host: SocketHost, conn: TcpConnection | undefined, opts: TcpSocketOptions = {}) {
    super({
      allowHalfOpen: opts.allowHalfOpen ?? false,
      writableHighWaterMark: 64 * 1024,
      readableHighWaterMark: 64 * 1024,
      decodeStrings: true,
    });
    this.host = host;
    this.conn = conn;
    this.connecting = opts.connecting ?? false;
    this.emitConnect = opts.emitConnect ?? false;
    if (conn) conn.user = this;
  }

  // ------------------------------------------------------------ net.Socket surface

  get remoteAddress(): string | undefined {
    return this.conn ? formatIp4(this.conn.remoteIp) : undefined;
  }
  get remotePort(): number | undefined {
    return this.conn?.remotePort;
  }
  get localAddress(): string | undefined {
    return this.conn ? formatIp4(this.conn.localIp) : undefined;
  }
  get localPort(): number | undefined {
    return this.conn?.localPort;
  }
  get remoteFamily(): string {
    return "IPv4";
  }
  get bytesWritten(): number {
    return this.written;
  }
  /** net.Socket#pending: not yet connected. */
  get pending(): boolean {
    return this.connecting || !this.conn;
  }
  /** net.Socket#readyState. */
  get readyState(): "opening" | "open" | "readOnly" | "writeOnly" | "closed" {
    if (this.connecting) return "opening";
    if (this.destroyed || !this.conn) return "closed";
    if (this.readable && this.writable) return "open";
    if (this.readable) return "readOnly";
    if (this.writable) return "writeOnly";
    return "closed";
  }

  /** TCP state name, for diagnostics. */
  get tcpState(): string {
    return this.conn?.state ?? "Closed";
  }
  /** The core connection (tests and diagnostics). */
  get connection(): TcpConnection | undefined {
    return this.conn;
  }

  setNoDelay(noDelay = true): this {
    if (this.conn) {
      this.conn.noDelay = noDelay;
      if (noDelay) this.host.kick();
    }
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this.conn?.setKeepAlive(enable, initialDelay > 0 ? initialDelay : undefined, this.host.now());
    this.host.kick();
    return this;
  }

  address(): { address: string; family: string; port: number } | {} {
    return this.conn ? { address: formatIp4(this.conn.localIp), family: "IPv4", port: this.conn.localPort } : {};
  }

  /**
   * net.Socket#setTimeout: emit 'timeout' after `ms` without activity (0
   * disables). Uses a real timer: this is the Node edge, not the core.
   */
  setTimeout(ms: number, cb?: () => void): this {
    this.idleMs = ms;
    if (cb) {
      if (ms > 0) this.once("timeout", cb);
      else this.removeListener("timeout", cb);
    }
    this.touch();
    return this;
  }

  get timeout(): number | undefined {
    return this.idleMs || undefined;
  }

  private touch(): void {
    this.clearIdleTimer();
    if (this.idleMs > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined;
        this.emit("timeout");
      }, this.idleMs);
      this.idleTimer.unref?.();
    }
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  // ------------------------------------------------------------ Duplex internals

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const c = this.conn;
    if (!c || c.state === "Closed") {
      cb(tcpError("EPIPE", "write"));
      return;
    }
    const n = c.send(chunk, this.host.now());
    this.written += n;
    if (this.idleMs) this.touch();
    if (n < chunk.length) this.pendingWrite = { chunk: chunk.subarray(n), cb };
    this.host.kick();
    if (n === chunk.length) cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    const c = this.conn;
    if (c) {
      c.close(this.host.now());
      this.host.kick();
    }
    cb();
  }

  override _read(_size: number): void {
    this.wantRead = true;
    this.pull();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const c = this.conn;
    this.clearIdleTimer();
    if (c && c.state !== "Closed" && c.state !== "TimeWait") {
      // After end() with nothing unread, let the FIN handshake finish on its
      // own (like close(2) on Linux); otherwise destroy() is an abort: RST.
      const graceful = !err && this.writableFinished && (this.readableEnded || c.readable === 0);
      if (graceful) c.detach(this.host.now());
      else c.abort(this.host.now());
      this.host.kick();
    }
    if (c) c.user = undefined;
    const pw = this.pendingWrite;
    this.pendingWrite = undefined;
    if (pw) pw.cb(err ?? tcpError("ECONNRESET", "write"));
    cb(err);
  }

  // ------------------------------------------------------------ core events

  /** Called by NodeTcp with the event bits the core raised for this connection. */
  onCoreEvents(flags: number): void {
    const c = this.conn;
    if (!c || this.destroyed) return;
    // Plain data: pull once after the current burst (a microtask), so the segments of one
    // link chunk reach the reader as one push — one write(2) downstream instead of one per
    // segment (that syscall was the largest single cost of the unthrottled path). Any other
    // event first takes what is queued, so data still comes before EOF, errors and close.
    if (flags === EV_READABLE) {
      if (this.wantRead && !this.pullQueued) {
        this.pullQueued = true;
        queueMicrotask(this.queuedPull);
      }
      return;
    }
    if (this.pullQueued && this.wantRead) this.pull();
    if (flags & EV_ERROR && c.error) {
      const syscall = this.connecting ? "connect" : "read";
      this.destroy(tcpError(c.error, syscall, this.remoteAddress, this.remotePort));
      return;
    }
    if (flags & EV_CONNECTED && this.connecting) {
      this.connecting = false;
      if (this.emitConnect) {
        this.emit("connect");
        this.emit("ready");
      }
    }
    if (flags & EV_WRITABLE && this.pendingWrite) {
      const pw = this.pendingWrite;
      const n = c.send(pw.chunk, this.host.now());
      this.written += n;
      if (n === pw.chunk.length) {
        this.pendingWrite = undefined;
        this.host.kick();
        pw.cb();
      } else {
        pw.chunk = pw.chunk.subarray(n);
        if (n > 0) this.host.kick();
      }
    }
    if (flags & (EV_READABLE | EV_EOF) && this.wantRead) this.pull();
    if (flags & EV_CLOSED && c.state === "Closed" && !c.finReceived && !this.eofPushed && c.readable === 0) {
      // Closed without the peer's FIN and without an error code: a reset the core keeps quiet about
      // (RFC 9293 §3.10.7.3: RST in SYN-RECEIVED of a passive open) or an abort of the whole layer.
      // Either way both directions are gone, so the socket must close, as net.Socket does on ECONNRESET.
      this.destroy(tcpError("ECONNRESET", this.connecting ? "connect" : "read", this.remoteAddress, this.remotePort));
    }
  }

  private readonly queuedPull = (): void => {
    this.pullQueued = false;
    if (!this.conn || this.destroyed) return;
    if (this.wantRead) this.pull();
    this.onCoreEvents(EV_CLOSED); // a close seen while the pull was queued (readable > 0 then) is acted on now
  };

  /** Move received bytes into the readable side while the consumer wants them. */
  private pull(): void {
    const c = this.conn;
    if (!c) return;
    let took = false;
    while (this.wantRead) {
      const d = c.read(READ_CHUNK, this.host.now(), allocBuffer);
      if (!d) {
        if (c.finReceived && c.readable === 0 && !this.eofPushed) {
          this.eofPushed = true;
          this.wantRead = false;
          this.push(null);
        }
        break;
      }
      took = true;
      if (this.idleMs) this.touch();
      this.bytesRead += d.length;
      this.wantRead = this.push(d);
    }
    if (took) this.host.kick(); // a window update may be due
  }
}
