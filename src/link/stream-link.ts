/**
 * A Link over a Node readable + writable pair: the shared body of the TCP,
 * stdio and serial links (a net.Socket and a SerialPort are both Duplex
 * streams). It maps stream events onto the Link contract in link.ts: 'data'
 * passes through, 'drain' passes through, and EOF / read error / write error /
 * an unexpected 'close' become exactly one 'hangup'. Our own close() never
 * produces a 'hangup'.
 *
 * Written bytes are handed to the stream without a copy (as Node does): the
 * caller must not modify them afterwards.
 */
import { EventEmitter } from "node:events";
import type { Readable, Writable } from "node:stream";
import type { Link } from "./link.js";

export interface StreamLinkOptions {
  name: string;
  input: Readable;
  output: Writable;
  bitsPerSecond?: number;
  /** Release the underlying handle(s); called once by close(). */
  closeImpl: () => Promise<void>;
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? e?.message ?? String(err);
}

export class StreamLink extends EventEmitter implements Link {
  readonly name: string;
  readonly bitsPerSecond?: number;
  /** close() was called. */
  protected closed = false;
  /** 'hangup' was emitted. */
  protected hungUp = false;
  private closing: Promise<void> | undefined;
  private readonly input: Readable;
  private readonly output: Writable;
  private readonly closeImpl: () => Promise<void>;
  private readonly detach: () => void;
  /** Counters for `stats()`. */
  private bytesIn = 0;
  private bytesOut = 0;

  constructor(opts: StreamLinkOptions) {
    super();
    this.name = opts.name;
    if (opts.bitsPerSecond !== undefined) this.bitsPerSecond = opts.bitsPerSecond;
    this.input = opts.input;
    this.output = opts.output;
    this.closeImpl = opts.closeImpl;

    const onData = (b: Buffer | string): void => {
      const buf = typeof b === "string" ? Buffer.from(b, "latin1") : b;
      this.bytesIn += buf.length;
      if (!this.closed && !this.hungUp) this.emit("data", buf);
    };
    const onEnd = (): void => this.hangup("EOF");
    const duplex = this.output === (this.input as unknown);
    const onReadError = (err: Error): void => this.hangup(`${duplex ? "error" : "read error"}: ${describe(err)}`, err);
    const onWriteError = (err: Error): void => this.hangup(`write error: ${describe(err)}`, err);
    // net.Socket passes hadError (boolean); SerialPort passes an Error with `disconnected` when the device vanished.
    const onClose = (err?: unknown): void => this.hangup(err instanceof Error ? `closed: ${describe(err)}` : "closed", err instanceof Error ? err : undefined);
    const onDrain = (): void => {
      if (!this.closed && !this.hungUp) this.emit("drain");
    };
    this.input.on("data", onData);
    this.input.on("end", onEnd);
    this.input.on("error", onReadError);
    this.input.on("close", onClose);
    this.output.on("drain", onDrain);
    if (!duplex) {
      this.output.on("error", onWriteError);
      this.output.on("close", onClose);
    }
    this.detach = () => {
      this.input.off("data", onData);
      this.input.off("end", onEnd);
      this.input.off("close", onClose);
      this.output.off("drain", onDrain);
      this.output.off("close", onClose);
      // The error listeners stay: a late error on a closing handle must not become an uncaught exception.
    };
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed || this.hungUp || this.output.destroyed || this.output.writableEnded) return false;
    this.bytesOut += bytes.length;
    return this.output.write(bytes);
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.detach();
      this.closing = this.closeImpl().catch(() => undefined);
    }
    return this.closing;
  }

  stats(): { bytesIn: number; bytesOut: number; writableLength: number } {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut, writableLength: this.output.writableLength };
  }

  /** Whether the line is still usable (not closed, not hung up). */
  get up(): boolean {
    return !this.closed && !this.hungUp;
  }

  /** Report the line gone, once. Subclasses call it for their own signals (DCD drop). */
  protected hangup(reason: string, cause?: Error): void {
    if (this.closed || this.hungUp) return;
    this.hungUp = true;
    this.emit("hangup", reason, cause);
  }
}
