/**
 * Tunables of the TCP core, with RFC-cited defaults. `TcpLayerOptions.limits`
 * overrides any subset. Part of stack/tcp.
 */
import type { Millis } from "../util/time.js";

export interface TcpLimits {
  /** Per-connection send buffer, bytes. */
  sendBuffer: number;
  /** Per-connection receive buffer (the most window we offer), bytes. */
  recvBuffer: number;
  /** Cap on all connections' buffer reservations together, bytes. */
  globalBufferCap: number;
  /** Cap on connections (all states). */
  maxConnections: number;
  /** Cap on half-open (SYN-RECEIVED) connections per listener (the SYN queue). */
  maxHalfOpenPerListener: number;
  /** Cap on half-open connections in the whole layer. */
  maxHalfOpen: number;
  /** RFC 9293 §3.4.2 Maximum Segment Lifetime; TIME-WAIT lasts 2·MSL. */
  msl: Millis;
  /** How long an orphaned connection (user gone) may sit in FIN-WAIT-2 (Linux tcp_fin_timeout). */
  finWait2Timeout: Millis;
  /** RFC 6298 §2.1: initial RTO 1 s. */
  rtoInitial: Millis;
  /** RFC 6298 §2.4 says 1 s; Linux uses 200 ms. Configurable. */
  rtoMin: Millis;
  /** RFC 6298 §2.5: a maximum of at least 60 s. */
  rtoMax: Millis;
  /** SYN (and SYN-ACK) retransmissions before giving up with ETIMEDOUT. */
  synRetries: number;
  /** Data retransmissions before giving up (RFC 1122 §4.2.3.5 R2). */
  dataRetries: number;
  /** RFC 1122 §4.2.3.2: delayed ACK at most 500 ms (we keep it ≤ 200 ms). */
  delayedAck: Millis;
  /** RFC 1122 §4.2.3.6: keepalive idle time, default ≥ 2 h. */
  keepIdle: Millis;
  keepInterval: Millis;
  keepCount: number;
  /** RFC 5961 §7: challenge ACKs per second (whole layer). */
  challengeAcksPerSecond: number;
  /** Distinct out-of-order islands kept per connection. */
  maxOooRanges: number;
  /**
   * A forwarder request not answered in this long stops absorbing the peer's
   * SYN retransmissions (a later SYN makes a new request). It can still be
   * accepted afterwards. Linux clients retry a SYN for about 127 s.
   */
  forwardTimeout: Millis;
  /**
   * Offer and accept RFC 7323 timestamps (on by default). Off, our SYNs
   * carry no TSopt and a peer's is not echoed, so the option is off for the
   * connection (RFC 7323 §3.2: only when both SYNs carry it): 12 bytes less
   * per segment, and VJ (RFC 1144) compresses every segment (it sends a
   * segment whose options changed uncompressed). Read at each SYN, so a
   * change applies to later connections.
   */
  timestamps: boolean;
}

export const defaultTcpLimits: TcpLimits = {
  sendBuffer: 256 * 1024,
  recvBuffer: 256 * 1024,
  globalBufferCap: 256 * 1024 * 1024,
  maxConnections: 8192,
  maxHalfOpenPerListener: 128,
  maxHalfOpen: 1024,
  msl: 30_000,
  finWait2Timeout: 60_000,
  rtoInitial: 1000,
  rtoMin: 200,
  rtoMax: 60_000,
  synRetries: 6,
  dataRetries: 15,
  delayedAck: 40,
  keepIdle: 2 * 3600_000,
  keepInterval: 75_000,
  keepCount: 9,
  challengeAcksPerSecond: 100,
  maxOooRanges: 64,
  forwardTimeout: 120_000,
  timestamps: true,
};
