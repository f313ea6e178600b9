/**
 * The Link: the byte pipe a PPP session runs over (a serial port, a TCP
 * stream to ser2net or a QEMU chardev, stdin/stdout, or the emulated
 * null-modem). This file holds the interface, the device-string parser and
 * `openLink()`, which picks the implementation. It sits in src/link, an edge
 * layer: the PPP cores never see a Link, only the CoreDriver does.
 *
 * Contract every implementation keeps:
 * - 'data' (Buffer): bytes from the line, in order, as they arrive.
 * - write(bytes) → false when the line's buffer is full; the caller stops
 *   writing until 'drain'. The bytes of the call that returned false were
 *   accepted. Nothing queues without bound behind the caller's back.
 * - 'hangup' (reason) exactly once, when the line goes away by itself (EOF,
 *   read error, DCD drop, socket close, the null-modem peer closing). It is
 *   NOT emitted for our own close(). After 'hangup', write() returns false and
 *   discards.
 * - 'error' (Error) for non-fatal problems only; it is emitted only when
 *   someone listens (see `emitSoftError`), so an unwatched link never crashes
 *   the process for a problem it survives.
 * - close() is idempotent and resolves when the underlying handle is closed.
 */
import type { EventEmitter } from "node:events";

export interface Link extends EventEmitter {
  /** "/dev/ttyS1", "tcp://127.0.0.1:7000", "stdio", "nullmodem:a". */
  readonly name: string;
  /** Line rate when known (serial speed / emulator baud), for pacing. */
  readonly bitsPerSecond?: number;
  /** false → wait for 'drain' before writing again. */
  write(bytes: Uint8Array): boolean;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface LinkSpec {
  /** A tty path, "tcp://host:port", "tcp-listen://[host:]port", "stdio" or "-". */
  device: string;
  /**
   * Serial speed in bit/s. Serial default 115200 (pppd would keep the tty's
   * current speed; serialport cannot, so we pick the common one). For
   * tcp://, tcp-listen:// and stdio it is the rate of the serial line behind
   * them (ser2net, a modem bridge), and only pacing uses it; not given, they
   * are not paced.
   */
  speed?: number;
  /** RTS/CTS hardware flow control (pppd `crtscts`). */
  crtscts?: boolean;
  /** XON/XOFF software flow control (pppd `xonxoff`). */
  xonxoff?: boolean;
  /** pppd `local`: ignore the modem lines (no DCD watch). Default false = pppd `modem`. */
  local?: boolean;
}

/** Default serial speed when LinkSpec.speed is not given. */
export const DEFAULT_SERIAL_SPEED = 115200;

/** Local misuse of a link option: the message names the option and the fix. */
export class LinkSpecError extends Error {
  readonly code = "ERR_LINK_SPEC";
  constructor(message: string) {
    super(message);
    this.name = "LinkSpecError";
  }
}

export type ParsedDevice =
  | { kind: "serial"; path: string }
  | { kind: "tcp"; host: string; port: number }
  | { kind: "tcp-listen"; host: string; port: number }
  | { kind: "stdio" };

/** Default bind address for tcp-listen:// when no host is given (loopback: a PPP server should not face the world by accident). */
export const DEFAULT_LISTEN_HOST = "127.0.0.1";

function parsePort(text: string, device: string): number {
  if (!/^\d+$/.test(text)) throw new LinkSpecError(`device "${device}": port "${text}" is not a number (expected e.g. tcp://127.0.0.1:7000)`);
  const port = Number(text);
  if (port > 65535) throw new LinkSpecError(`device "${device}": port ${port} is out of range 0..65535`);
  return port;
}

/** Split "host:port" / "[v6]:port" / "port" (host optional only when `defaultHost` is given). */
function parseHostPort(rest: string, device: string, defaultHost?: string): { host: string; port: number } {
  const bracket = /^\[([^\]]+)\]:(.*)$/.exec(rest);
  if (bracket) return { host: bracket[1], port: parsePort(bracket[2], device) };
  const colon = rest.lastIndexOf(":");
  if (colon < 0) {
    if (defaultHost === undefined) throw new LinkSpecError(`device "${device}": missing port (expected tcp://host:port)`);
    return { host: defaultHost, port: parsePort(rest, device) };
  }
  const host = rest.slice(0, colon) || defaultHost;
  if (!host) throw new LinkSpecError(`device "${device}": missing host (expected tcp://host:port)`);
  const port = parsePort(rest.slice(colon + 1), device);
  if (port === 0 && defaultHost === undefined) throw new LinkSpecError(`device "${device}": cannot connect to port 0`);
  return { host, port };
}

/** Classify a device string. Throws LinkSpecError for a malformed one. */
export function parseDevice(device: string): ParsedDevice {
  const d = device.trim();
  if (d === "") throw new LinkSpecError("device is empty (give a tty path, tcp://host:port, tcp-listen://port or stdio)");
  if (d === "stdio" || d === "-") return { kind: "stdio" };
  if (d.startsWith("tcp://")) return { kind: "tcp", ...parseHostPort(d.slice(6).replace(/\/$/, ""), device) };
  if (d.startsWith("tcp-listen://")) return { kind: "tcp-listen", ...parseHostPort(d.slice(13).replace(/\/$/, ""), device, DEFAULT_LISTEN_HOST) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(d)) throw new LinkSpecError(`device "${device}": unknown scheme (known: tcp://, tcp-listen://, stdio, or a tty path)`);
  // A bare name like "ttyS1" means /dev/ttyS1, as in pppd.
  return { kind: "serial", path: d.startsWith("/") || d.startsWith(".") ? d : `/dev/${d}` };
}

/**
 * Open the link named by `spec.device`. For tcp-listen:// it waits for the
 * first connection and stops listening (use `listenLinks` to serve many).
 */
export async function openLink(spec: LinkSpec): Promise<Link> {
  const dev = parseDevice(spec.device);
  switch (dev.kind) {
    case "serial": {
      const { openSerialLink } = await import("./serial-link.js");
      return openSerialLink({ ...spec, device: dev.path });
    }
    case "tcp": {
      const { connectTcpLink } = await import("./tcp-link.js");
      return connectTcpLink(dev.host, dev.port, { bitsPerSecond: spec.speed });
    }
    case "tcp-listen": {
      const { acceptOneTcpLink } = await import("./tcp-link.js");
      return acceptOneTcpLink(dev.host, dev.port, spec.speed);
    }
    case "stdio": {
      const { createStdioLink } = await import("./stdio-link.js");
      return createStdioLink({ bitsPerSecond: spec.speed });
    }
  }
}

/** Emit a non-fatal 'error' only when someone listens (an unheard soft error must not crash the process). */
export function emitSoftError(link: EventEmitter, err: Error): void {
  if (link.listenerCount("error") > 0) link.emit("error", err);
}

/** Node-style error with a code, for socket/device failures reaching users. */
export function codedError(code: string, message: string, cause?: unknown): Error & { code: string } {
  const err = new Error(message, cause === undefined ? undefined : { cause }) as Error & { code: string };
  err.code = code;
  return err;
}
