/**
 * Retransmission timeout estimation, RFC 6298: SRTT/RTTVAR smoothing,
 * RTO = SRTT + max(G, 4·RTTVAR) clamped to [min, max], exponential backoff
 * kept by the caller (the connection doubles on each expiry and resets on a
 * fresh sample). Part of stack/tcp.
 */
import type { Millis } from "../util/time.js";

/** RFC 6298 §2: alpha = 1/8, beta = 1/4, K = 4. */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;
/** Clock granularity G: our clock ticks in milliseconds. */
const G = 1;

export class RttEstimator {
  srtt: Millis | undefined;
  rttvar: Millis = 0;
  /** The base RTO before backoff. */
  rto: Millis;

  constructor(
    initialRto: Millis,
    readonly minRto: Millis,
    readonly maxRto: Millis,
  ) {
    this.rto = initialRto;
  }

  /** Feed one RTT measurement R (RFC 6298 §2.2–2.3). */
  sample(r: Millis): void {
    if (r < 0) return;
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = (1 - BETA) * this.rttvar + BETA * Math.abs(this.srtt - r);
      this.srtt = (1 - ALPHA) * this.srtt + ALPHA * r;
    }
    const rto = this.srtt + Math.max(G, K * this.rttvar);
    this.rto = Math.min(this.maxRto, Math.max(this.minRto, rto));
  }
}
