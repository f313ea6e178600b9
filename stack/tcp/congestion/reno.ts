/**
 * Reno congestion control (RFC 5681) with appropriate byte counting
 * (RFC 3465, L = 2·SMSS in slow start). NewReno's recovery (RFC 6582) is done
 * by the connection; this only moves cwnd and ssthresh.
 */
import type { Millis } from "../../util/time.js";
import { initialWindow, type CongestionControl } from "./types.js";

export class Reno implements CongestionControl {
  readonly name = "reno";
  cwnd: number;
  ssthresh = 0x7fffffff;
  private mss: number;
  /** Bytes acknowledged since cwnd last grew in congestion avoidance. */
  private acc = 0;

  constructor(mss: number) {
    this.mss = mss;
    this.cwnd = initialWindow(mss);
  }

  onAck(acked: number, _now: Millis): void {
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(acked, 2 * this.mss);
      return;
    }
    // RFC 5681 §3.1: about one SMSS per RTT.
    this.acc += acked;
    if (this.acc >= this.cwnd) {
      this.acc -= this.cwnd;
      this.cwnd += this.mss;
    }
  }

  onCongestion(_now: Millis, flight: number): void {
    // RFC 5681 eq. (4)
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.mss);
    this.cwnd = this.ssthresh;
    this.acc = 0;
  }

  onRto(_now: Millis, flight: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.mss);
    this.cwnd = this.mss;
    this.acc = 0;
  }

  onRecoveryExit(_now: Millis, flight: number): void {
    // RFC 6582 §3.2 step 3, option (1)/(2): min(ssthresh, FlightSize + SMSS)
    this.cwnd = Math.max(Math.min(this.ssthresh, flight + this.mss), 2 * this.mss);
  }

  setMss(mss: number): void {
    this.mss = mss;
  }
}
