/**
 * The output side every auth machine shares (src/ppp/auth): queues of packets
 * to send and events to report, one restart deadline, and drop counters for
 * malformed or unexpected input. The protocol logic lives in pap.ts / chap.ts.
 */
import type { Millis } from "../../../stack/util/time.js";
import type { AuthEvent } from "./auth-machine.js";
import { DropCounter, type DropReason } from "./packet.js";

/** pppd's defaults (upap.c, chap-new.c): restart every 3 s, 10 transmissions. */
export const DEFAULT_TIMEOUT_MS = 3000;
export const DEFAULT_MAX_TRANSMITS = 10;

/** The restart-timer settings every machine takes (AuthenticatorOptions / AuthPeerOptions). */
export interface RestartTimerOptions {
  timeoutMs?: number;
  maxTransmits?: number;
}

export abstract class AuthMachineBase {
  /** Restart timer (pppd `pap-restart` / `chap-restart`) and transmissions before giving up. */
  protected readonly timeoutMs: number;
  protected readonly maxTransmits: number;
  /** Packets waiting for pollTransmit(), oldest first. */
  private readonly txQueue: Uint8Array[] = [];
  /** Events waiting for pollEvent(), oldest first. */
  private readonly eventQueue: AuthEvent[] = [];
  /** The one pending deadline (restart timer or wait limit); undefined when nothing is timed. */
  protected deadline: Millis | undefined;
  /** Input dropped, by reason. */
  readonly drops = new DropCounter();

  /** "PAP" or "CHAP", for trace lines. */
  protected abstract readonly label: string;

  constructor(timer: RestartTimerOptions) {
    this.timeoutMs = timer.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxTransmits = timer.maxTransmits ?? DEFAULT_MAX_TRANSMITS;
  }

  pollTransmit(): Uint8Array | undefined {
    return this.txQueue.shift();
  }

  pollEvent(): AuthEvent | undefined {
    return this.eventQueue.shift();
  }

  pollTimeout(): Millis | undefined {
    return this.deadline;
  }

  protected send(packet: Uint8Array): void {
    this.txQueue.push(packet);
  }

  protected emit(event: AuthEvent): void {
    this.eventQueue.push(event);
  }

  protected log(level: "info" | "warn" | "debug", text: string): void {
    this.eventQueue.push({ type: "log", level, text });
  }

  /**
   * Count and trace a dropped packet. Packets of the other direction's codes
   * (the session may hand both machines of a protocol every packet) are only
   * counted, so debug logs stay readable.
   */
  protected drop(reason: DropReason, detail = ""): void {
    this.drops.add(reason);
    if (reason !== "unexpected code") this.log("debug", `${this.label}: dropped packet (${reason}${detail ? `: ${detail}` : ""})`);
  }
}
