/**
 * The congestion-control interface the TCP connection drives (RFC 5681
 * vocabulary: cwnd, ssthresh, SMSS). Loss recovery itself (fast retransmit,
 * NewReno, SACK) stays in the connection; an algorithm only decides how the
 * window grows on ACKs and shrinks on congestion. Part of stack/tcp.
 */
import type { Millis } from "../../util/time.js";

export interface CongestionControl {
  readonly name: string;
  /** Congestion window, bytes. */
  cwnd: number;
  /** Slow-start threshold, bytes. */
  ssthresh: number;
  /** New data was cumulatively acknowledged outside loss recovery. */
  onAck(acked: number, now: Millis, srtt: Millis | undefined): void;
  /** Fast retransmit: entering loss recovery with `flight` bytes outstanding. */
  onCongestion(now: Millis, flight: number): void;
  /** Retransmission timeout (RFC 5681 §3.1 eq. 4, loss window = 1 SMSS). */
  onRto(now: Millis, flight: number): void;
  /** Loss recovery ended (full ACK). */
  onRecoveryExit(now: Millis, flight: number): void;
  setMss(mss: number): void;
}

/** RFC 6928: IW = min(10·SMSS, max(2·SMSS, 14600)). */
export function initialWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(2 * mss, 14600));
}
