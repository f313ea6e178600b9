/**
 * Windows Direct Cable Connection handshake, sans-I/O. Before PPP starts,
 * the Windows guest sends the ASCII text "CLIENT" and the host answers
 * "CLIENTSERVER". `DccAnswerer` spots "CLIENT" in raw line bytes (split at
 * any point) before the first PPP frame; `DccCaller` plays the guest: sends
 * "CLIENT", waits for "CLIENTSERVER", retrying on its own timer.
 * The text never reaches the HDLC decoder as a frame: it arrives before the
 * first flag, which the decoder skips (counted as `garbage`).
 */
import type { Millis } from "../../stack/util/time.js";

export const DCC_CLIENT = "CLIENT";
export const DCC_SERVER = "CLIENTSERVER";
/** Retry interval and attempts for the calling side (Windows uses a few seconds). */
export const DCC_RETRY_MS = 3000;
export const DCC_MAX_TRIES = 10;

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Finds `token` in a byte stream fed in pieces; counts each occurrence once. */
class TokenScanner {
  private tail = "";
  constructor(private readonly token: string) {}

  /** Occurrences of the token that end inside `bytes`. */
  feed(bytes: Uint8Array): number {
    let chunk = "";
    for (const b of bytes) chunk += String.fromCharCode(b);
    const window = this.tail + chunk;
    let n = 0;
    for (let i = window.indexOf(this.token); i >= 0; i = window.indexOf(this.token, i + 1)) {
      if (i + this.token.length > this.tail.length) n++;
    }
    this.tail = window.slice(-(this.token.length - 1));
    return n;
  }
}

/** Host side: answer "CLIENTSERVER" to each "CLIENT". */
export class DccAnswerer {
  private readonly scanner = new TokenScanner(DCC_CLIENT);
  static readonly reply = ascii(DCC_SERVER);

  /** How many replies these bytes call for. */
  input(bytes: Uint8Array): number {
    return this.scanner.feed(bytes);
  }
}

/** Guest side: send "CLIENT" until "CLIENTSERVER" arrives. */
export class DccCaller {
  state: "idle" | "waiting" | "done" | "failed" = "idle";
  private readonly scanner = new TokenScanner(DCC_SERVER);
  private readonly out: Uint8Array[] = [];
  private deadline: Millis | undefined;
  private tries = 0;

  start(now: Millis): void {
    this.state = "waiting";
    this.tries = 0;
    this.send(now);
  }

  /** True when this input completed the handshake. */
  input(bytes: Uint8Array): boolean {
    if (this.state !== "waiting" || this.scanner.feed(bytes) === 0) return false;
    this.state = "done";
    this.deadline = undefined;
    return true;
  }

  handleTimeout(now: Millis): void {
    if (this.deadline === undefined || now < this.deadline) return;
    this.deadline = undefined;
    if (this.tries >= DCC_MAX_TRIES) this.state = "failed";
    else this.send(now);
  }

  pollTimeout(): Millis | undefined {
    return this.deadline;
  }

  pollTransmit(): Uint8Array | undefined {
    return this.out.shift();
  }

  private send(now: Millis): void {
    this.tries++;
    this.out.push(ascii(DCC_CLIENT));
    this.deadline = now + DCC_RETRY_MS;
  }
}
