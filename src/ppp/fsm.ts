/**
 * The RFC 1661 §4 option-negotiation automaton, shared by LCP and IPCP (and
 * later CCP) behind a callback table, as pppd's fsm.c is. Sans-I/O: it takes
 * `now`, queues packets (the information field: code, id, length, data) for
 * the session to frame, and exposes its restart-timer deadline.
 *
 * States, events and actions use the RFC's names; `trace` (when set) records
 * the actions taken (tlu tld tls tlf irc zrc scr sca scn str sta scj ser) so
 * tests can check the RFC 1661 state table cell by cell.
 */
import type { Millis } from "../../stack/util/time.js";

export type FsmState =
  | "Initial" | "Starting" | "Closed" | "Stopped" | "Closing"
  | "Stopping" | "ReqSent" | "AckRcvd" | "AckSent" | "Opened";

export type FsmAction =
  | "tlu" | "tld" | "tls" | "tlf" | "irc" | "zrc" | "scr" | "sca" | "scn" | "str" | "sta" | "scj" | "ser";

/** RFC 1661 §5 packet codes. */
export const CONFREQ = 1;
export const CONFACK = 2;
export const CONFNAK = 3;
export const CONFREJ = 4;
export const TERMREQ = 5;
export const TERMACK = 6;
export const CODEREJ = 7;
/** LCP-only codes (RFC 1661 §5.7-5.9, RFC 1570). */
export const PROTREJ = 8;
export const ECHOREQ = 9;
export const ECHOREP = 10;
export const DISCREQ = 11;
export const IDENTIF = 12;
export const TIMEREM = 13;

/** RFC 1661 §5 header: code, identifier, length. */
export const HEADER_LEN = 4;
/** RFC 1661 §4.6 Restart timer, Max-Terminate, Max-Configure, Max-Failure. */
export const RESTART_MS = 3000;
export const MAX_TERMINATE = 2;
export const MAX_CONFIGURE = 10;
export const MAX_FAILURE = 5;

export type ReqVerdict = typeof CONFACK | typeof CONFNAK | typeof CONFREJ;

/** The protocol's side of the automaton (pppd's fsm_callbacks). */
export interface FsmCallbacks {
  /** Start a fresh negotiation: copy want into got (pppd resetci). */
  resetCi(now: Millis): void;
  /** Options for our Configure-Request, from got. */
  buildConfReq(): Uint8Array;
  /** The peer's Configure-Ack; false if it does not match what we asked. */
  ackCi(body: Uint8Array): boolean;
  /** The peer's Configure-Nak; adjust got. `treatAsReject` after Max-Failure Naks. False if bogus. */
  nakCi(body: Uint8Array, treatAsReject: boolean, now: Millis): boolean;
  /** The peer's Configure-Reject; drop those options from got. False if bogus. */
  rejCi(body: Uint8Array): boolean;
  /** The peer's Configure-Request: verdict and reply options. Nak becomes Rej when `rejectIfDisagree`. */
  reqCi(body: Uint8Array, rejectIfDisagree: boolean, now: Millis): { verdict: ReqVerdict; reply: Uint8Array };
  /** This-Layer-Up / -Down / -Started / -Finished. */
  up(now: Millis): void;
  down(now: Millis): void;
  starting(now: Millis): void;
  finished(now: Millis): void;
  /** Codes beyond 1-7 (LCP: Protocol-Reject, Echo, Discard, Identification, Time-Remaining). True if handled. */
  extCode?(code: number, id: number, data: Uint8Array, now: Millis): boolean;
  /** A log line in pppd's words. */
  log(level: "info" | "debug" | "warn" | "error", text: string): void;
}

export interface FsmOptions {
  restartMs?: number;
  maxTerminate?: number;
  maxConfigure?: number;
  maxFailure?: number;
  /** pppd `passive`: after Max-Configure stay in Stopped, listening. */
  passive?: boolean;
  /** pppd `silent`: send nothing until a valid Configure-Request arrives. */
  silent?: boolean;
}

export class Fsm {
  state: FsmState = "Initial";
  /** Identifier of the last packet we originated; ConfReq/TermReq take ++id. */
  private id = 0;
  /** Identifier of our outstanding Configure-Request; Acks/Naks with another id are stale. */
  private reqId = -1;
  /** An Ack/Nak/Rej for reqId was already taken: later ones with the same id are duplicates. */
  private seenAck = false;
  /** RFC 1661 §4.6 restart counter. */
  private retransmits = 0;
  /** Naks we sent in a row (Max-Failure: then Reject), and Naks received in a row. */
  private nakLoops = 0;
  private rnakLoops = 0;
  private deadline: Millis | undefined;
  private readonly out: Uint8Array[] = [];
  /** Reason text carried in our Terminate-Request. */
  termReason = "";
  readonly restartMs: number;
  readonly maxTerminate: number;
  readonly maxConfigure: number;
  readonly maxFailure: number;
  passive: boolean;
  silent: boolean;
  /** When set, every action taken is pushed here (tests). */
  trace: FsmAction[] | undefined;

  constructor(readonly name: string, private readonly cb: FsmCallbacks, opts: FsmOptions = {}) {
    this.restartMs = opts.restartMs ?? RESTART_MS;
    this.maxTerminate = opts.maxTerminate ?? MAX_TERMINATE;
    this.maxConfigure = opts.maxConfigure ?? MAX_CONFIGURE;
    this.maxFailure = opts.maxFailure ?? MAX_FAILURE;
    this.passive = opts.passive ?? false;
    this.silent = opts.silent ?? false;
  }

  // --- outputs ---------------------------------------------------------

  pollTransmit(): Uint8Array | undefined {
    return this.out.shift();
  }

  pollTimeout(): Millis | undefined {
    return this.deadline;
  }

  /** Queue a packet of any code (pppd fsm_sdata). */
  sendData(code: number, id: number, data: Uint8Array): void {
    const p = new Uint8Array(HEADER_LEN + data.length);
    p[0] = code;
    p[1] = id & 0xff;
    p[2] = p.length >>> 8;
    p[3] = p.length & 0xff;
    p.set(data, HEADER_LEN);
    this.out.push(p);
  }

  /** A fresh identifier for a packet we originate (Echo-Request keeps its own counter). */
  nextId(): number {
    this.id = (this.id + 1) & 0xff;
    return this.id;
  }

  // --- events from the layer below and from the administrator ----------

  /** Up: the lower layer is ready. */
  lowerUp(now: Millis): void {
    switch (this.state) {
      case "Initial":
        this.state = "Closed";
        break;
      case "Starting":
        if (this.silent) this.state = "Stopped";
        else this.renegotiate(now);
        break;
      default:
        this.cb.log("debug", `${this.name}: Up event in state ${this.state}!`);
    }
  }

  /** Down: the lower layer is gone. */
  lowerDown(now: Millis): void {
    switch (this.state) {
      case "Closed":
        this.state = "Initial";
        break;
      case "Stopped":
        this.state = "Starting";
        this.tls(now);
        break;
      case "Closing":
        this.state = "Initial";
        this.deadline = undefined;
        break;
      case "Stopping":
      case "ReqSent":
      case "AckRcvd":
      case "AckSent":
        this.state = "Starting";
        this.deadline = undefined;
        break;
      case "Opened":
        this.state = "Starting";
        this.tld(now);
        break;
      default:
        this.cb.log("debug", `${this.name}: Down event in state ${this.state}!`);
    }
  }

  /** Open: the administrator wants the link. */
  open(now: Millis): void {
    switch (this.state) {
      case "Initial":
        this.state = "Starting";
        this.tls(now);
        break;
      case "Closed":
        if (this.silent) this.state = "Stopped";
        else this.renegotiate(now);
        break;
      case "Closing":
        this.state = "Stopping";
        break;
      default: // Starting, Stopped, Stopping, ReqSent, AckRcvd, AckSent, Opened: no change (no restart option)
        break;
    }
  }

  /** Close: the administrator wants the link down; `reason` goes in the Terminate-Request. */
  close(reason: string, now: Millis): void {
    this.termReason = reason;
    switch (this.state) {
      case "Starting":
        this.state = "Initial";
        this.tlf(now);
        break;
      case "Stopped":
        this.state = "Closed";
        break;
      case "Stopping":
        this.state = "Closing";
        break;
      case "ReqSent":
      case "AckRcvd":
      case "AckSent":
      case "Opened":
        this.terminateLayer("Closing", now);
        break;
      default: // Initial, Closed, Closing
        break;
    }
  }

  /** RXJ- from outside (LCP got a Protocol-Reject for this NCP): pppd fsm_protreject. */
  protocolRejected(now: Millis): void {
    this.rxjMinus(now);
  }

  handleTimeout(now: Millis): void {
    if (this.deadline === undefined || now < this.deadline) return;
    this.deadline = undefined;
    switch (this.state) {
      case "Closing":
      case "Stopping":
        if (this.retransmits <= 0) {
          this.state = this.state === "Closing" ? "Closed" : "Stopped"; // TO-
          this.tlf(now);
        } else {
          this.sendTermReq(now); // TO+
        }
        break;
      case "ReqSent":
      case "AckRcvd":
      case "AckSent":
        if (this.retransmits <= 0) {
          this.cb.log("warn", `${this.name}: timeout sending Config-Requests`);
          this.state = "Stopped";
          if (!this.passive) this.tlf(now);
        } else {
          this.sendConfReq(true, now);
          if (this.state === "AckRcvd") this.state = "ReqSent";
        }
        break;
      default:
        break;
    }
  }

  /** One received packet of this protocol (information field). Malformed ones are dropped. */
  input(packet: Uint8Array, now: Millis): boolean {
    if (packet.length < HEADER_LEN) {
      this.cb.log("debug", `${this.name}: Rcvd short header.`);
      return false;
    }
    const code = packet[0];
    const id = packet[1];
    const len = (packet[2] << 8) | packet[3];
    if (len < HEADER_LEN || len > packet.length) {
      this.cb.log("debug", `${this.name}: Rcvd illegal length.`);
      return false;
    }
    if (this.state === "Initial" || this.state === "Starting") {
      this.cb.log("debug", `${this.name}: Rcvd packet in state ${this.state}.`);
      return false;
    }
    const data = packet.subarray(HEADER_LEN, len);
    switch (code) {
      case CONFREQ:
        this.rcvConfReq(id, data, now);
        break;
      case CONFACK:
        this.rcvConfAck(id, data, now);
        break;
      case CONFNAK:
      case CONFREJ:
        this.rcvConfNakRej(code, id, data, now);
        break;
      case TERMREQ:
        this.rcvTermReq(id, data, now);
        break;
      case TERMACK:
        this.rcvTermAck(now);
        break;
      case CODEREJ:
        this.rcvCodeRej(data, now);
        break;
      default:
        if (!this.cb.extCode || !this.cb.extCode(code, id, data, now)) {
          this.act("scj"); // RUC
          this.sendData(CODEREJ, this.nextId(), packet.subarray(0, len));
        }
    }
    return true;
  }

  // --- receive handlers (pppd fsm_r*) -----------------------------------

  private rcvConfReq(id: number, data: Uint8Array, now: Millis): void {
    switch (this.state) {
      case "Closed":
        this.act("sta");
        this.sendData(TERMACK, id, new Uint8Array(0));
        return;
      case "Closing":
      case "Stopping":
        return;
      case "Opened":
        this.renegotiate(now);
        break;
      case "Stopped":
        this.renegotiate(now); // irc, scr (and, with `silent`, the first thing we ever send)
        break;
      default:
        break;
    }
    const { verdict, reply } = this.cb.reqCi(data, this.nakLoops >= this.maxFailure, now);
    this.act(verdict === CONFACK ? "sca" : "scn");
    this.sendData(verdict, id, reply);
    if (verdict === CONFACK) {
      if (this.state === "AckRcvd") {
        this.deadline = undefined;
        this.state = "Opened";
        this.tlu(now);
      } else this.state = "AckSent";
      this.nakLoops = 0;
    } else {
      if (this.state !== "AckRcvd") this.state = "ReqSent";
      if (verdict === CONFNAK) this.nakLoops++;
    }
  }

  private rcvConfAck(id: number, data: Uint8Array, now: Millis): void {
    if (this.answerWhenNotNegotiating(id)) return;
    if (id !== this.reqId || this.seenAck) return; // stale or duplicate
    if (!this.cb.ackCi(data)) {
      this.cb.log("error", `${this.name}: Received bad configure-ack`);
      return;
    }
    this.seenAck = true;
    this.rnakLoops = 0;
    switch (this.state) {
      case "ReqSent":
        this.state = "AckRcvd";
        this.retransmits = this.maxConfigure; // irc
        this.act("irc");
        break;
      case "AckRcvd":
        this.renegotiate(now); // crossed connection: RFC 1661 "scr/6x"
        break;
      case "AckSent":
        this.deadline = undefined;
        this.state = "Opened";
        this.retransmits = this.maxConfigure;
        this.act("irc");
        this.tlu(now);
        break;
      case "Opened":
        this.renegotiate(now);
        break;
      default:
        break;
    }
  }

  private rcvConfNakRej(code: number, id: number, data: Uint8Array, now: Millis): void {
    if (this.answerWhenNotNegotiating(id)) return;
    if (id !== this.reqId || this.seenAck) return; // stale or duplicate
    let ok: boolean;
    if (code === CONFNAK) {
      this.rnakLoops++;
      ok = this.cb.nakCi(data, this.rnakLoops >= this.maxFailure, now);
      if (!ok) this.cb.log("error", `${this.name}: Received bad configure-nak`);
    } else {
      this.rnakLoops = 0;
      ok = this.cb.rejCi(data);
      if (!ok) this.cb.log("error", `${this.name}: Received bad configure-rej`);
    }
    if (!ok) return;
    this.seenAck = true;
    switch (this.state) {
      case "ReqSent":
      case "AckSent":
        this.sendConfReq(false, now); // irc, scr; the state stays
        break;
      case "AckRcvd":
        this.renegotiate(now);
        break;
      case "Opened":
        this.renegotiate(now);
        break;
      default:
        break;
    }
  }

  /** RCA/RCN outside a negotiation: sta in Closed/Stopped, ignored in Closing/Stopping (RFC 1661 §4.1 table). */
  private answerWhenNotNegotiating(id: number): boolean {
    switch (this.state) {
      case "Closed":
      case "Stopped":
        this.act("sta");
        this.sendData(TERMACK, id, new Uint8Array(0));
        return true;
      case "Closing":
      case "Stopping":
        return true;
      default:
        return false;
    }
  }

  private rcvTermReq(id: number, data: Uint8Array, now: Millis): void {
    switch (this.state) {
      case "AckRcvd":
      case "AckSent":
        this.state = "ReqSent";
        break;
      case "Opened": {
        const why = printable(data);
        this.cb.log("info", why ? `${this.name} terminated by peer (${why})` : `${this.name} terminated by peer`);
        this.retransmits = 0; // zrc: wait one restart period, then tlf
        this.act("zrc");
        this.state = "Stopping";
        this.tld(now);
        this.deadline = now + this.restartMs;
        break;
      }
      default:
        break;
    }
    this.act("sta");
    this.sendData(TERMACK, id, new Uint8Array(0));
  }

  private rcvTermAck(now: Millis): void {
    switch (this.state) {
      case "Closing":
        this.finish("Closed", now);
        break;
      case "Stopping":
        this.finish("Stopped", now);
        break;
      case "AckRcvd":
        this.state = "ReqSent";
        break;
      case "Opened":
        this.renegotiate(now);
        break;
      default:
        break;
    }
  }

  private rcvCodeRej(data: Uint8Array, now: Millis): void {
    if (data.length < HEADER_LEN) {
      this.cb.log("debug", `${this.name}: Rcvd short Code-Reject packet!`);
      return;
    }
    const code = data[0];
    this.cb.log("warn", `${this.name}: Rcvd Code-Reject for code ${code}, id ${data[1]}`);
    // RFC 1661 §5.6: a reject of a code we must use (1-7) is catastrophic (RXJ-).
    if (code >= CONFREQ && code <= CODEREJ) {
      this.rxjMinus(now);
      return;
    }
    if (this.state === "AckRcvd") this.state = "ReqSent"; // RXJ+
  }

  private rxjMinus(now: Millis): void {
    switch (this.state) {
      case "Closing":
      case "Closed":
        this.finish("Closed", now);
        break;
      case "Stopping":
      case "ReqSent":
      case "AckRcvd":
      case "AckSent":
      case "Stopped":
        this.finish("Stopped", now);
        break;
      case "Opened":
        this.terminateLayer("Stopping", now);
        break;
      default:
        break;
    }
  }

  // --- actions ------------------------------------------------------------

  private terminateLayer(next: "Closing" | "Stopping", now: Millis): void {
    const wasOpened = this.state === "Opened";
    this.state = next; // before tld, so This-Layer-Down sees that we are terminating
    if (wasOpened) this.tld(now);
    this.retransmits = this.maxTerminate; // irc
    this.act("irc");
    this.sendTermReq(now);
  }

  private sendTermReq(now: Millis): void {
    this.act("str");
    this.sendData(TERMREQ, this.nextId(), new TextEncoder().encode(this.termReason));
    this.retransmits--;
    this.deadline = now + this.restartMs;
  }

  /** scr (pppd fsm_sconfreq); a fresh negotiation (irc) unless we are already in one. */
  private sendConfReq(retransmit: boolean, now: Millis): void {
    if (this.state !== "ReqSent" && this.state !== "AckRcvd" && this.state !== "AckSent") {
      this.cb.resetCi(now);
      this.nakLoops = 0;
      this.rnakLoops = 0;
    }
    if (!retransmit) {
      this.retransmits = this.maxConfigure; // irc
      this.act("irc");
      this.reqId = this.nextId();
    }
    this.seenAck = false;
    this.act("scr");
    this.sendData(CONFREQ, this.reqId, this.cb.buildConfReq());
    this.retransmits--;
    this.deadline = now + this.restartMs;
  }

  /** This-Layer-Up / -Down / -Started / -Finished: record the action, tell the protocol. */
  private tlu(now: Millis): void {
    this.act("tlu");
    this.cb.up(now);
  }

  private tld(now: Millis): void {
    this.act("tld");
    this.cb.down(now);
  }

  private tls(now: Millis): void {
    this.act("tls");
    this.cb.starting(now);
  }

  private tlf(now: Millis): void {
    this.act("tlf");
    this.cb.finished(now);
  }

  /** The layer is done in Closed or Stopped: stop the restart timer, tlf. */
  private finish(state: "Closed" | "Stopped", now: Millis): void {
    this.deadline = undefined;
    this.state = state;
    this.tlf(now);
  }

  /** (Re)start negotiation: irc, scr, Req-Sent; from Opened, This-Layer-Down first (RFC 1661 "tld,scr/6"). */
  private renegotiate(now: Millis): void {
    if (this.state === "Opened") this.tld(now);
    this.sendConfReq(false, now);
    this.state = "ReqSent";
  }

  private act(a: FsmAction): void {
    this.trace?.push(a);
  }
}

/** The text of a Terminate-Request as pppd's %v prints it: M- for high bytes, ^X for controls. */
function printable(data: Uint8Array): string {
  let s = "";
  for (let c of data) {
    if (c >= 0x80) {
      s += "M-";
      c -= 0x80;
    }
    s += c < 0x20 || c === 0x7f ? "^" + String.fromCharCode(c ^ 0x40) : String.fromCharCode(c);
  }
  return s;
}
