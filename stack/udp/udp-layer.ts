/**
 * The UDP transport (RFC 768), a sans-I/O `TransportCore` under the IP
 * layer: sockets bound by port on our address, a bounded receive queue per
 * socket, ephemeral ports (RFC 6335 §6: 49152–65535) drawn from the
 * injected Rng and collision-checked, and a forwarder queue for datagrams
 * nobody is bound to (the server's masquerade). Sending may use any source
 * address (replies of masqueraded flows).
 *
 * Outgoing datagrams are built once with IPv4 headroom in front, so the IP
 * layer writes its header in place (see `HeadroomDatagram`).
 */
import type { Ip4 } from "../util/addr.js";
import type { Rng } from "../util/rng.js";
import type { Millis } from "../util/time.js";
import type { TransportCore, TransportDatagram, TransportIcmpError, TransportVerdict } from "../ip/transport.js";
import { IPV4_HEADER_LEN } from "../wire/ipv4.js";
import { emitUdp, parseUdp, UDP_HEADER_LEN } from "../wire/udp.js";

/** RFC 6335 §6: the Dynamic and/or Private Ports. */
export const EPHEMERAL_FIRST = 49152;
export const EPHEMERAL_LAST = 65535;

/** A datagram whose `payload` sits `headroom` bytes into a buffer we own, so the IP header can be written in front. */
export interface HeadroomDatagram extends TransportDatagram {
  headroom?: number;
  ttl?: number;
}

export interface UdpLayerOptions {
  rng: Rng;
  /** Datagrams held per socket before new ones are dropped (counted). */
  maxQueue?: number;
  /** Datagrams held for the forwarder before new ones are dropped. */
  maxForwardQueue?: number;
  /** Datagrams waiting for the link (while it pushes back) before new ones are dropped. */
  maxTxQueue?: number;
}

export interface UdpDatagramIn {
  src: Ip4;
  srcPort: number;
  dst: Ip4;
  dstPort: number;
  payload: Uint8Array;
}

export class UdpError extends Error {
  constructor(
    readonly code: "EADDRINUSE" | "EINVAL" | "EADDRNOTAVAIL",
    message: string,
  ) {
    super(message);
    this.name = "UdpError";
  }
}

interface Binding {
  port: number;
  queue: UdpDatagramIn[];
}

export class UdpLayer implements TransportCore {
  private readonly rng: Rng;
  private readonly maxQueue: number;
  private readonly maxForwardQueue: number;
  private readonly maxTxQueue: number;
  private readonly bindings = new Map<number, Binding>();
  /** Ports whose queue went from empty to non-empty since the last poll. */
  private readonly readable = new Set<number>();
  private readonly forwardQueue: UdpDatagramIn[] = [];
  private readonly txQueue: HeadroomDatagram[] = [];
  /** Our address; undefined while the link is down. Set by the IP layer. */
  localAddress: Ip4 | undefined;
  /** When true, unmatched datagrams go to the forwarder queue instead of a port unreachable. */
  forwarding = false;
  readonly counters = {
    rx: 0,
    tx: 0,
    forwarded: 0,
    dropQueueFull: 0,
    dropForwardQueueFull: 0,
    dropTxQueueFull: 0,
    dropBadChecksum: 0,
    dropTruncated: 0,
    dropBadLength: 0,
    noPort: 0,
    icmpErrors: 0,
  };

  constructor(opts: UdpLayerOptions) {
    this.rng = opts.rng;
    this.maxQueue = opts.maxQueue ?? 256;
    this.maxForwardQueue = opts.maxForwardQueue ?? 1024;
    this.maxTxQueue = opts.maxTxQueue ?? 1024;
  }

  /** Bind a port (0 = ephemeral). Returns the port bound. Throws UdpError on local misuse. */
  bind(port = 0): number {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UdpError("EINVAL", `bad UDP port ${port}`);
    if (port === 0) port = this.ephemeral();
    if (this.bindings.has(port)) throw new UdpError("EADDRINUSE", `UDP port ${port} is already bound`);
    this.bindings.set(port, { port, queue: [] });
    return port;
  }

  unbind(port: number): void {
    this.bindings.delete(port);
    this.readable.delete(port);
  }

  isBound(port: number): boolean {
    return this.bindings.has(port);
  }

  private ephemeral(): number {
    const span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
    const start = this.rng.u32() % span;
    for (let i = 0; i < span; i++) {
      const p = EPHEMERAL_FIRST + ((start + i) % span);
      if (!this.bindings.has(p)) return p;
    }
    throw new UdpError("EADDRINUSE", "no free ephemeral UDP port");
  }

  input(src: Ip4, dst: Ip4, payload: Uint8Array, _now: Millis): TransportVerdict {
    const r = parseUdp(payload, src, dst);
    if (!r.ok) {
      if (r.reason === "udp-bad-checksum") this.counters.dropBadChecksum++;
      else if (r.reason === "udp-truncated") this.counters.dropTruncated++;
      else this.counters.dropBadLength++;
      return "drop";
    }
    const u = r.value;
    this.counters.rx++;
    const local = this.localAddress !== undefined && dst === this.localAddress;
    const b = local ? this.bindings.get(u.dstPort) : undefined;
    // Copy: the link's buffer is not ours to keep past this call.
    const d: UdpDatagramIn = { src, srcPort: u.srcPort, dst, dstPort: u.dstPort, payload: u.payload.slice() };
    if (b) {
      if (b.queue.length >= this.maxQueue) {
        this.counters.dropQueueFull++;
        return "drop";
      }
      b.queue.push(d);
      this.readable.add(b.port);
      return "ok";
    }
    if (this.forwarding) {
      if (this.forwardQueue.length >= this.maxForwardQueue) {
        this.counters.dropForwardQueueFull++;
        return "drop";
      }
      this.forwardQueue.push(d);
      this.counters.forwarded++;
      return "ok";
    }
    this.counters.noPort++;
    return local ? "port-unreachable" : "drop";
  }

  /** Next port with queued datagrams (each port reported once per empty→non-empty change). */
  pollReadable(): number | undefined {
    const it = this.readable.values().next();
    if (it.done) return undefined;
    this.readable.delete(it.value);
    return it.value;
  }

  /** Take one datagram from a socket's queue. */
  recv(port: number): UdpDatagramIn | undefined {
    return this.bindings.get(port)?.queue.shift();
  }

  /** Next datagram for the forwarder (only while `forwarding`). */
  pollForward(): UdpDatagramIn | undefined {
    return this.forwardQueue.shift();
  }

  /** Queue a datagram from any source address/port; false when the transmit queue is full (dropped, counted). */
  send(src: Ip4, srcPort: number, dst: Ip4, dstPort: number, payload: Uint8Array, ttl?: number): boolean {
    if (UDP_HEADER_LEN + payload.length + IPV4_HEADER_LEN > 0xffff) throw new UdpError("EINVAL", `UDP payload too long: ${payload.length}`);
    if (this.txQueue.length >= this.maxTxQueue) {
      this.counters.dropTxQueueFull++;
      return false;
    }
    const buf = new Uint8Array(IPV4_HEADER_LEN + UDP_HEADER_LEN + payload.length);
    buf.set(payload, IPV4_HEADER_LEN + UDP_HEADER_LEN);
    const seg = buf.subarray(IPV4_HEADER_LEN);
    emitUdp({ srcPort, dstPort, payload }, seg, src, dst, 0, true);
    this.txQueue.push({ src, dst, payload: seg, headroom: IPV4_HEADER_LEN, interactive: payload.length <= 512, ttl });
    this.counters.tx++;
    return true;
  }

  icmpError(_err: TransportIcmpError, _now: Millis): void {
    this.counters.icmpErrors++;
  }

  pollTransmit(): HeadroomDatagram | undefined {
    return this.txQueue.shift();
  }

  handleTimeout(_now: Millis): void {}

  pollTimeout(): Millis | undefined {
    return undefined;
  }
}
