/**
 * The transmission control block of one TCP connection (RFC 9293 §3.3.1)
 * and its output half: every state variable with its invariant, the timers'
 * arming rules, and `dispatch(now)` — what goes out (SYN, data within
 * min(cwnd, SND.WND) under Nagle and sender SWS avoidance, NewReno/SACK
 * retransmissions, FIN, ACKs with window, SACK blocks and timestamps).
 * `TcpConnection` (connection.ts) adds the input half, timers and user API.
 *
 * Sequence bookkeeping (all uint32, see seq.ts):
 *   iss ≤ sndUna ≤ sndNxt ≤ sndMax; sndBufSeq is the sequence of sndBuf[0]
 *   (iss + 1 once data flows); the FIN, when queued, sits at sndBufSeq +
 *   sndBuf.length. irs, rcvNxt; rcvAdvEdge is the right edge last advertised
 *   (never moved left, RFC 9293 §3.8.6.2.2).
 */
import type { TransportDatagram } from "../ip/transport.js";
import type { Millis } from "../util/time.js";
import { IPV4_HEADER_LEN } from "../wire/ipv4.js";
import {
  ACK, FIN, PSH, RST, SYN, fillTcpChecksum, tcpHeaderLength, writeTcpHeader,
  type SackBlock, type TcpRepr,
} from "../wire/tcp.js";
import type { TcpLimits } from "./config.js";
import type { TcpConnection } from "./connection.js";
import type { CongestionControl } from "./congestion/types.js";
import { RecvBuffer } from "./recv-buffer.js";
import { RttEstimator } from "./rtt.js";
import { SackScoreboard } from "./sack-scoreboard.js";
import { SendBuffer } from "./send-buffer.js";
import { seqAdd, seqDiff, seqGt, seqLt } from "./seq.js";

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
export const TS_OVERHEAD = 12;
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
  /**
   * A fresh buffer of `n` bytes for one outgoing datagram (contents
   * undefined; the caller fills all of it). Segments are built
   * IPV4_HEADER_LEN bytes into one, so the IP layer writes its header in
   * front instead of copying.
   */
  packetBuffer(n: number): Uint8Array;
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

export abstract class TcpTcb {
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
  protected sndBufSeq: number;
  readonly sndBuf: SendBuffer;
  /** The user called close(): a FIN follows the queued data. */
  finQueued = false;

  // --- receive sequence space
  irs = 0;
  rcvNxt = 0;
  protected rcvAdvEdge = 0;
  readonly rcvBuf: RecvBuffer;
  /** Sequence number of the peer's FIN, once seen (possibly out of order). */
  protected peerFinSeq: number | undefined;
  /** The peer's FIN has been accepted (RCV.NXT is past it). */
  finReceived = false;
  protected lastAckSent = 0;

  // --- options
  protected localMss: number;
  protected peerMss = DEFAULT_MSS;
  /** Effective send MSS (payload bytes per segment, options excluded). */
  mss: number;
  wsEnabled = false;
  protected sndWscale = 0;
  protected rcvWscale = 0;
  sackEnabled = false;
  tsEnabled = false;
  protected tsRecent = 0;
  protected readonly tsOffset: number;

  // --- timers (absolute Millis or undefined)
  protected rtoAt: Millis | undefined;
  protected persistAt: Millis | undefined;
  protected delackAt: Millis | undefined;
  protected keepAt: Millis | undefined;
  protected timeWaitAt: Millis | undefined;
  protected connectAt: Millis | undefined;

  // --- retransmission state
  readonly rtt: RttEstimator;
  /** Consecutive expiries of the RTO (exponent of the backoff). */
  backoff = 0;
  protected persistBackoff = 0;
  /** Karn: the segment being timed when timestamps are off. */
  protected rttSeq: number | undefined;
  protected rttTime: Millis = 0;
  readonly cc: CongestionControl;
  dupAcks = 0;
  inRecovery = false;
  protected recoveryPoint: number;
  protected highRxt: number;
  protected rtxPending = false;
  readonly scoreboard = new SackScoreboard();

  // --- receive-side ACK policy
  protected ackNow = false;
  protected unackedBytes = 0;

  protected releasedFlag = false;
  /** The user is gone (see detach). */
  orphaned = false;

  // --- user options
  noDelay = false;
  protected keepAlive = false;
  protected keepIdle: Millis;
  protected keepProbes = 0;
  protected lastRecv: Millis = 0;

  constructor(
    protected readonly host: ConnHost,
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


  /** Next time `onTimeout` wants to run. */
  deadline(): Millis | undefined {
    // no allocation: the layer asks every connection on every poll
    let d = this.rtoAt;
    let t = this.persistAt;
    if (t !== undefined && (d === undefined || t < d)) d = t;
    t = this.delackAt;
    if (t !== undefined && (d === undefined || t < d)) d = t;
    t = this.keepAt;
    if (t !== undefined && (d === undefined || t < d)) d = t;
    t = this.timeWaitAt;
    if (t !== undefined && (d === undefined || t < d)) d = t;
    t = this.connectAt;
    if (t !== undefined && (d === undefined || t < d)) d = t;
    return d;
  }

  synchronized(): boolean {
    const s = this.state;
    return s !== "Closed" && s !== "SynSent" && s !== "SynReceived";
  }


  protected armRto(now: Millis): void {
    if (this.rtoAt === undefined) this.rtoAt = now + this.currentRto();
  }

  protected currentRto(): Millis {
    return Math.min(this.rtt.rto * 2 ** this.backoff, this.rtt.maxRto);
  }

  protected armPersist(now: Millis): void {
    if (this.persistAt !== undefined) return;
    const base = Math.max(this.rtt.rto, this.rtt.minRto);
    this.persistAt = now + Math.min(base * 2 ** Math.min(this.persistBackoff, 16), this.rtt.maxRto);
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
  protected sackRecoveryLoop(now: Millis): boolean {
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

  protected retransmit(seq: number, maxLen: number, now: Millis): number {
    const off = seqDiff(seq, this.sndBufSeq);
    if (off < 0) return 0;
    const len = Math.max(0, Math.min(maxLen, this.segmentRoom(), this.sndBuf.length - off, seqDiff(this.sndMax, seq)));
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
  protected sendNewData(now: Millis): boolean {
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
      const room = this.segmentRoom();
      const len = Math.min(room, avail, usable);
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
      if (len < room) {
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

  protected advanceNxt(n: number, now: Millis): void {
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

  protected emitRst(seq: number, now: Millis): void {
    this.host.count("tcp.rst-sent");
    this.emitRaw(seq, RST, now);
  }

  protected emitRaw(seq: number, flags: number, now: Millis): void {
    this.emitData(seq, flags, 0, 0, now);
  }

  protected emitData(seq: number, flags: number, off: number, len: number, now: Millis): void {
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
      if ((offering && this.host.limits.timestamps) || this.tsEnabled) {
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
    const seg = this.host.packetBuffer(IPV4_HEADER_LEN + hlen + len).subarray(IPV4_HEADER_LEN);
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
    this.host.transmit({ src: this.localIp, dst: this.remoteIp, payload: seg, headroom: IPV4_HEADER_LEN, interactive: len < 256 });
  }

  /**
   * Payload bytes that fit one segment now: the MSS (which already excludes
   * the timestamps option) less the SACK blocks an ACK would carry, so no
   * segment ever exceeds the MTU.
   */
  protected segmentRoom(): number {
    const blocks = this.sackEnabled ? Math.min(this.rcvBuf.ooo.length, this.tsEnabled ? 3 : 4) : 0;
    return blocks ? Math.max(this.mss - (4 + 8 * blocks), 16) : this.mss;
  }

  /** Receiver SWS threshold: min(RCV.BUFF / 2, MSS) (RFC 9293 §3.8.6.2.2). */
  protected sweThreshold(): number {
    return Math.min(this.rcvBuf.capacity >>> 1, Math.max(this.localMss, this.mss));
  }

  /** The window field for an outgoing ACK; moves the advertised right edge (never left). */
  protected windowField(): number {
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
  protected sackBlocks(): SackBlock[] {
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
  protected tsRttSample(seg: TcpRepr, now: Millis): void {
    if (seg.tsEcr === undefined || seg.tsEcr === 0) return;
    const r = (this.tsNow(now) - seg.tsEcr) | 0;
    if (r >= 0 && r < 600_000) this.rtt.sample(r);
  }

  protected tsNow(now: Millis): number {
    return (Math.floor(now) + this.tsOffset) >>> 0;
  }

}
