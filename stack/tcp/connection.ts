/**
 * One TCP connection (a TCB, RFC 9293 §3.3.1) as a sans-I/O state machine:
 * `input(seg, now)` runs the segment-arrival rules of RFC 9293 §3.10.7 with
 * RFC 5961 hardening, `dispatch(now)` emits whatever is due (SYN, data within
 * min(cwnd, SND.WND), retransmissions, FIN, ACKs), `onTimeout(now)` fires the
 * retransmission, persist, delayed-ACK, keepalive and TIME-WAIT timers, and
 * `deadline()` says when next. Segments go out and events come back through
 * the owning `TcpLayer` (the `ConnHost`); the connection never does I/O.
 *
 * Sequence bookkeeping (all uint32, see seq.ts):
 *   iss ≤ sndUna ≤ sndNxt ≤ sndMax; sndBufSeq is the sequence of sndBuf[0]
 *   (iss + 1 once data flows); the FIN, when queued, sits at sndBufSeq +
 *   sndBuf.length. irs, rcvNxt; rcvAdvEdge is the right edge last advertised
 *   (never moved left, RFC 9293 §3.8.6.2.2).
 */
import type { TransportDatagram } from "../ip/transport.js";
import type { Millis } from "../util/time.js";
import {
  ACK, FIN, PSH, RST, SYN, fillTcpChecksum, tcpHeaderLength, writeTcpHeader,
  type SackBlock, type TcpRepr,
} from "../wire/tcp.js";
import type { TcpLimits } from "./config.js";
import type { CongestionControl } from "./congestion/types.js";
import { RecvBuffer } from "./recv-buffer.js";
import { RttEstimator } from "./rtt.js";
import { DUP_THRESH, SackScoreboard } from "./sack-scoreboard.js";
import { SendBuffer } from "./send-buffer.js";
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from "./seq.js";

export type TcpState =
  | "Closed" | "SynSent" | "SynReceived" | "Established" | "FinWait1" | "FinWait2"
  | "CloseWait" | "Closing" | "LastAck" | "TimeWait";

/** Node-style error codes a connection can end with. */
export type TcpErrorCode = "ECONNREFUSED" | "ECONNRESET" | "ETIMEDOUT" | "EHOSTUNREACH" | "ENETUNREACH";

/** Event bits a connection raises to its user (coalesced per poll). */
export const EV_CONNECTED = 1;
export const EV_READABLE = 2;
export const EV_WRITABLE = 4;
/** The peer's FIN arrived (all data before it is in the receive buffer). */
export const EV_EOF = 8;
/** The connection reached CLOSED (or TIME-WAIT) and was released by the user side. */
export const EV_CLOSED = 16;
export const EV_ERROR = 32;

/** RFC 9293 §3.7.1: default send MSS when the peer sends no MSS option. */
export const DEFAULT_MSS = 536;
/** RFC 7323 §3.2: the timestamps option costs 12 bytes per segment (10 + 2 NOPs). */
const TS_OVERHEAD = 12;
const EMPTY = new Uint8Array(0);

/** What a connection needs from its layer. */
export interface ConnHost {
  readonly limits: TcpLimits;
  transmit(d: TransportDatagram): void;
  notify(conn: TcpConnection, flags: number): void;
  wake(conn: TcpConnection): void;
  count(what: string, n?: number): void;
  allowChallengeAck(now: Millis): boolean;
  /** SYN-RECEIVED → ESTABLISHED on a passive open. */
  established(conn: TcpConnection): void;
  /** The connection reached CLOSED: remove it from the tables. */
  released(conn: TcpConnection): void;
  newCongestion(mss: number): CongestionControl;
}

export interface ConnParams {
  localIp: number;
  localPort: number;
  remoteIp: number;
  remotePort: number;
  iss: number;
  mtu: number;
  sendBuffer: number;
  recvBuffer: number;
  /** Random offset for our TSval clock (RFC 7323 §5.4). */
  tsOffset: number;
}

export class TcpConnection {
  state: TcpState = "Closed";
  readonly localIp: number;
  readonly localPort: number;
  readonly remoteIp: number;
  readonly remotePort: number;
  /** Set when the connection ended abnormally. */
  error: TcpErrorCode | undefined;
  /** True for connections created by a listener or forwarder. */
  passive = false;
  /** Opaque slot for the layer (listener bookkeeping) and the user (socket). */
  listener: unknown;
  user: unknown;

  // --- send sequence space (RFC 9293 §3.3.1)
  readonly iss: number;
  sndUna: number;
  sndNxt: number;
  /** Highest sequence ever sent (sndNxt rewinds on RTO; this does not). */
  sndMax: number;
  /** SND.WND in bytes, already scaled. */
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  /** Largest window the peer ever offered (RFC 5961 §5, sender SWS). */
  maxSndWnd = 0;
  private sndBufSeq: number;
  readonly sndBuf: SendBuffer;
  /** The user called close(): a FIN follows the queued data. */
  finQueued = false;

  // --- receive sequence space
  irs = 0;
  rcvNxt = 0;
  private rcvAdvEdge = 0;
  readonly rcvBuf: RecvBuffer;
  /** Sequence number of the peer's FIN, once seen (possibly out of order). */
  private peerFinSeq: number | undefined;
  /** The peer's FIN has been accepted (RCV.NXT is past it). */
  finReceived = false;
  private lastAckSent = 0;

  // --- options
  private localMss: number;
  private peerMss = DEFAULT_MSS;
  /** Effective send MSS (payload bytes per segment, options excluded). */
  mss: number;
  wsEnabled = false;
  private sndWscale = 0;
  private rcvWscale = 0;
  sackEnabled = false;
  tsEnabled = false;
  private tsRecent = 0;
  private readonly tsOffset: number;

  // --- timers (absolute Millis or undefined)
  private rtoAt: Millis | undefined;
  private persistAt: Millis | undefined;
  private delackAt: Millis | undefined;
  private keepAt: Millis | undefined;
  private timeWaitAt: Millis | undefined;
  private connectAt: Millis | undefined;

  // --- retransmission state
  readonly rtt: RttEstimator;
  /** Consecutive expiries of the RTO (exponent of the backoff). */
  backoff = 0;
  private persistBackoff = 0;
  /** Karn: the segment being timed when timestamps are off. */
  private rttSeq: number | undefined;
  private rttTime: Millis = 0;
  readonly cc: CongestionControl;
  dupAcks = 0;
  inRecovery = false;
  private recoveryPoint: number;
  private highRxt: number;
  private rtxPending = false;
  readonly scoreboard = new SackScoreboard();

  // --- receive-side ACK policy
  private ackNow = false;
  private unackedBytes = 0;

  private releasedFlag = false;
  /** The user is gone (see detach). */
  orphaned = false;

  // --- user options
  noDelay = false;
  private keepAlive = false;
  private keepIdle: Millis;
  private keepProbes = 0;
  private lastRecv: Millis = 0;

  constructor(
    private readonly host: ConnHost,
    p: ConnParams,
  ) {
    this.localIp = p.localIp;
    this.localPort = p.localPort;
    this.remoteIp = p.remoteIp;
    this.remotePort = p.remotePort;
    this.iss = p.iss;
    this.sndUna = this.sndNxt = this.sndMax = p.iss;
    this.recoveryPoint = this.highRxt = p.iss;
    this.sndBufSeq = seqAdd(p.iss, 1);
    this.sndBuf = new SendBuffer(p.sendBuffer);
    this.rcvBuf = new RecvBuffer(p.recvBuffer, host.limits.maxOooRanges);
    this.localMss = Math.max(p.mtu - 40, 64);
    this.mss = Math.min(this.localMss, DEFAULT_MSS);
    this.tsOffset = p.tsOffset >>> 0;
    const L = host.limits;
    this.rtt = new RttEstimator(L.rtoInitial, L.rtoMin, L.rtoMax);
    this.keepIdle = L.keepIdle;
    this.cc = host.newCongestion(this.mss);
    while (this.rcvWscale < 14 && p.recvBuffer >>> this.rcvWscale > 0xffff) this.rcvWscale++;
  }

  // ================================================================ user API

  /** Active OPEN (RFC 9293 §3.10.1): send SYN. */
  openActive(now: Millis, timeout?: Millis): void {
    this.state = "SynSent";
    this.lastRecv = now;
    if (timeout !== undefined) this.connectAt = now + timeout;
    this.host.wake(this);
  }

  /** Passive open from a SYN a listener (or the forwarder) accepted: answer SYN-ACK. */
  openPassive(syn: TcpRepr, now: Millis): void {
    this.passive = true;
    this.state = "SynReceived";
    this.lastRecv = now;
    this.irs = syn.seq;
    this.rcvNxt = seqAdd(syn.seq, 1);
    this.negotiate(syn);
    this.sndWnd = syn.window; // RFC 7323 §2.2: never scaled in a SYN
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = syn.seq;
    this.sndWl2 = this.iss;
    this.host.wake(this);
  }

  /** Queue bytes for sending; returns how many the send buffer took (may be 0). */
  send(data: Uint8Array, _now: Millis): number {
    if (this.finQueued || this.state === "Closed" || this.state === "TimeWait") return 0;
    const n = this.sndBuf.write(data);
    if (n > 0 && this.state !== "SynSent" && this.state !== "SynReceived") this.host.wake(this);
    return n;
  }

  /** Bytes the send buffer can still take. */
  get sendSpace(): number {
    return this.finQueued ? 0 : this.sndBuf.free;
  }

  /** Take up to `max` received bytes; reopens the window by what was taken. */
  read(max: number, _now?: Millis): Uint8Array | undefined {
    const out = this.rcvBuf.read(max);
    if (out && this.synchronized() && !this.finReceived) {
      // Window update (RFC 1122 §4.2.3.3) once the opening passes the receiver
      // SWS threshold (RFC 9293 §3.8.6.2.2) and at least doubles the window.
      const cur = Math.max(0, seqDiff(this.rcvAdvEdge, this.rcvNxt));
      const thr = this.sweThreshold();
      if (this.rcvBuf.free - cur >= thr && (cur < thr || this.rcvBuf.free >= 2 * cur)) {
        this.ackNow = true;
        this.host.wake(this);
      }
    }
    return out;
  }

  /** Bytes waiting to be read. */
  get readable(): number {
    return this.rcvBuf.length;
  }

  /**
   * The user let go after a graceful end(): the FIN handshake continues on
   * its own, but any further data from the peer gets a RST.
   */
  detach(now: Millis): void {
    this.orphaned = true;
    this.user = undefined;
    if (this.state === "Established" || this.state === "CloseWait" || this.state === "SynReceived") this.close(now);
  }

  /** CLOSE (RFC 9293 §3.10.4): FIN after the queued data. */
  close(now: Millis): void {
    switch (this.state) {
      case "SynSent":
        if (this.sndBuf.length === 0 && !this.user) {
          // RFC 9293 §3.10.4: nothing queued: delete the TCB
          this.release(now);
          return;
        }
        this.finQueued = true; // like net.Socket: data then FIN once connected
        return;
      case "SynReceived":
        // RFC 9293 §3.10.4: the FIN waits until ESTABLISHED (see input)
        this.finQueued = true;
        return;
      case "Established":
        this.finQueued = true;
        this.state = "FinWait1";
        break;
      case "CloseWait":
        this.finQueued = true;
        this.state = "LastAck";
        break;
      default:
        return;
    }
    this.host.wake(this);
  }

  /** ABORT (RFC 9293 §3.10.5): RST, then CLOSED. No error event. */
  abort(now: Millis): void {
    if (this.synchronized() || this.state === "SynReceived") {
      this.emitRaw(this.sndMax, RST | ACK, now);
      this.host.count("tcp.rst-sent");
    }
    this.release(now);
  }

  setKeepAlive(enable: boolean, idle: Millis | undefined, now: Millis): void {
    this.keepAlive = enable;
    if (idle !== undefined && idle > 0) this.keepIdle = idle;
    this.keepProbes = 0;
    this.keepAt = enable && this.synchronized() ? now + this.keepIdle : undefined;
  }

  /** The link MTU changed (or ICMP frag-needed): clamp the send MSS. */
  setMtu(mtu: number): void {
    this.localMss = Math.max(mtu - 40, 64);
    const m = Math.max(Math.min(this.localMss, this.peerMss) - (this.tsEnabled ? TS_OVERHEAD : 0), 32);
    if (m < this.mss) {
      this.mss = m;
      this.cc.setMss(m);
    }
  }

  /** RFC 1191 §6.5: the path MTU dropped; resend what is in flight at the new size now. */
  pmtuDecreased(mtu: number, now: Millis): void {
    const before = this.mss;
    this.setMtu(mtu);
    if (this.mss < before && this.synchronized() && this.sndNxt !== this.sndUna) {
      this.host.count("tcp.pmtu-retransmit");
      this.sndNxt = this.sndUna;
      this.rttSeq = undefined;
      this.armRto(now);
      this.host.wake(this);
    }
  }

  /** Abort because of an ICMP hard error (RFC 1122 §4.2.3.9; Linux aborts a SYN-SENT connection). */
  icmpAbort(code: TcpErrorCode, now: Millis): void {
    this.fail(code, now);
  }

  /** Next time `onTimeout` wants to run. */
  deadline(): Millis | undefined {
    let d = this.rtoAt;
    for (const t of [this.persistAt, this.delackAt, this.keepAt, this.timeWaitAt, this.connectAt]) {
      if (t !== undefined && (d === undefined || t < d)) d = t;
    }
    return d;
  }

  synchronized(): boolean {
    const s = this.state;
    return s !== "Closed" && s !== "SynSent" && s !== "SynReceived";
  }

  // ================================================================ timers

  onTimeout(now: Millis): void {
    if (this.connectAt !== undefined && now >= this.connectAt) {
      this.connectAt = undefined;
      if (this.state === "SynSent" || this.state === "SynReceived") return this.fail("ETIMEDOUT", now);
    }
    if (this.timeWaitAt !== undefined && now >= this.timeWaitAt) {
      this.timeWaitAt = undefined;
      return this.release(now);
    }
    if (this.rtoAt !== undefined && now >= this.rtoAt) this.onRto(now);
    if (this.state === "Closed") return;
    if (this.persistAt !== undefined && now >= this.persistAt) this.onPersist(now);
    if (this.delackAt !== undefined && now >= this.delackAt) {
      this.delackAt = undefined;
      this.ackNow = true;
      this.host.wake(this);
    }
    if (this.keepAt !== undefined && now >= this.keepAt) this.onKeepalive(now);
  }

  private onRto(now: Millis): void {
    this.rtoAt = undefined;
    const L = this.host.limits;
    const handshake = this.state === "SynSent" || this.state === "SynReceived";
    if (this.backoff >= (handshake ? L.synRetries : L.dataRetries)) {
      this.host.count("tcp.timeout-giveup");
      return this.fail("ETIMEDOUT", now);
    }
    this.backoff++;
    this.host.count("tcp.rto");
    this.rttSeq = undefined; // Karn's rule
    if (handshake) {
      this.sndNxt = this.iss;
    } else {
      const flight = seqDiff(this.sndMax, this.sndUna);
      if (flight > 0) this.cc.onRto(now, flight);
      this.inRecovery = false;
      this.dupAcks = 0;
      this.recoveryPoint = this.sndMax;
      this.scoreboard.clear();
      this.highRxt = this.sndUna;
      this.sndNxt = this.sndUna; // go back N
    }
    this.host.wake(this);
  }

  private onPersist(now: Millis): void {
    this.persistAt = undefined;
    this.persistBackoff++;
    this.host.count("tcp.persist-probe");
    const off = seqDiff(this.sndNxt, this.sndBufSeq);
    const avail = this.sndBuf.length - off;
    const room = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
    if (avail > 0 && room > 0) {
      // the SWS override timeout (RFC 9293 §3.8.6.2.1): send what fits
      const len = Math.min(avail, room, this.mss);
      this.emitData(this.sndNxt, ACK | PSH, off, len, now);
      this.advanceNxt(len, now);
    } else {
      // RFC 9293 §3.8.6.1 zero-window probe (Linux style: SEG.SEQ = SND.UNA − 1)
      this.emitRaw(seqAdd(this.sndUna, -1), ACK, now);
    }
    this.armPersist(now);
  }

  private onKeepalive(now: Millis): void {
    this.keepAt = undefined;
    if (!this.keepAlive || !this.synchronized()) return;
    const L = this.host.limits;
    if (this.keepProbes >= L.keepCount) {
      this.host.count("tcp.keepalive-giveup");
      return this.fail("ETIMEDOUT", now);
    }
    this.keepProbes++;
    this.host.count("tcp.keepalive-probe");
    // RFC 1122 §4.2.3.6: SEG.SEQ = SND.NXT − 1, no data
    this.emitRaw(seqAdd(this.sndUna, -1), ACK, now);
    this.keepAt = now + L.keepInterval;
  }

  private armRto(now: Millis): void {
    if (this.rtoAt === undefined) this.rtoAt = now + this.currentRto();
  }

  private currentRto(): Millis {
    return Math.min(this.rtt.rto * 2 ** this.backoff, this.rtt.maxRto);
  }

  private armPersist(now: Millis): void {
    if (this.persistAt !== undefined) return;
    const base = Math.max(this.rtt.rto, this.rtt.minRto);
    this.persistAt = now + Math.min(base * 2 ** Math.min(this.persistBackoff, 16), this.rtt.maxRto);
  }

  // ================================================================ input

  /** One segment for this connection (already demultiplexed and checksummed). */
  input(seg: TcpRepr, now: Millis): void {
    this.lastRecv = now;
    if (this.keepAlive && this.synchronized()) {
      this.keepAt = now + this.keepIdle;
      this.keepProbes = 0;
    }
    if (this.state === "SynSent") return this.inputSynSent(seg, now);
    if (this.state === "Closed") return;
    const flags = seg.flags;
    const len = seg.payload.length + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);

    // RFC 7323 §5.3 PAWS
    if (this.tsEnabled && seg.tsVal !== undefined && !(flags & RST) && ((seg.tsVal - this.tsRecent) | 0) < 0) {
      this.host.count("tcp.drop.paws");
      this.ackNow = true;
      this.host.wake(this);
      return;
    }

    // First: sequence acceptability (RFC 9293 §3.10.7.4)
    // we accept up to our real free space, which is never less than what we advertised
    const rcvWnd = Math.max(seqDiff(this.rcvAdvEdge, this.rcvNxt), this.rcvBuf.free, 0);
    if (!this.acceptable(seg.seq, len, rcvWnd)) {
      if (this.state === "SynReceived" && flags & SYN && !(flags & ACK) && seg.seq === this.irs) {
        // the peer retransmitted its SYN: our SYN-ACK was lost
        this.host.count("tcp.syn-retransmit-seen");
        this.sndNxt = this.iss;
        this.host.wake(this);
        return;
      }
      if (!(flags & RST)) {
        this.host.count("tcp.drop.out-of-window");
        if (this.state === "TimeWait" && flags & FIN) this.timeWaitAt = now + 2 * this.host.limits.msl;
        this.ackNow = true;
        this.host.wake(this);
      } else this.host.count("tcp.drop.rst-out-of-window");
      return;
    }

    // Second: RST (RFC 5961 §3.2)
    if (flags & RST) {
      if (seg.seq !== this.rcvNxt) {
        this.challengeAck(now, "rst-in-window");
        return;
      }
      this.host.count("tcp.rst-received");
      if (this.state === "SynReceived") {
        return this.passive ? this.release(now) : this.fail("ECONNREFUSED", now);
      }
      if (this.state === "Closing" || this.state === "LastAck" || this.state === "TimeWait") return this.release(now);
      return this.fail("ECONNRESET", now);
    }

    // Fourth: SYN in a synchronized state (RFC 5961 §4) → challenge ACK
    if (flags & SYN) {
      this.challengeAck(now, "syn-in-window");
      return;
    }

    // Fifth: ACK
    if (!(flags & ACK)) {
      this.host.count("tcp.drop.no-ack");
      return;
    }
    if (this.state === "SynReceived") {
      if (seqLe(seg.ack, this.sndUna) || seqGt(seg.ack, this.sndMax)) {
        this.emitRst(seg.ack, now);
        return;
      }
      this.state = "Established";
      this.sndWnd = seg.window << this.sndWscale;
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.host.established(this);
      this.host.notify(this, EV_CONNECTED | EV_WRITABLE);
      if (this.finQueued) this.state = "FinWait1";
      if (this.keepAlive) this.keepAt = now + this.keepIdle;
    }
    if (!this.processAck(seg, now)) return;
    if ((this.state as TcpState) === "Closed") return;

    // Seventh: segment text
    if (seg.payload.length > 0) this.processData(seg, now);

    // Eighth: FIN
    if (flags & FIN) this.peerFinSeq = seqAdd(seg.seq, seg.payload.length);
    if (this.peerFinSeq !== undefined && !this.finReceived && this.peerFinSeq === this.rcvNxt) this.processFin(now);
  }

  private acceptable(seq: number, len: number, wnd: number): boolean {
    const rn = this.rcvNxt;
    if (len === 0) return wnd === 0 ? seq === rn : seqLe(rn, seq) && seqLt(seq, seqAdd(rn, wnd)) || seq === rn;
    if (wnd === 0) return false;
    const end = seqAdd(seq, len - 1);
    const edge = seqAdd(rn, wnd);
    return (seqLe(rn, seq) && seqLt(seq, edge)) || (seqLe(rn, end) && seqLt(end, edge));
  }

  private inputSynSent(seg: TcpRepr, now: Millis): void {
    const f = seg.flags;
    if (f & ACK && (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndMax))) {
      if (!(f & RST)) this.emitRst(seg.ack, now);
      this.host.count("tcp.drop.bad-ack-synsent");
      return;
    }
    if (f & RST) {
      if (f & ACK) {
        this.host.count("tcp.rst-received");
        this.fail("ECONNREFUSED", now);
      } else this.host.count("tcp.drop.rst-no-ack-synsent");
      return;
    }
    if (!(f & SYN)) {
      this.host.count("tcp.drop.no-syn-synsent");
      return;
    }
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.negotiate(seg);
    if (f & ACK) {
      this.sndUna = seg.ack;
      this.sndWnd = seg.window; // unscaled in a SYN
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.rtoAt = undefined;
      if (this.backoff === 0 && !this.tsEnabled) this.rtt.sample(now - this.rttTime);
      if (this.tsEnabled) this.tsRttSample(seg, now);
      this.backoff = 0;
      this.connectAt = undefined;
      this.state = this.finQueued ? "FinWait1" : "Established";
      this.ackNow = true;
      if (this.keepAlive) this.keepAt = now + this.keepIdle;
      this.host.notify(this, EV_CONNECTED | EV_WRITABLE);
      this.host.wake(this);
    } else {
      // simultaneous open (RFC 9293 §3.5 figure 7): SYN-RECEIVED, resend our SYN with an ACK
      this.state = "SynReceived";
      this.sndWnd = seg.window;
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq;
      this.sndNxt = this.iss;
      this.rtoAt = undefined;
      this.host.wake(this);
    }
  }

  /** Options from the peer's SYN (RFC 9293 §3.7.1, RFC 7323, RFC 2018). */
  private negotiate(syn: TcpRepr): void {
    if (syn.mss !== undefined && syn.mss > 0) this.peerMss = syn.mss;
    // RFC 7323 §2.2: scaling is on only when both SYNs carry the option (we always offer it).
    this.wsEnabled = syn.wscale !== undefined;
    if (this.wsEnabled) this.sndWscale = syn.wscale!;
    else this.rcvWscale = 0;
    this.sackEnabled = !!syn.sackPermitted;
    this.tsEnabled = syn.tsVal !== undefined;
    if (this.tsEnabled) this.tsRecent = syn.tsVal!;
    this.mss = Math.max(Math.min(this.localMss, this.peerMss) - (this.tsEnabled ? TS_OVERHEAD : 0), 32);
    this.cc.setMss(this.mss);
    this.cc.cwnd = Math.min(10 * this.mss, Math.max(2 * this.mss, 14600));
  }

  /** RFC 9293 §3.10.7.4 fifth check, RFC 5961 §5, RFC 5681/6582/6675 loss recovery. Returns false to stop processing. */
  private processAck(seg: TcpRepr, now: Millis): boolean {
    const ack = seg.ack;
    if (seqGt(ack, this.sndMax)) {
      this.host.count("tcp.drop.ack-unsent");
      this.ackNow = true;
      this.host.wake(this);
      return false;
    }
    if (seqLt(ack, seqAdd(this.sndUna, -Math.max(this.maxSndWnd, 1)))) {
      this.challengeAck(now, "ack-too-old");
      return false;
    }
    if (this.tsEnabled && seg.tsVal !== undefined && seqLe(seg.seq, this.lastAckSent)) this.tsRecent = seg.tsVal;
    if (this.sackEnabled && seg.sack) this.scoreboard.update(seg.sack, this.sndUna, this.sndMax);

    const wnd = seg.window << this.sndWscale;
    const acked = seqDiff(ack, this.sndUna);
    if (acked > 0) {
      this.onNewAck(seg, acked, now);
    } else if (
      acked === 0 && seg.payload.length === 0 && !(seg.flags & (SYN | FIN)) &&
      wnd === this.sndWnd && this.sndMax !== this.sndUna
    ) {
      this.onDupAck(now);
    }
    // window update (RFC 9293 §3.10.7.4: SND.WL1 / SND.WL2)
    if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, ack))) {
      const opened = wnd > this.sndWnd;
      this.sndWnd = wnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
      if (wnd > this.maxSndWnd) this.maxSndWnd = wnd;
      if (opened) {
        this.persistAt = undefined;
        this.persistBackoff = 0;
        this.host.wake(this);
      }
    }
    // SACK-based recovery entry (RFC 6675 §5: IsLost(SND.UNA))
    if (
      !this.inRecovery && this.sackEnabled && !this.scoreboard.empty &&
      seqGt(this.sndUna, this.recoveryPoint) && this.scoreboard.isLost(this.sndUna, this.mss)
    ) {
      this.enterRecovery(now);
    }

    const finSeq = seqAdd(this.sndBufSeq, this.sndBuf.length);
    const finAcked = this.finQueued && this.sndBuf.length === 0 && this.sndUna === seqAdd(finSeq, 1);
    switch (this.state) {
      case "FinWait1":
        if (finAcked) this.state = "FinWait2";
        break;
      case "Closing":
        if (finAcked) this.enterTimeWait(now);
        break;
      case "LastAck":
        if (finAcked) {
          this.release(now);
          return false;
        }
        break;
      case "TimeWait":
        if (seg.flags & FIN) {
          this.ackNow = true;
          this.timeWaitAt = now + 2 * this.host.limits.msl;
          this.host.wake(this);
        }
        return false;
    }
    return true;
  }

  private onNewAck(seg: TcpRepr, acked: number, now: Millis): void {
    const ack = seg.ack;
    // RTT: timestamps (RFC 7323 §4.1) or the one timed segment (Karn, RFC 6298 §3)
    if (this.tsEnabled && seg.tsEcr !== undefined && seg.tsEcr !== 0) {
      this.tsRttSample(seg, now);
    } else if (this.rttSeq !== undefined && seqGe(ack, this.rttSeq)) {
      this.rtt.sample(now - this.rttTime);
      this.rttSeq = undefined;
    }
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    const dataAcked = Math.min(Math.max(seqDiff(ack, this.sndBufSeq), 0), this.sndBuf.length);
    if (dataAcked > 0) {
      this.sndBuf.consume(dataAcked);
      this.sndBufSeq = seqAdd(this.sndBufSeq, dataAcked);
      if (!this.finQueued) this.host.notify(this, EV_WRITABLE);
    }
    if (this.sackEnabled) this.scoreboard.advance(ack);
    this.backoff = 0;
    this.persistBackoff = 0;
    const flight = seqDiff(this.sndMax, this.sndUna);

    if (this.inRecovery) {
      if (seqGe(ack, this.recoveryPoint)) {
        this.inRecovery = false;
        this.dupAcks = 0;
        this.cc.onRecoveryExit(now, flight);
        this.host.count("tcp.recovery-exit");
      } else {
        // RFC 6582 §3.2 step 5: partial ACK
        this.host.count("tcp.partial-ack");
        if (!this.sackEnabled) {
          this.cc.cwnd = Math.max(this.cc.cwnd - acked + this.mss, this.mss);
          this.rtxPending = true;
        } else if (seqGe(this.sndUna, this.highRxt)) {
          this.rtxPending = true;
        }
      }
    } else {
      this.dupAcks = 0;
      this.cc.onAck(acked, now, this.rtt.srtt);
    }
    // RFC 6298 §5.2–5.3
    this.rtoAt = this.sndUna === this.sndMax ? undefined : now + this.currentRto();
    this.host.wake(this);
  }

  private onDupAck(now: Millis): void {
    this.dupAcks++;
    this.host.count("tcp.dupack");
    if (this.inRecovery) {
      if (!this.sackEnabled) this.cc.cwnd += this.mss; // RFC 6582 §3.2 step 4: inflate
      this.host.wake(this);
      return;
    }
    // RFC 6582 §3.2 step 2: only when the ACK covers more than `recover`
    if (this.dupAcks >= DUP_THRESH && seqGt(this.sndUna, this.recoveryPoint)) this.enterRecovery(now);
  }

  private enterRecovery(now: Millis): void {
    const flight = seqDiff(this.sndMax, this.sndUna);
    this.host.count("tcp.fast-retransmit");
    this.inRecovery = true;
    this.recoveryPoint = this.sndMax;
    this.highRxt = this.sndUna;
    this.cc.onCongestion(now, flight);
    if (!this.sackEnabled) this.cc.cwnd = this.cc.ssthresh + 3 * this.mss;
    this.rtxPending = true;
    this.rttSeq = undefined;
    this.host.wake(this);
  }

  private processData(seg: TcpRepr, now: Millis): void {
    if (this.state !== "Established" && this.state !== "FinWait1" && this.state !== "FinWait2") {
      this.host.count("tcp.drop.data-after-fin");
      return;
    }
    if (this.orphaned) {
      // nobody will ever read it: reset, as Linux does for data after close()
      this.host.count("tcp.rst-orphan-data");
      this.abort(now);
      return;
    }
    let data = seg.payload;
    let off = seqDiff(seg.seq, this.rcvNxt);
    if (off < 0) {
      data = data.subarray(-off);
      off = 0;
    }
    const n = this.rcvBuf.write(off, data);
    if (n < 0) {
      this.host.count("tcp.drop.ooo-ranges");
      this.ackNow = true;
    } else if (off > 0 || data.length === 0) {
      this.host.count("tcp.ooo-segment");
      this.ackNow = true; // RFC 5681 §4.2: immediate dup ACK for out-of-order data
    } else {
      if (off === 0 && data.length < seg.payload.length) this.host.count("tcp.partial-duplicate");
      const hadHoles = this.rcvBuf.ooo.length > 0 || n > data.length;
      this.rcvNxt = seqAdd(this.rcvNxt, n);
      this.unackedBytes += n;
      this.host.notify(this, EV_READABLE);
      if (hadHoles || this.unackedBytes >= 2 * this.mss) this.ackNow = true; // RFC 1122 §4.2.3.2, RFC 5681 §4.2
      else if (this.delackAt === undefined) this.delackAt = now + this.host.limits.delayedAck;
    }
    this.host.wake(this);
  }

  private processFin(now: Millis): void {
    this.finReceived = true;
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.ackNow = true;
    this.host.notify(this, EV_EOF | EV_READABLE);
    this.host.wake(this);
    switch (this.state) {
      case "SynReceived":
      case "Established":
        this.state = "CloseWait";
        break;
      case "FinWait1": {
        const finSeq = seqAdd(this.sndBufSeq, this.sndBuf.length);
        if (this.sndBuf.length === 0 && this.sndUna === seqAdd(finSeq, 1)) this.enterTimeWait(now);
        else this.state = "Closing";
        break;
      }
      case "FinWait2":
        this.enterTimeWait(now);
        break;
    }
  }

  private enterTimeWait(now: Millis): void {
    this.state = "TimeWait";
    this.sndBuf.release();
    this.rcvBuf.release();
    this.timeWaitAt = now + 2 * this.host.limits.msl;
    this.rtoAt = this.persistAt = this.keepAt = this.delackAt = undefined;
    this.host.notify(this, EV_CLOSED);
  }

  private challengeAck(now: Millis, why: string): void {
    this.host.count(`tcp.challenge.${why}`);
    if (!this.host.allowChallengeAck(now)) {
      this.host.count("tcp.challenge-ack-limited");
      return;
    }
    this.host.count("tcp.challenge-ack-sent");
    this.emitRaw(this.sndMax, ACK, now);
  }

  // ================================================================ output

  /** Emit whatever is due. The layer calls this for woken connections. */
  dispatch(now: Millis): void {
    switch (this.state) {
      case "Closed":
        return;
      case "SynSent":
      case "SynReceived":
        if (this.sndNxt === this.iss) {
          const flags = this.state === "SynSent" ? SYN : SYN | ACK;
          if (this.backoff === 0 && this.state === "SynSent") this.rttTime = now;
          this.emitRaw(this.iss, flags, now);
          this.sndNxt = seqAdd(this.iss, 1);
          this.sndMax = this.sndNxt;
          this.armRto(now);
        } else if (this.ackNow && this.state === "SynReceived") this.emitRaw(this.sndMax, ACK, now);
        this.ackNow = false;
        return;
      case "TimeWait":
        if (this.ackNow) this.emitRaw(this.sndMax, ACK, now);
        return;
    }
    let sent = false;
    if (this.rtxPending) {
      this.rtxPending = false;
      let seq = this.sndUna;
      if (this.sackEnabled && this.inRecovery) {
        const hole = this.scoreboard.nextLost(this.sndUna, this.highRxt, this.mss);
        if (hole) seq = hole.seq;
      }
      const n = this.retransmit(seq, this.mss, now);
      if (n > 0) sent = true;
    }
    if (this.inRecovery && this.sackEnabled) sent = this.sackRecoveryLoop(now) || sent;
    sent = this.sendNewData(now) || sent;
    // A pure ACK carries SEQ = the highest sequence sent: after a go-back-N
    // rewind of sndNxt an older SEQ would fail the peer's acceptability test
    // and the ACK would be dropped unread.
    if (!sent && this.ackNow) this.emitRaw(this.sndMax, ACK, now);
  }

  /** RFC 6675 §5 step (C): while cwnd − pipe ≥ SMSS, retransmit lost holes. */
  private sackRecoveryLoop(now: Millis): boolean {
    let sent = false;
    for (let guard = 0; guard < 1000; guard++) {
      const pipe = this.scoreboard.pipe(this.sndUna, this.sndMax, this.highRxt, this.mss);
      if (this.cc.cwnd - pipe < this.mss) break;
      const hole = this.scoreboard.nextLost(this.sndUna, this.highRxt, this.mss);
      if (!hole) break;
      const n = this.retransmit(hole.seq, hole.len, now);
      if (n <= 0) break;
      sent = true;
    }
    return sent;
  }

  private retransmit(seq: number, maxLen: number, now: Millis): number {
    const off = seqDiff(seq, this.sndBufSeq);
    if (off < 0) return 0;
    const len = Math.max(0, Math.min(maxLen, this.mss, this.sndBuf.length - off, seqDiff(this.sndMax, seq)));
    const finSeq = seqAdd(this.sndBufSeq, this.sndBuf.length);
    const fin = this.finQueued && seqAdd(seq, len) === finSeq && seqGt(this.sndMax, finSeq);
    if (len === 0 && !fin) return 0;
    this.emitData(seq, ACK | (fin ? FIN : 0), off, len, now);
    this.host.count("tcp.retransmit");
    this.host.count("tcp.retransmit-bytes", len);
    const end = seqAdd(seq, len + (fin ? 1 : 0));
    if (seqGt(end, this.highRxt)) this.highRxt = end;
    this.rttSeq = undefined;
    this.armRto(now);
    return len + (fin ? 1 : 0);
  }

  /** New (or, after an RTO, go-back-N) data within min(cwnd, SND.WND), honouring Nagle and sender SWS. */
  private sendNewData(now: Millis): boolean {
    let sent = false;
    for (;;) {
      const off = seqDiff(this.sndNxt, this.sndBufSeq);
      const avail = this.sndBuf.length - off;
      if (avail < 0 || off < 0) break; // FIN already sent
      const flight = seqDiff(this.sndNxt, this.sndUna);
      const pipe = this.inRecovery && this.sackEnabled
        ? this.scoreboard.pipe(this.sndUna, this.sndMax, this.highRxt, this.mss)
        : flight;
      const cwndLeft = this.cc.cwnd - pipe;
      const wndLeft = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
      const usable = Math.max(0, Math.min(cwndLeft, wndLeft));
      const len = Math.min(this.mss, avail, usable);
      if (len === 0) {
        if (avail === 0 && this.finQueued && (cwndLeft > 0 || flight === 0)) {
          this.emitRaw(this.sndNxt, FIN | ACK, now);
          this.advanceNxt(1, now);
          sent = true;
        } else if (avail > 0 && wndLeft <= 0 && this.rtoAt === undefined) {
          this.armPersist(now);
        }
        break;
      }
      if (len < this.mss) {
        const all = len === avail;
        // Nagle (RFC 896 / RFC 1122 §4.2.3.4) and sender SWS (RFC 9293 §3.8.6.2.1)
        if (all ? !(this.noDelay || flight === 0 || this.finQueued) : len < this.maxSndWnd / 2) {
          if (wndLeft < this.mss && this.rtoAt === undefined) this.armPersist(now);
          break;
        }
      }
      const fin = this.finQueued && len === avail;
      this.emitData(this.sndNxt, ACK | (len === avail ? PSH : 0) | (fin ? FIN : 0), off, len, now);
      this.advanceNxt(len + (fin ? 1 : 0), now);
      this.persistAt = undefined;
      sent = true;
    }
    return sent;
  }

  private advanceNxt(n: number, now: Millis): void {
    const start = this.sndNxt;
    this.sndNxt = seqAdd(this.sndNxt, n);
    if (seqGt(this.sndNxt, this.sndMax)) {
      if (seqLt(start, this.sndMax)) this.host.count("tcp.retransmit-bytes", seqDiff(this.sndMax, start));
      else if (!this.tsEnabled && this.rttSeq === undefined && this.backoff === 0) {
        this.rttSeq = this.sndNxt;
        this.rttTime = now;
      }
      this.sndMax = this.sndNxt;
    } else this.host.count("tcp.retransmit-bytes", n);
    this.armRto(now);
  }

  private emitRst(seq: number, now: Millis): void {
    this.host.count("tcp.rst-sent");
    this.emitRaw(seq, RST, now);
  }

  private emitRaw(seq: number, flags: number, now: Millis): void {
    this.emitData(seq, flags, 0, 0, now);
  }

  private emitData(seq: number, flags: number, off: number, len: number, now: Millis): void {
    const r: TcpRepr = {
      srcPort: this.localPort,
      dstPort: this.remotePort,
      seq,
      ack: flags & ACK ? this.rcvNxt : 0,
      flags,
      window: 0,
      urgent: 0,
      payload: EMPTY,
    };
    if (flags & SYN) {
      r.mss = this.localMss;
      const offering = this.state === "SynSent";
      if (offering || this.wsEnabled) r.wscale = this.rcvWscale;
      if (offering || this.sackEnabled) r.sackPermitted = true;
      if (offering || this.tsEnabled) {
        r.tsVal = this.tsNow(now);
        r.tsEcr = offering ? 0 : this.tsRecent;
      }
      r.window = Math.min(this.rcvBuf.free, 0xffff);
      if (flags & ACK) this.rcvAdvEdge = seqAdd(this.rcvNxt, r.window);
    } else if (!(flags & RST) || flags & ACK) {
      if (this.tsEnabled) {
        r.tsVal = this.tsNow(now);
        r.tsEcr = this.tsRecent;
      }
      if (flags & ACK) r.window = this.windowField();
      if (this.sackEnabled && this.rcvBuf.ooo.length && flags & ACK) r.sack = this.sackBlocks();
    }
    const hlen = tcpHeaderLength(r);
    const seg = new Uint8Array(hlen + len);
    writeTcpHeader(seg, r);
    if (len > 0) this.sndBuf.copyOut(off, seg, hlen, len);
    fillTcpChecksum(seg, this.localIp, this.remoteIp);
    if (flags & ACK) {
      this.ackNow = false;
      this.delackAt = undefined;
      this.unackedBytes = 0;
      this.lastAckSent = this.rcvNxt;
    }
    this.host.count("tcp.segments-sent");
    this.host.transmit({ src: this.localIp, dst: this.remoteIp, payload: seg, interactive: len < 256 });
  }

  /** Receiver SWS threshold: min(RCV.BUFF / 2, MSS) (RFC 9293 §3.8.6.2.2). */
  private sweThreshold(): number {
    return Math.min(this.rcvBuf.capacity >>> 1, Math.max(this.localMss, this.mss));
  }

  /** The window field for an outgoing ACK; moves the advertised right edge (never left). */
  private windowField(): number {
    const free = this.rcvBuf.free;
    const cur = Math.max(0, seqDiff(this.rcvAdvEdge, this.rcvNxt));
    let wnd = free - cur >= this.sweThreshold() || free < cur ? free : cur;
    const shift = this.wsEnabled ? this.rcvWscale : 0;
    let field = Math.min(wnd >>> shift, 0xffff);
    // round up rather than shrink the edge by the scaling granularity, while free space allows
    if (field << shift < cur && (field + 1) << shift <= free && field < 0xffff) field++;
    wnd = field << shift;
    const edge = seqAdd(this.rcvNxt, wnd);
    if (seqGt(edge, this.rcvAdvEdge)) this.rcvAdvEdge = edge;
    return field;
  }

  /** SACK blocks from the out-of-order ranges, most recent first (RFC 2018 §4). */
  private sackBlocks(): SackBlock[] {
    const max = this.tsEnabled ? 3 : 4;
    const ranges = this.rcvBuf.ooo;
    const out: SackBlock[] = [];
    const last = this.rcvBuf.lastRange;
    const toBlock = (r: { start: number; end: number }) => ({
      left: seqAdd(this.rcvNxt, r.start),
      right: seqAdd(this.rcvNxt, r.end),
    });
    if (last && ranges.includes(last)) out.push(toBlock(last));
    for (const r of ranges) {
      if (out.length >= max) break;
      if (r !== last) out.push(toBlock(r));
    }
    return out;
  }

  /** RFC 7323 §4.1: RTT = now − TSecr, ignoring echoes that cannot be ours (zero, future, or older than 10 min). */
  private tsRttSample(seg: TcpRepr, now: Millis): void {
    if (seg.tsEcr === undefined || seg.tsEcr === 0) return;
    const r = (this.tsNow(now) - seg.tsEcr) | 0;
    if (r >= 0 && r < 600_000) this.rtt.sample(r);
  }

  private tsNow(now: Millis): number {
    return (Math.floor(now) + this.tsOffset) >>> 0;
  }

  // ================================================================ endings

  private fail(code: TcpErrorCode, now: Millis): void {
    this.error = code;
    this.host.notify(this, EV_ERROR);
    this.release(now);
  }

  /** Enter CLOSED and let the layer forget us. */
  release(_now: Millis): void {
    if (this.releasedFlag) return;
    this.releasedFlag = true;
    this.state = "Closed";
    this.sndBuf.release();
    this.rcvBuf.release();
    this.rtoAt = this.persistAt = this.delackAt = this.keepAt = this.timeWaitAt = this.connectAt = undefined;
    this.host.notify(this, EV_CLOSED);
    this.host.released(this);
  }
}
