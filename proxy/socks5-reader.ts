/**
 * Handshake reader for the SOCKS5 server (proxy/): gathers the bytes of a
 * control connection until an incremental parser (socks5-codec.ts) says
 * `ok` or `bad`, then hands the rest of the stream back untouched.
 *
 * The accumulator copies (ownership changes from Node's chunk to us); it is
 * bounded by MAX_HANDSHAKE, far above the largest legal message
 * (RFC 1929: 3 + 255 + 255 bytes), so a peer cannot make it grow.
 */
import type { Duplex } from "node:stream";
import type { Parsed } from "./socks5-codec.js";

/** Bigger than any RFC 1928/1929 handshake message. */
const MAX_HANDSHAKE = 1024;

export type ReadResult<T> = { kind: "ok"; value: T } | { kind: "bad"; reason: string; rep?: number } | { kind: "closed" };

export class HandshakeReader {
  private buf: Uint8Array = new Uint8Array(0);
  private ended = false;
  private wake: (() => void) | undefined;
  private readonly onData = (chunk: Buffer) => {
    const next = new Uint8Array(this.buf.length + chunk.length);
    next.set(this.buf, 0);
    next.set(chunk, this.buf.length);
    this.buf = next;
    this.kick();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.kick();
  };

  constructor(private readonly sock: Duplex) {
    sock.on("data", this.onData);
    sock.on("end", this.onEnd);
    sock.on("close", this.onEnd);
  }

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async read<T>(parse: (b: Uint8Array) => Parsed<T>): Promise<ReadResult<T>> {
    for (;;) {
      const r = parse(this.buf);
      if (r.kind === "ok") {
        this.buf = this.buf.subarray(r.bytesRead);
        return { kind: "ok", value: r.value };
      }
      if (r.kind === "bad") return r;
      if (this.buf.length > MAX_HANDSHAKE) return { kind: "bad", reason: `handshake longer than ${MAX_HANDSHAKE} bytes` };
      if (this.ended) return { kind: "closed" };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Stop reading: pause the socket and put back any bytes past the handshake. */
  detach(): void {
    this.sock.off("data", this.onData);
    this.sock.off("end", this.onEnd);
    this.sock.off("close", this.onEnd);
    this.sock.pause();
    if (this.buf.length > 0) this.sock.unshift(Buffer.from(this.buf));
    this.buf = new Uint8Array(0);
  }
}
