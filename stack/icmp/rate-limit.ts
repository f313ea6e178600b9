/**
 * A token bucket on the injected clock, for ICMP error rate limiting
 * (RFC 1812 §4.3.2.8: a router/host SHOULD limit the rate of ICMP error
 * messages it originates; RFC 1122 §3.2.2 likewise). Sans-I/O: `take(now)`.
 */
import type { Millis } from "../util/time.js";

export interface TokenBucketOptions {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket depth (the largest burst). */
  burst: number;
}

/** Linux's icmp_ratelimit is 1 s with a burst; we default to 10/s, burst 10. */
export const defaultIcmpRate: TokenBucketOptions = { perSecond: 10, burst: 10 };

export class TokenBucket {
  private tokens: number;
  private last: Millis | undefined;
  constructor(readonly opts: TokenBucketOptions = defaultIcmpRate) {
    this.tokens = opts.burst;
  }
  /** Take one token if there is one. */
  take(now: Millis): boolean {
    if (this.last !== undefined && now > this.last) {
      this.tokens = Math.min(this.opts.burst, this.tokens + ((now - this.last) * this.opts.perSecond) / 1000);
    }
    if (this.last === undefined || now > this.last) this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}
