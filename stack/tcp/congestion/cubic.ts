/**
 * CUBIC congestion control (RFC 9438): window growth as a cubic function of
 * the time since the last congestion event, with the Reno-friendly region
 * (§4.3) and fast convergence (§4.7). Slow start as in Reno.
 */
import type { Millis } from "../../util/time.js";
import { initialWindow, type CongestionControl } from "./types.js";

/** RFC 9438 §4.5: multiplicative decrease factor. */
const BETA_CUBIC = 0.7;
/** RFC 9438 §5: C = 0.4 (segments / s^3). */
const C = 0.4;
/** RFC 9438 §4.3: alpha_cubic = 3·(1 − β)/(1 + β). */
const ALPHA_CUBIC = (3 * (1 - BETA_CUBIC)) / (1 + BETA_CUBIC);

export class Cubic implements CongestionControl {
  readonly name = "cubic";
  cwnd: number;
  ssthresh = 0x7fffffff;
  private mss: number;
  /** Window (segments) just before the last reduction. */
  private wMax = 0;
  /** Start of the current congestion-avoidance epoch. */
  private epoch: Millis | undefined;
  private k = 0;
  /** Reno-friendly estimate, segments. */
  private wEst = 0;
  private acc = 0;

  constructor(mss: number) {
    this.mss = mss;
    this.cwnd = initialWindow(mss);
  }

  onAck(acked: number, now: Millis, srtt: Millis | undefined): void {
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(acked, 2 * this.mss);
      return;
    }
    const seg = this.cwnd / this.mss;
    if (this.epoch === undefined) {
      this.epoch = now;
      if (this.wMax <= seg) {
        this.k = 0;
        this.wMax = seg;
      } else {
        this.k = Math.cbrt((this.wMax - seg) / C);
      }
      this.wEst = seg;
    }
    const rtt = (srtt ?? 100) / 1000;
    const t = (now - this.epoch) / 1000;
    const target = C * (t + rtt - this.k) ** 3 + this.wMax;
    this.wEst += ALPHA_CUBIC * (acked / this.cwnd);
    let goal = Math.max(target, this.wEst);
    goal = Math.min(goal, 1.5 * seg);
    // grow by (goal − cwnd)/cwnd segments per acknowledged segment
    if (goal > seg) {
      this.acc += ((goal - seg) / seg) * acked;
      if (this.acc >= this.mss) {
        const inc = Math.floor(this.acc / this.mss) * this.mss;
        this.cwnd += inc;
        this.acc -= inc;
      }
    }
  }

  onCongestion(_now: Millis, flight: number): void {
    const seg = Math.max(this.cwnd, flight) / this.mss;
    // RFC 9438 §4.7 fast convergence
    this.wMax = seg < this.wMax ? (seg * (1 + BETA_CUBIC)) / 2 : seg;
    this.ssthresh = Math.max(Math.floor(seg * BETA_CUBIC * this.mss), 2 * this.mss);
    this.cwnd = this.ssthresh;
    this.epoch = undefined;
    this.acc = 0;
  }

  onRto(now: Millis, flight: number): void {
    this.onCongestion(now, flight);
    this.cwnd = this.mss;
  }

  onRecoveryExit(_now: Millis, _flight: number): void {
    this.cwnd = Math.max(this.ssthresh, 2 * this.mss);
  }

  setMss(mss: number): void {
    this.mss = mss;
  }
}
