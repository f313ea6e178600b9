/**
 * The boundary between the IPv4 layer (stack/ip) and a transport core
 * (stack/tcp). The IP layer validates and reassembles packets, then hands a
 * transport the payload with addresses; the transport queues what it wants
 * sent, and the IP layer drains that queue (sans-I/O: nothing calls out).
 */
import type { Ip4 } from "../util/addr.js";
import type { Millis } from "../util/time.js";

/** What a transport asks the IP layer to send. `payload` is the whole transport segment, checksum filled in. */
export interface TransportDatagram {
  src: Ip4;
  dst: Ip4;
  payload: Uint8Array;
  /** Bytes in front of `payload` in its buffer that the sender owns, so the IP layer can write its header there (0/absent: copy). */
  headroom?: number;
  /** Bulk (false) or interactive (true: pure ACK, SYN, FIN, RST, small segment); a hint for the link's priority queue. */
  interactive?: boolean;
}

/** An ICMP error the IP layer received, quoting a datagram that this transport sent. */
export interface TransportIcmpError {
  kind: "unreachable" | "time-exceeded" | "frag-needed";
  /** ICMP code (RFC 792), e.g. 3 = port unreachable. */
  code: number;
  /** For frag-needed: the next-hop MTU (RFC 1191). */
  mtu?: number;
  src: Ip4;
  dst: Ip4;
  /** The quoted transport header (at least 8 bytes). */
  quoted: Uint8Array;
}

/** Why a transport refuses a datagram; the IP layer answers with ICMP (gVisor's verdict pattern). */
export type TransportVerdict = "ok" | "port-unreachable" | "drop";

export interface TransportCore {
  /** One validated datagram for this transport, addressed to (dst) us or to anyone (masquerade). */
  input(src: Ip4, dst: Ip4, payload: Uint8Array, now: Millis): TransportVerdict;
  icmpError(err: TransportIcmpError, now: Millis): void;
  pollTransmit(): TransportDatagram | undefined;
  handleTimeout(now: Millis): void;
  pollTimeout(): Millis | undefined;
}
