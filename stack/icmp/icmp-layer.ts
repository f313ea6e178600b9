/**
 * The ICMP layer under the IP layer (RFC 792, RFC 1122 §3.2.2): answers
 * echo requests to our address, runs the ping client, hands echo requests
 * for other addresses to the echo forwarder (masquerade), and turns
 * received errors into `TransportIcmpError`s that the IP layer routes to
 * the transport that sent the quoted datagram. Originating errors goes
 * through `error()`; the IP layer applies the rate limit.
 */
import type { Ip4 } from "../util/addr.js";
import type { Millis } from "../util/time.js";
import type { TransportIcmpError } from "../ip/transport.js";
import { emitIcmp, icmpLength, IcmpType, parseIcmp, UnreachCode, type IcmpRepr } from "../wire/icmp.js";
import { IPV4_HEADER_LEN, IpProto } from "../wire/ipv4.js";
import { readQuoted } from "./icmp-errors.js";
import { PingClient, type PingEvent } from "./ping-client.js";

/** An ICMP message for the IP layer to send; `payload` has IPv4 headroom in front. */
export interface IcmpOut {
  src: Ip4;
  dst: Ip4;
  payload: Uint8Array;
  headroom: number;
  ttl?: number;
  /** Errors are rate limited by the IP layer; echo traffic is not. */
  isError: boolean;
}

export interface EchoForward {
  src: Ip4;
  dst: Ip4;
  ident: number;
  seq: number;
  payload: Uint8Array;
  ttl: number;
}

export class IcmpLayer {
  readonly ping = new PingClient();
  localAddress: Ip4 | undefined;
  /** When true, echo requests to other addresses are queued for the echo forwarder. */
  forwardEcho = false;
  private readonly tx: IcmpOut[] = [];
  private readonly forwards: EchoForward[] = [];
  readonly counters = {
    rx: 0,
    echoAnswered: 0,
    echoForwarded: 0,
    errorsIn: 0,
    dropBadChecksum: 0,
    dropTruncated: 0,
    ignored: 0,
    unmatchedReply: 0,
    dropTxQueueFull: 0,
    dropForwardQueueFull: 0,
  };
  /** Messages waiting for the link, and echo requests waiting for the forwarder, before new ones are dropped. */
  maxQueue = 256;

  /** One ICMP message from the IP layer; returns an error to route to a transport, if it is one. */
  input(src: Ip4, dst: Ip4, ttl: number, msg: Uint8Array, now: Millis): (TransportIcmpError & { protocol: number }) | undefined {
    const r = parseIcmp(msg);
    if (!r.ok) {
      if (r.reason === "icmp-bad-checksum") this.counters.dropBadChecksum++;
      else this.counters.dropTruncated++;
      return undefined;
    }
    this.counters.rx++;
    const m = r.value;
    const local = this.localAddress !== undefined && dst === this.localAddress;
    switch (m.kind) {
      case "echo-request":
        if (local) {
          this.counters.echoAnswered++;
          this.send({ kind: "echo-reply", ident: m.ident, seq: m.seq, data: m.data }, dst, src);
        } else if (this.forwardEcho) {
          if (this.forwards.length >= this.maxQueue) {
            this.counters.dropForwardQueueFull++;
            return undefined;
          }
          this.counters.echoForwarded++;
          this.forwards.push({ src, dst, ident: m.ident, seq: m.seq, payload: m.data.slice(), ttl });
        } else this.counters.ignored++;
        return undefined;
      case "echo-reply":
        if (!this.ping.onReply(src, m.ident, m.seq, ttl, msg.length, now)) this.counters.unmatchedReply++;
        return undefined;
      case "dest-unreachable":
      case "time-exceeded": {
        this.counters.errorsIn++;
        const q = readQuoted(m.quoted);
        if (!q) {
          this.counters.dropTruncated++;
          return undefined;
        }
        const type = m.kind === "time-exceeded" ? IcmpType.TIME_EXCEEDED : IcmpType.DEST_UNREACHABLE;
        if (q.protocol === IpProto.ICMP) {
          this.ping.onError(type, m.code, src, q.dst, q.transport);
          return undefined;
        }
        return {
          protocol: q.protocol,
          kind: m.kind === "time-exceeded" ? "time-exceeded" : m.code === UnreachCode.FRAG_NEEDED ? "frag-needed" : "unreachable",
          code: m.code,
          mtu: m.kind === "dest-unreachable" ? m.mtu : undefined,
          src: q.src,
          dst: q.dst,
          quoted: q.transport,
        };
      }
      default:
        this.counters.ignored++;
        return undefined;
    }
  }

  /** Build `repr` into a fresh buffer with IPv4 headroom and queue it. */
  send(repr: IcmpRepr, src: Ip4, dst: Ip4, ttl?: number): boolean {
    if (this.tx.length >= this.maxQueue) {
      this.counters.dropTxQueueFull++;
      return false;
    }
    const len = icmpLength(repr);
    const buf = new Uint8Array(IPV4_HEADER_LEN + len);
    emitIcmp(repr, buf, IPV4_HEADER_LEN);
    const isError = repr.kind === "dest-unreachable" || repr.kind === "time-exceeded";
    this.tx.push({ src, dst, payload: buf.subarray(IPV4_HEADER_LEN), headroom: IPV4_HEADER_LEN, ttl, isError });
    return true;
  }

  /** Start a ping; returns the token its PingEvent will carry. */
  startPing(src: Ip4, dst: Ip4, ident: number, seq: number, data: Uint8Array, now: Millis, timeoutMs: Millis, ttl?: number): number {
    const token = this.ping.start(dst, ident, seq, now, timeoutMs);
    this.send({ kind: "echo-request", ident, seq, data }, src, dst, ttl);
    return token;
  }

  /** Queue an error quoting `quoted` (already trimmed by the caller). */
  error(kind: "dest-unreachable" | "time-exceeded", code: number, src: Ip4, dst: Ip4, quoted: Uint8Array, mtu?: number): void {
    if (kind === "dest-unreachable") this.send({ kind, code, mtu, quoted }, src, dst);
    else this.send({ kind, code, quoted }, src, dst);
  }

  pollTransmit(): IcmpOut | undefined {
    return this.tx.shift();
  }

  pollForward(): EchoForward | undefined {
    return this.forwards.shift();
  }

  pollPingEvent(): PingEvent | undefined {
    return this.ping.pollEvent();
  }

  handleTimeout(now: Millis): void {
    this.ping.handleTimeout(now);
  }

  pollTimeout(): Millis | undefined {
    return this.ping.pollTimeout();
  }
}

