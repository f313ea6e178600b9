/**
 * One TCP connection as a sans-I/O state machine: the input half and the
 * user commands over the TCB (tcb.ts). `input(seg, now)` runs the
 * segment-arrival rules of RFC 9293 §3.10.7 with RFC 5961 hardening (RST and
 * SYN checks with challenge ACKs, ACK range), PAWS (RFC 7323), NewReno and
 * SACK loss detection (RFC 6582, RFC 6675), reassembly and delayed ACKs
 * (RFC 1122 §4.2.3.2); `onTimeout(now)` fires the retransmission (RFC 6298),
 * persist, keepalive and TIME-WAIT timers. Segments go out and events come
 * back through the owning `TcpLayer` (the `ConnHost`); no I/O here.
 */
import type { Millis } from "../util/time.js";
import { ACK, FIN, PSH, RST, SYN, type TcpRepr } from "../wire/tcp.js";
import { DUP_THRESH } from "./sack-scoreboard.js";
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from "./seq.js";
import {
  EV_CLOSED, EV_CONNECTED, EV_EOF, EV_ERROR, EV_READABLE, EV_WRITABLE, TS_OVERHEAD, TcpTcb,
  type ConnHost, type ConnParams, type TcpErrorCode, type TcpState,
} from "./tcb.js";

export * from "./tcb.js";

export class TcpConnection extends TcpTcb {
  constructor(host: ConnHost, p: ConnParams) {
    super(host, p);
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

  /**
   * Take up to `max` received bytes (copied into a buffer from `alloc`, a
   * fresh Uint8Array by default); reopens the window by what was taken.
   */
  read(max: number, _now?: Millis, alloc?: (n: number) => Uint8Array): Uint8Array | undefined {
    const out = this.rcvBuf.read(max, alloc);
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
    // nobody will wait for the peer's FIN forever (the timer doubles as the FIN-WAIT-2 timer)
    if (this.state === "FinWait2") this.timeWaitAt = now + this.host.limits.finWait2Timeout;
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
      const len = Math.min(avail, room, this.segmentRoom());
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
    // RFC 7323 §3.2: on only when both SYNs carry TSopt. We offer it only when limits.timestamps;
    // a SYN-ACK carries it only when our SYN did, so an active open takes the peer's word.
    this.tsEnabled = syn.tsVal !== undefined && (!this.passive || this.host.limits.timestamps);
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
    if (seqGe(ack, this.sndUna) && (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, ack)))) {
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
        if (finAcked) {
          this.state = "FinWait2";
          if (this.orphaned) this.timeWaitAt = now + this.host.limits.finWait2Timeout;
        }
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
