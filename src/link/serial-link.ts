/**
 * A serial port as a Link, through `serialport` 13: /dev/ttyS*, /dev/ttyUSB*,
 * /dev/ttyACM*, or a pty (/dev/pts/N, e.g. one end of a socat pair or a QEMU
 * `-serial pty`). Speed defaults to 115200 (pppd keeps the tty's current
 * speed; serialport always sets one, so we pick the common rate). `crtscts`
 * and `xonxoff` map onto rtscts and xon/xoff.
 *
 * Hang-up detection:
 * - The device goes away (USB adapter unplugged, the pty's other side closed
 *   by socat exiting): serialport's read poller gets EIO/EBADF and emits
 *   'close' with `err.disconnected` — verified against a socat pty pair,
 *   where killing socat gives 'close' ("bad file descriptor", disconnected)
 *   and no 'error'. StreamLink turns that into 'hangup'.
 * - A pty whose master is closed can instead read 0 bytes forever (the tty
 *   is hung up). serialport's bundled unixRead retries a 0-byte read at once,
 *   spinning a CPU and never reporting anything (serialport/bindings-cpp
 *   issue #162, fix PR #164 not in our version). We open the port through
 *   `eofAwareBinding`, whose read() returns the 0 instead; the stream then
 *   ends, and StreamLink reports 'hangup' ("EOF").
 *
 * Throughput: bindings-cpp reads and writes through libuv's thread pool, one
 * round trip per call (~50–100 µs here), with one call per driver frame and
 * at most ~4 KiB per pty read. `eofAwareBinding` reads and writes the
 * non-blocking fd directly on the event loop (a few µs a call), reads until
 * the tty is empty, and SerialLink corks the frames of one tick into one
 * write. Over two socat ptys at 1 Gbit/s (the bench's (d) pty row) that took
 * the path from ~3 MB/s to ~11 MB/s; most of what is left is the pty itself
 * (at most ~4 KiB per read, and each read or write wakes socat and a kworker).
 * - `modem` (the default, LinkSpec.local false): DCD is polled with
 *   port.get() every DCD_POLL_MS once it has been seen high; when it drops,
 *   'hangup'. A pty has no modem lines (TIOCMGET fails with ENOTTY): polling
 *   stops quietly and LCP echo (in the session) is the safety net.
 * - `local`: modem lines are ignored.
 */
import { readSync, writeSync } from "node:fs";
import { SerialPort } from "serialport";
import { StreamLink } from "./stream-link.js";
import { codedError, emitSoftError, DEFAULT_SERIAL_SPEED, type LinkSpec } from "./link.js";

/** How often DCD is sampled in modem mode. A carrier drop is noticed within this long. */
export const DCD_POLL_MS = 500;

/** serialport's native errors carry only a message ("Error: No such file or directory, cannot open …"); recover the errno name. */
const MESSAGE_CODES: [RegExp, string, string?][] = [
  [/No such file or directory/i, "ENOENT"],
  [/Permission denied/i, "EACCES", "add your user to the group owning the device (often `dialout`)"],
  [/busy|Resource temporarily unavailable|Cannot lock port/i, "EBUSY", "another program has the port open"],
  [/Inappropriate ioctl/i, "ENOTTY", "the path is not a terminal device"],
  [/Input\/output error/i, "EIO"],
  [/bad file descriptor/i, "EBADF"],
];

export function serialErrorCode(err: unknown): { code: string; hint?: string } {
  const e = err as NodeJS.ErrnoException;
  if (e?.code) return { code: e.code };
  const msg = e?.message ?? String(err);
  for (const [re, code, hint] of MESSAGE_CODES) if (re.test(msg)) return { code, hint };
  return { code: "EIO" };
}

/** The part of a bindings-cpp unix port we touch. */
interface UnixPortBinding {
  fd: number | null;
  readonly isOpen: boolean;
  readonly poller?: PortPoller;
  /** bindings-cpp keeps the write in flight here; its drain() awaits it before tcdrain. */
  writeOperation: Promise<void> | null;
  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }>;
  write(buffer: Buffer): Promise<void>;
}

/** bindings-cpp's Poller (a libuv uv_poll_t on the port's fd). */
interface PortPoller {
  once(event: "readable" | "writable", cb: (err?: Error | null) => void): unknown;
  poll(events: number): void;
}

/** bindings-cpp Poller event bits (dist/poller.js EVENTS; libuv UV_READABLE / UV_WRITABLE). */
const UV_READABLE = 0b01;
const UV_WRITABLE = 0b10;

/** Per port: which directions wait on the poller, and whether the last read emptied the tty. */
interface PortIo {
  readable: boolean;
  writable: boolean;
  /** The last read got less than it asked for: the tty was empty then, so the next read waits for the poller first instead of meeting EAGAIN. */
  drained: boolean;
}
const portIo = new WeakMap<UnixPortBinding, PortIo>();

function ioOf(port: UnixPortBinding): PortIo {
  let io = portIo.get(port);
  if (!io) portIo.set(port, (io = { readable: false, writable: false, drained: false }));
  return io;
}

const canceled = (): Error => Object.assign(new Error("Port is not open"), { canceled: true });

function isRetry(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "EAGAIN" || code === "EWOULDBLOCK" || code === "EINTR";
}

/**
 * Wait until the port's fd is readable or writable. bindings-cpp's
 * Poller.poll(ev) restarts the libuv poll with only `ev`, so a write waiting
 * for room would silently stop a read waiting for data from being woken (and
 * the other way round) until the other event fired: while both wait, ask for both.
 */
function waitFor(port: UnixPortBinding, event: "readable" | "writable"): Promise<void> {
  const poller = port.poller;
  // Closed while we were reading or writing: polling a destroyed poller crashes the process (SIGSEGV), so stop here.
  if (!port.isOpen || !poller) return Promise.reject(canceled());
  const w = ioOf(port);
  w[event] = true;
  return new Promise<void>((resolve, reject) => {
    poller.once(event, (e) => {
      w[event] = false;
      if (e) reject(e);
      else resolve();
    });
    if (w.readable && w.writable) poller.poll(UV_READABLE | UV_WRITABLE);
  });
}

/**
 * Read what the tty has, on the event loop thread. bindings-cpp's unixRead
 * goes through libuv's thread pool once per read (a pty hands out at most
 * ~4 KiB per read: N_TTY's buffer), and retries a 0-byte read (hung-up tty)
 * forever. The fd is O_NONBLOCK (bindings-cpp opens it so), so readSync never
 * blocks: we read until the tty is empty (EAGAIN) or the buffer is full (one
 * 'data' chunk instead of many), wait on the port's poller when there is
 * nothing, and report a 0-byte read (EOF) instead of retrying it.
 */
async function ttyRead(port: UnixPortBinding, buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
  const io = ioOf(port);
  for (;;) {
    if (io.drained) {
      io.drained = false;
      await waitFor(port, "readable");
    }
    if (!port.isOpen || port.fd === null) throw canceled();
    let got = 0;
    try {
      while (got < length) {
        const n = readSync(port.fd, buffer, offset + got, length - got, null);
        if (n === 0) break; // hung up: hand out what we have; the next read returns the 0 and SerialPortStream ends the readable side
        got += n;
      }
    } catch (err) {
      if (!isRetry(err)) {
        if (got > 0) return { buffer, bytesRead: got }; // an error after data: the next read meets it again
        throw err;
      }
      // Empty now. A pty refills between reads (N_TTY hands out ~4 KiB at a time), so we read until this EAGAIN; the next read waits for the poller first instead of meeting another.
      io.drained = true;
      if (got === 0) continue;
    }
    return { buffer, bytesRead: got };
  }
}

/**
 * Write all of `buffer`, on the event loop thread (non-blocking writes;
 * bindings-cpp's unixWrite pays a thread-pool round trip per write). A full
 * tty (EAGAIN or a partial write) waits on the port's poller.
 */
async function ttyWrite(port: UnixPortBinding, buffer: Buffer): Promise<void> {
  let off = 0;
  while (off < buffer.length) {
    if (!port.isOpen || port.fd === null) throw new Error("Port is not open");
    try {
      const n = writeSync(port.fd, buffer, off, buffer.length - off);
      off += n;
      if (n > 0) continue;
    } catch (err) {
      if (!isRetry(err)) throw err;
    }
    await waitFor(port, "writable");
  }
}

/** serialport's detected binding, with ttyRead/ttyWrite in place of read/write on unix ports. */
const eofAwareBinding: typeof SerialPort.binding = (() => {
  const base = SerialPort.binding;
  if (process.platform === "win32") return base;
  return {
    ...base,
    list: base.list.bind(base),
    open: async (options: unknown) => {
      const port = (await (base.open as (o: unknown) => Promise<unknown>)(options)) as UnixPortBinding;
      if (typeof port.fd === "number" && port.poller) {
        port.read = (buffer, offset, length) => ttyRead(port, buffer, offset, length);
        port.write = (buffer) => {
          if (!port.isOpen) return Promise.reject(new Error("Port is not open"));
          // As bindings-cpp: drain() awaits writeOperation, then tcdrain.
          const op = (async () => {
            if (buffer.length > 0) await ttyWrite(port, buffer);
            port.writeOperation = null;
          })();
          port.writeOperation = op;
          return op;
        };
      }
      return port;
    },
  } as typeof SerialPort.binding;
})();

export interface SerialLinkOptions extends LinkSpec {
  /** DCD sampling period (tests shorten it). */
  dcdPollMs?: number;
}

export class SerialLink extends StreamLink {
  private dcdTimer: NodeJS.Timeout | undefined;
  private dcdSeenHigh = false;

  constructor(
    private readonly port: SerialPort,
    spec: SerialLinkOptions,
  ) {
    super({
      name: spec.device,
      input: port,
      output: port,
      bitsPerSecond: port.baudRate,
      closeImpl: () => this.release(),
    });
    if (!spec.local) this.watchCarrier(spec.dcdPollMs ?? DCD_POLL_MS);
  }

  /**
   * The driver writes one frame per call, several in one go. They are corked
   * until the end of the current tick, so a burst of frames reaches the tty
   * as one write(2) (SerialPortStream's _writev joins them) instead of one
   * system call per frame. Backpressure is unchanged: false past the
   * stream's highWaterMark, then 'drain'.
   */
  override write(bytes: Uint8Array): boolean {
    if (!this.corked && this.up && this.port.writable) {
      this.corked = true;
      this.port.cork();
      process.nextTick(this.uncork);
    }
    return super.write(bytes);
  }

  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.port.uncork();
  };

  /** Whether DCD has been seen high (modem mode). */
  get carrierSeen(): boolean {
    return this.dcdSeenHigh;
  }

  private watchCarrier(periodMs: number): void {
    const poll = (): void => {
      if (!this.up || !this.port.isOpen) return this.stopCarrierWatch();
      this.port.get((err, status) => {
        if (!this.up) return;
        if (err || !status) {
          // A pty or an adapter without modem lines: nothing to watch. Say so once, to whoever listens.
          this.stopCarrierWatch();
          emitSoftError(this, codedError(serialErrorCode(err).code, `${this.name}: cannot read modem lines (${err?.message ?? "no status"}); DCD is not watched, LCP echo must detect a dead line`, err ?? undefined));
          return;
        }
        if (status.dcd) this.dcdSeenHigh = true;
        else if (this.dcdSeenHigh) {
          this.stopCarrierWatch();
          this.hangup("DCD dropped (carrier lost)");
        }
      });
    };
    this.dcdTimer = setInterval(poll, periodMs);
    this.dcdTimer.unref();
    // The first sample is one period away, so a caller that attaches 'error' right after open still hears about a port without modem lines.
  }

  private stopCarrierWatch(): void {
    if (this.dcdTimer) clearInterval(this.dcdTimer);
    this.dcdTimer = undefined;
  }

  protected override hangup(reason: string, cause?: Error): void {
    this.stopCarrierWatch();
    super.hangup(reason, cause);
  }

  private release(): Promise<void> {
    this.stopCarrierWatch();
    return new Promise((resolve) => {
      if (!this.port.isOpen) return resolve();
      // Closing drops DTR (HUPCL), as pppd's hang-up does.
      this.port.close(() => resolve());
    });
  }
}

/** Open a serial device. Rejects with a coded error (ENOENT, EACCES, EBUSY, ENOTTY) whose message names the device and the fix. */
export function openSerialLink(spec: SerialLinkOptions): Promise<SerialLink> {
  const baudRate = spec.speed ?? DEFAULT_SERIAL_SPEED;
  const port = new SerialPort({
    path: spec.device,
    baudRate,
    rtscts: spec.crtscts ?? false,
    xon: spec.xonxoff ?? false,
    xoff: spec.xonxoff ?? false,
    autoOpen: false,
    // Not in SerialPort's option type, but honoured at run time (it spreads the options over its default binding).
    ...({ binding: eofAwareBinding } as object),
  });
  return new Promise((resolve, reject) => {
    port.open((err) => {
      if (err) {
        const { code, hint } = serialErrorCode(err);
        reject(codedError(code, `${spec.device}: open failed: ${code} (${err.message.replace(/^Error: /, "")})${hint ? `; ${hint}` : ""}`, err));
        return;
      }
      resolve(new SerialLink(port, spec));
    });
  });
}
