/**
 * The IPv4 layer of the userspace stack (RFC 791, RFC 1122 §3), sans-I/O:
 * `handleInput(datagram, now)` validates, reassembles and demultiplexes to
 * TCP (F's TcpLayer, as a `TransportCore`), UDP and ICMP; `pollTransmit()`
 * drains ICMP, TCP and UDP, writes the IPv4 header (in the headroom the
 * transport reserved, or into a copy), and fragments datagrams larger than
 * the MTU whose DF bit is clear. ICMP errors it originates (port and
 * protocol unreachable, reassembly time exceeded, and the masquerade's) go
 * through one token bucket on the injected clock (RFC 1812 §4.3.2.8).
 *
 * Malformed datagrams are dropped and counted with their reason in
 * `stats()`; nothing here throws on wire input. We are a host: TTL is
 * never decremented, and datagrams for other addresses are accepted only
 * for a protocol whose forwarder is on (the masquerade).
 */
import type { Ip4 } from "../util/addr.js";
import type { Rng } from "../util/rng.js";
import { earliest, type Millis } from "../util/time.js";
import type { TransportCore, TransportDatagram, TransportIcmpError } from "./transport.js";
import { emitIpv4Header, IPV4_DEFAULT_TTL, IPV4_HEADER_LEN, IpProto, parseIpv4 } from "../wire/ipv4.js";
import { TimeExceededCode, UnreachCode } from "../wire/icmp.js";
import { Reassembler, type ReassemblyLimits } from "./reassembly.js";
import { UdpLayer, type UdpLayerOptions } from "../udp/udp-layer.js";
import { IcmpLayer } from "../icmp/icmp-layer.js";
import { icmpErrorForbidden, quoteOriginal } from "../icmp/icmp-errors.js";
import { TokenBucket, defaultIcmpRate, type TokenBucketOptions } from "../icmp/rate-limit.js";

/** RFC 791 §3.1: every host must accept 68-byte datagrams; the smallest MTU we allow. */
export const IPV4_MIN_MTU = 68;
/** RFC 1661 §6.1 default MRU, our default MTU. */
export const DEFAULT_MTU = 1500;

export interface IpLayerOptions {
  rng: Rng;
  mtu?: number;
  address?: Ip4;
  /** TTL of datagrams we originate (RFC 1122 §3.2.1.7). */
  ttl?: number;
  icmpRate?: TokenBucketOptions;
  reassembly?: Partial<ReassemblyLimits>;
  udp?: Omit<UdpLayerOptions, "rng">;
}

/** One datagram for the link. */
export interface IpTransmit {
  packet: Uint8Array;
  /** Priority hint for the link (pure ACKs, SYN/FIN/RST, small segments, ICMP, small UDP). */
  interactive: boolean;
}

/** A transport datagram, possibly built with IPv4 headroom and a TTL of its own. */
interface OutDatagram extends TransportDatagram {
  headroom?: number;
  ttl?: number;
}

/**
 * What stack/tcp's TcpLayer exposes for forwarded SYNs the masquerade
 * rejected with ICMP (duck-typed, so any TransportCore may be attached):
 * Destination Unreachable `code` from `dst` to `src`, quoting an IPv4 header
 * src → dst (TCP) and the SYN `segment`.
 */
interface IcmpRejectSource {
  pollIcmpReject?(): { code: number; src: Ip4; dst: Ip4; segment: Uint8Array } | undefined;
}

export class IpLayer {
  readonly udp: UdpLayer;
  readonly icmp: IcmpLayer;
  readonly reassembler: Reassembler;
  private tcpCore: (TransportCore & IcmpRejectSource) | undefined;
  private addr: Ip4 | undefined;
  private mtuValue: number;
  private readonly ttl: number;
  private ident: number;
  private readonly bucket: TokenBucket;
  /** Fragments (and other ready packets) waiting to go out before the transports are polled again. */
  private readonly ready: IpTransmit[] = [];
  /** Accept TCP SYNs/segments for any address (the TCP forwarder is on). */
  tcpAnyAddress = false;
  private readonly counters = new Map<string, number>();
  /** The current time as of the last input/timeout, for errors raised from pollTransmit. */
  private lastNow: Millis = 0;

  constructor(opts: IpLayerOptions) {
    this.udp = new UdpLayer({ rng: opts.rng, ...opts.udp });
    this.icmp = new IcmpLayer();
    this.reassembler = new Reassembler(opts.reassembly);
    this.mtuValue = Math.max(IPV4_MIN_MTU, opts.mtu ?? DEFAULT_MTU);
    this.ttl = opts.ttl ?? IPV4_DEFAULT_TTL;
    this.ident = opts.rng.u32() & 0xffff;
    this.bucket = new TokenBucket(opts.icmpRate ?? defaultIcmpRate);
    this.setAddress(opts.address);
  }

  attachTcp(core: TransportCore | undefined): void {
    this.tcpCore = core;
  }
  get tcp(): TransportCore | undefined {
    return this.tcpCore;
  }

  get address(): Ip4 | undefined {
    return this.addr;
  }
  setAddress(a: Ip4 | undefined): void {
    this.addr = a;
    this.udp.localAddress = a;
    this.icmp.localAddress = a;
  }

  get mtu(): number {
    return this.mtuValue;
  }
  setMtu(mtu: number): void {
    this.mtuValue = Math.max(IPV4_MIN_MTU, Math.min(65535, Math.floor(mtu)));
  }

  private count(key: string, n = 1): void {
    this.counters.set(key, (this.counters.get(key) ?? 0) + n);
  }
  private drop(reason: string): void {
    this.count(`drop.${reason}`);
  }

  // ---- input --------------------------------------------------------------

  handleInput(datagram: Uint8Array, now: Millis): void {
    this.lastNow = now;
    this.count("rx.packets");
    const r = parseIpv4(datagram);
    if (!r.ok) return this.drop(r.reason);
    const { repr, packet } = r.value;
    let payload = r.value.payload;
    let header = packet.header;
    const local = this.addr !== undefined && repr.dst === this.addr;
    if (!local && !this.acceptsForeign(repr.protocol)) {
      return this.drop(this.addr === undefined ? "ip-no-address" : "ip-not-for-us");
    }
    if (repr.src === 0xffffffff || repr.src >>> 28 === 0xe) return this.drop("ip-bad-source");
    if (packet.isFragment) {
      const res = this.reassembler.input(
        {
          src: repr.src,
          dst: repr.dst,
          protocol: repr.protocol,
          ident: repr.ident,
          offset: repr.fragmentOffset,
          moreFragments: repr.moreFragments,
          payload,
          header,
        },
        now,
      );
      if (res.kind === "pending") return;
      if (res.kind === "dropped") return this.drop(res.reason);
      payload = res.payload;
      header = res.header;
      this.count("rx.reassembled");
    }
    this.demux(repr.protocol, repr.src, repr.dst, repr.ttl, header, payload, local, now);
  }

  private acceptsForeign(protocol: number): boolean {
    if (protocol === IpProto.TCP) return this.tcpAnyAddress;
    if (protocol === IpProto.UDP) return this.udp.forwarding;
    if (protocol === IpProto.ICMP) return this.icmp.forwardEcho;
    return false;
  }

  private demux(protocol: number, src: Ip4, dst: Ip4, ttl: number, header: Uint8Array, payload: Uint8Array, local: boolean, now: Millis): void {
    switch (protocol) {
      case IpProto.TCP: {
        if (!this.tcpCore) {
          if (local) this.errorFor(header, payload, "dest-unreachable", UnreachCode.PROTOCOL, dst, now);
          return this.drop("ip-no-tcp");
        }
        const v = this.tcpCore.input(src, dst, payload, now);
        if (v === "port-unreachable") this.errorFor(header, payload, "dest-unreachable", UnreachCode.PORT, dst, now);
        else if (v === "drop") this.count("rx.tcp-refused");
        this.count("rx.tcp");
        return;
      }
      case IpProto.UDP: {
        const v = this.udp.input(src, dst, payload, now);
        if (v === "port-unreachable") this.errorFor(header, payload, "dest-unreachable", UnreachCode.PORT, dst, now);
        this.count("rx.udp");
        return;
      }
      case IpProto.ICMP: {
        const err = this.icmp.input(src, dst, ttl, payload, now);
        this.count("rx.icmp");
        if (err) this.routeIcmpError(err, now);
        return;
      }
      default:
        this.drop("ip-unknown-protocol");
        if (local) this.errorFor(header, payload, "dest-unreachable", UnreachCode.PROTOCOL, dst, now);
    }
  }

  private routeIcmpError(err: TransportIcmpError & { protocol: number }, now: Millis): void {
    const { protocol, ...e } = err;
    if (protocol === IpProto.TCP && this.tcpCore) this.tcpCore.icmpError(e, now);
    else if (protocol === IpProto.UDP) this.udp.icmpError(e, now);
    else this.count("rx.icmp-error-unrouted");
  }

  // ---- ICMP errors we originate ---------------------------------------------

  /** Quote header + payload (copying only the quoted part) and send an error, if allowed and within the rate. */
  private errorFor(header: Uint8Array, payload: Uint8Array, kind: "dest-unreachable" | "time-exceeded", code: number, from: Ip4, now: Millis): void {
    const orig = new Uint8Array(header.length + Math.min(payload.length, 576));
    orig.set(header);
    orig.set(payload.subarray(0, orig.length - header.length), header.length);
    // The header's Total Length may describe a fragment; patch it so quoteOriginal trims by what we hold.
    const tl = orig.length;
    orig[2] = tl >> 8;
    orig[3] = tl & 0xff;
    this.sendIcmpError(kind, code, from, orig, now);
  }

  /**
   * Originate an ICMP error about `original` (an IPv4 datagram, header
   * first), from address `from`, to the original's source. Returns false
   * when RFC 1122 forbids it or the rate limit refused it (both counted).
   */
  sendIcmpError(kind: "dest-unreachable" | "time-exceeded", code: number, from: Ip4, original: Uint8Array, now: Millis, mtu?: number): boolean {
    const why = icmpErrorForbidden(original);
    if (why) {
      this.count(`icmp-error-suppressed.${why}`);
      return false;
    }
    if (!this.bucket.take(now)) {
      this.count("icmp-error-rate-limited");
      return false;
    }
    const to = (original[12] << 24 | original[13] << 16 | original[14] << 8 | original[15]) >>> 0;
    this.icmp.error(kind, code, from, to, quoteOriginal(original), mtu);
    this.count(`tx.icmp-error.${kind}.${code}`);
    return true;
  }

  /** The masquerade's error: Destination Unreachable `code` about `original`, from any address. */
  sendIcmpUnreachable(from: Ip4, code: number, original: Uint8Array, now: Millis, mtu?: number): boolean {
    return this.sendIcmpError("dest-unreachable", code, from, original, now, mtu);
  }

  // ---- output -------------------------------------------------------------

  /** Queue a datagram of any protocol (used for raw sends by tests and the masquerade). */
  send(protocol: number, d: OutDatagram, dontFragment = false): void {
    this.emit(protocol, d, dontFragment);
  }

  /** The next datagram for the link. `now` (when given) dates the ICMP errors raised while draining. */
  /**
   * The next datagram to send. With `holdTcp` no new TCP segment is cut (the
   * link is backed up: TCP's data waits in its send buffers); everything else
   * still flows.
   */
  pollTransmit(now?: Millis, opts?: { holdTcp?: boolean }): IpTransmit | undefined {
    if (now !== undefined) this.lastNow = now;
    for (;;) {
      const r = this.ready.shift();
      if (r) return r;
      const rej = this.tcpCore?.pollIcmpReject?.();
      if (rej) {
        const original = new Uint8Array(IPV4_HEADER_LEN + rej.segment.length);
        original.set(rej.segment, IPV4_HEADER_LEN);
        emitIpv4Header(
          { src: rej.src, dst: rej.dst, protocol: IpProto.TCP, ttl: this.ttl, payloadLen: rej.segment.length, ident: 0, dontFragment: false, moreFragments: false, fragmentOffset: 0 },
          original,
        );
        this.sendIcmpError("dest-unreachable", rej.code, rej.dst, original, this.lastNow);
        continue;
      }
      const ic = this.icmp.pollTransmit();
      if (ic) {
        this.emit(IpProto.ICMP, { ...ic, interactive: true }, false);
        continue;
      }
      const t = opts?.holdTcp ? undefined : this.tcpCore?.pollTransmit();
      if (t) {
        // RFC 1191: TCP segments carry DF (path MTU discovery); the MSS keeps them within the MTU.
        // A segment over the MTU is a TCP sizing bug (e.g. options not taken off the MSS): rather
        // than black-hole it (every retransmission would be dropped too), send it fragmented and count it.
        const fits = IPV4_HEADER_LEN + t.payload.length <= this.mtuValue;
        if (!fits) this.count("tx.tcp-over-mtu");
        this.emit(IpProto.TCP, t, fits);
        continue;
      }
      const u = this.udp.pollTransmit();
      if (u) {
        this.emit(IpProto.UDP, u, false);
        continue;
      }
      return undefined;
    }
  }

  private nextIdent(): number {
    const id = this.ident;
    this.ident = (this.ident + 1) & 0xffff;
    return id;
  }

  /** Build the datagram (fragments when needed) onto the ready queue. */
  private emit(protocol: number, d: OutDatagram, dontFragment: boolean): void {
    const plen = d.payload.length;
    const ttl = d.ttl ?? this.ttl;
    const interactive = d.interactive ?? false;
    if (IPV4_HEADER_LEN + plen > 65535) {
      this.drop("tx-too-long");
      return;
    }
    if (IPV4_HEADER_LEN + plen <= this.mtuValue) {
      let packet: Uint8Array;
      if ((d.headroom ?? 0) >= IPV4_HEADER_LEN) {
        packet = new Uint8Array(d.payload.buffer, d.payload.byteOffset - IPV4_HEADER_LEN, IPV4_HEADER_LEN + plen);
      } else {
        packet = new Uint8Array(IPV4_HEADER_LEN + plen);
        packet.set(d.payload, IPV4_HEADER_LEN);
      }
      emitIpv4Header(
        { src: d.src, dst: d.dst, protocol, ttl, payloadLen: plen, ident: this.nextIdent(), dontFragment, moreFragments: false, fragmentOffset: 0 },
        packet,
      );
      this.ready.push({ packet, interactive });
      this.count("tx.packets");
      return;
    }
    if (dontFragment) {
      this.drop("tx-df-too-big");
      return;
    }
    // RFC 791 §3.2 fragmentation: all but the last carry a multiple of 8 bytes.
    const chunk = Math.floor((this.mtuValue - IPV4_HEADER_LEN) / 8) * 8;
    const ident = this.nextIdent();
    for (let off = 0; off < plen; off += chunk) {
      const len = Math.min(chunk, plen - off);
      const packet = new Uint8Array(IPV4_HEADER_LEN + len);
      packet.set(d.payload.subarray(off, off + len), IPV4_HEADER_LEN);
      emitIpv4Header(
        { src: d.src, dst: d.dst, protocol, ttl, payloadLen: len, ident, dontFragment: false, moreFragments: off + len < plen, fragmentOffset: off },
        packet,
      );
      this.ready.push({ packet, interactive });
      this.count("tx.fragments");
    }
    this.count("tx.packets");
  }

  // ---- time ---------------------------------------------------------------

  handleTimeout(now: Millis): void {
    this.lastNow = now;
    this.reassembler.handleTimeout(now);
    for (let e = this.reassembler.pollExpired(); e; e = this.reassembler.pollExpired()) {
      // RFC 792: Time Exceeded code 1 only when the first fragment had arrived.
      if (e.firstQuote && this.addr !== undefined && e.dst === this.addr) {
        this.sendIcmpError("time-exceeded", TimeExceededCode.REASSEMBLY, this.addr, e.firstQuote, now);
      }
      this.drop("frag-timeout");
    }
    this.tcpCore?.handleTimeout(now);
    this.udp.handleTimeout(now);
    this.icmp.handleTimeout(now);
  }

  pollTimeout(): Millis | undefined {
    return earliest(this.reassembler.pollTimeout(), this.tcpCore?.pollTimeout(), this.udp.pollTimeout(), this.icmp.pollTimeout());
  }

  /** Counters: rx/tx totals, `drop.<reason>`, and the UDP/ICMP/reassembly counters. */
  stats(): Record<string, number> {
    const s: Record<string, number> = {};
    for (const [k, v] of this.counters) s[`ip.${k}`] = v;
    for (const [k, v] of Object.entries(this.udp.counters)) s[`udp.${k}`] = v;
    for (const [k, v] of Object.entries(this.icmp.counters)) s[`icmp.${k}`] = v;
    for (const [k, v] of Object.entries(this.reassembler.counters)) s[`frag.${k}`] = v;
    return s;
  }

  /** The count for one key of `stats()` without building the whole record (tests). */
  counter(key: string): number {
    return this.counters.get(key) ?? 0;
  }
}
