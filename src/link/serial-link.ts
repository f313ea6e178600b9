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
 * - `modem` (the default, LinkSpec.local false): DCD is polled with
 *   port.get() every DCD_POLL_MS once it has been seen high; when it drops,
 *   'hangup'. A pty has no modem lines (TIOCMGET fails with ENOTTY): polling
 *   stops quietly and LCP echo (in the session) is the safety net.
 * - `local`: modem lines are ignored.
 */
import { read as fsRead } from "node:fs";
import { promisify } from "node:util";
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

const fsReadAsync = promisify(fsRead);

/** The part of a bindings-cpp unix port we touch. */
interface UnixPortBinding {
  fd: number | null;
  readonly isOpen: boolean;
  readonly poller?: { once(event: "readable", cb: (err?: Error | null) => void): unknown };
  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }>;
}

/** A read that, unlike bindings-cpp's unixRead, reports a 0-byte read (hung-up tty) instead of retrying it forever. */
async function ttyRead(port: UnixPortBinding, buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
  for (;;) {
    if (!port.isOpen || port.fd === null) throw Object.assign(new Error("Port is not open"), { canceled: true });
    try {
      const { bytesRead } = await fsReadAsync(port.fd, buffer, offset, length, null);
      return { buffer, bytesRead }; // 0: the tty hung up; SerialPortStream ends the readable side
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EAGAIN" && code !== "EWOULDBLOCK" && code !== "EINTR") throw err;
      // Closed while the read was in the thread pool: polling a destroyed poller crashes the process (SIGSEGV), so stop here.
      if (!port.isOpen) throw Object.assign(new Error("Port is not open"), { canceled: true });
      const poller = port.poller;
      if (!poller) throw err;
      await new Promise<void>((resolve, reject) => poller.once("readable", (e) => (e ? reject(e) : resolve())));
    }
  }
}

/** serialport's detected binding, with ttyRead in place of read on unix ports. */
const eofAwareBinding: typeof SerialPort.binding = (() => {
  const base = SerialPort.binding;
  if (process.platform === "win32") return base;
  return {
    ...base,
    list: base.list.bind(base),
    open: async (options: unknown) => {
      const port = (await (base.open as (o: unknown) => Promise<unknown>)(options)) as UnixPortBinding;
      if (typeof port.fd === "number") port.read = (buffer, offset, length) => ttyRead(port, buffer, offset, length);
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
