/**
 * NodeStack: the whole userspace IPv4 stack as the app uses it — the Node
 * edge over the sans-I/O cores (stack/ip IpLayer with its UDP and ICMP
 * layers, stack/tcp TcpLayer through F's NodeTcp). It owns the ONE real
 * timer, re-armed from the earliest `pollTimeout()` of all cores, and the
 * link hook: `input(datagram)` in, `output(datagram, interactive)` out.
 *
 * Backpressure toward the link: when `output` returns false (or is not set
 * yet) the stack stops cutting TCP segments (TCP data waits in the socket
 * send buffers), still sends ICMP and DNS datagrams, and keeps up to
 * `maxTxQueue` other datagrams it already took; the cores keep the rest
 * (UDP its bounded queue, which drops + counts past its bound).
 * `outputReady()` resumes.
 *
 * Re-entrancy: input(), timers and kicks all go through one pump loop, so a
 * link that calls back into the stack synchronously (an in-memory pair)
 * neither recurses nor reorders.
 */
import { EventEmitter } from "node:events";
import { formatIp4, parseIp4, type Ip4 } from "../util/addr.js";
import { cryptoRng, type Rng } from "../util/rng.js";
import { systemClock, type Clock, type Millis } from "../util/time.js";
import { IpLayer, DEFAULT_MTU, type IpTransmit } from "../ip/ip-layer.js";
import { TcpLayer, type TcpLayerOptions } from "../tcp/tcp-layer.js";
import { NodeTcp } from "./tcp-node.js";
import { TcpSocket as TcpSocketClass, tcpError } from "./tcp-socket.js";
import { UdpSocket, type UdpSocketHost } from "./udp-socket.js";
import { DEFAULT_PING_SIZE, DEFAULT_PING_TIMEOUT_MS, PingError, PingWaiters, pingPattern, type PingOptions, type PingReply } from "./ping.js";
import { UdpError } from "../udp/udp-layer.js";

export type TcpSocket = ReturnType<NodeTcp["connect"]>;
export type TcpServer = ReturnType<NodeTcp["listen"]>;
export type TcpForwardRequest = Parameters<NonNullable<Parameters<NodeTcp["setForwarder"]>[0]>>[0];

export interface NodeStackOptions {
  /** Our address, e.g. "192.168.7.2"; usually set later by setAddress() when IPCP comes up. */
  address?: string;
  mtu?: number;
  clock?: Clock;
  rng?: Rng;
  tcp?: Partial<TcpLayerOptions>;
  /** Datagrams held while the link pushes back (default 256). */
  maxTxQueue?: number;
}

export interface UdpForwardDatagram {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  payload: Buffer;
}

export interface IcmpEchoForward {
  src: string;
  dst: string;
  id: number;
  seq: number;
  payload: Buffer;
  ttl: number;
}

/** Local misuse of the stack (bad address text...): names what to fix. */
export class StackUsageError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "StackUsageError";
  }
}

function needIp(text: string, what: string): Ip4 {
  const a = parseIp4(text);
  if (a === undefined) throw new StackUsageError("EINVAL", `${what}: "${text}" is not a dotted-quad IPv4 address`);
  return a;
}

/** RFC 791 protocol numbers; RFC 1035 §4.2 DNS port. */
const PROTO_ICMP = 1;
const PROTO_UDP = 17;
const DNS_PORT = 53;

/** Datagrams sent even while the link pushes back: ICMP and DNS (small, interactive, each a bounded queue in its core). */
function passesBackpressure(p: Uint8Array): boolean {
  if (p.length < 20) return false;
  const proto = p[9];
  if (proto === PROTO_ICMP) return true;
  if (proto !== PROTO_UDP) return false;
  const ihl = (p[0] & 0x0f) * 4;
  const fragOffset = ((p[6] & 0x1f) << 8) | p[7];
  if (fragOffset !== 0 || p.length < ihl + 4) return false;
  return ((p[ihl] << 8) | p[ihl + 1]) === DNS_PORT || ((p[ihl + 2] << 8) | p[ihl + 3]) === DNS_PORT;
}

export class NodeStack extends EventEmitter {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly ip: IpLayer;
  readonly tcpLayer: TcpLayer;
  readonly tcp: NodeTcp;
  /** Set by the app: hand one datagram to the link; false = the link's queue is full (the datagram was taken). */
  output?: (packet: Uint8Array, interactive: boolean) => boolean;

  private readonly maxTxQueue: number;
  private readonly txQueue: IpTransmit[] = [];
  private blocked = false;
  private readonly inbox: Uint8Array[] = [];
  private pumping = false;
  private pumpScheduled = false;
  private again = false;
  private timeoutDue = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: Millis | undefined;
  private closed = false;
  private readonly udpSockets = new Map<number, UdpSocket>();
  private readonly pings = new PingWaiters();
  private pingIdent: number;
  private pingSeq = 0;
  private udpForwarder: ((d: UdpForwardDatagram) => void) | undefined;
  private echoForwarder: ((e: IcmpEchoForward) => void) | undefined;
  private readonly counters = { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, txBlocked: 0, txPassed: 0, timerFires: 0, rxAfterClose: 0 };
  private readonly udpHost: UdpSocketHost;

  constructor(opts: NodeStackOptions = {}) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.rng = opts.rng ?? cryptoRng;
    this.maxTxQueue = opts.maxTxQueue ?? 256;
    const mtu = opts.mtu ?? DEFAULT_MTU;
    this.ip = new IpLayer({ rng: this.rng, mtu });
    this.tcpLayer = new TcpLayer({ rng: this.rng, mtu, ...opts.tcp });
    this.ip.attachTcp(this.tcpLayer);
    this.tcp = new NodeTcp(this.tcpLayer, () => this.schedulePump(), this.clock);
    this.pingIdent = this.rng.u32() & 0xffff;
    if (opts.address !== undefined) this.setAddress(opts.address);
    const self = this;
    this.udpHost = {
      get localIp() {
        return self.ip.address;
      },
      udpSend: (srcPort, dst, dstPort, payload) => {
        const src = this.ip.address;
        if (src === undefined) throw new UdpError("EADDRNOTAVAIL", "no local address");
        this.ip.udp.send(src, srcPort, dst, dstPort, payload);
        this.schedulePump();
      },
      udpClose: (port) => {
        this.udpSockets.delete(port);
        this.ip.udp.unbind(port);
      },
    };
  }

  // ---- the link hook --------------------------------------------------------

  /** One IPv4 datagram from the link. The bytes are only read during this call (copied where kept). */
  input(packet: Uint8Array): void {
    // Re-entrant call (from inside our own output()): processed after this call returns, so keep a copy.
    if (this.accept(this.pumping ? packet.slice() : packet)) this.pump();
  }

  /**
   * One IPv4 datagram from the link, handed over: the stack keeps the
   * reference (the caller must not reuse the bytes). Processed in a
   * microtask together with every other datagram delivered in the same
   * tick, so a link chunk of N frames costs one pump (one round of timers,
   * events and output, and one ACK for the run) instead of N.
   */
  deliver(packet: Uint8Array): void {
    if (this.accept(packet)) this.schedulePump();
  }

  /** Count a datagram from the link into the inbox; false (counted) after close(). */
  private accept(packet: Uint8Array): boolean {
    if (this.closed) {
      this.counters.rxAfterClose++;
      return false;
    }
    this.counters.rxPackets++;
    this.counters.rxBytes += packet.length;
    this.inbox.push(packet);
    return true;
  }

  /** The link drained its queue: send what we held back. */
  outputReady(): void {
    this.blocked = false;
    this.pump();
  }

  get address(): string | undefined {
    const a = this.ip.address;
    return a === undefined ? undefined : formatIp4(a);
  }

  /** Set when IPCP comes up; undefined when it goes down. */
  setAddress(local: string | undefined): void {
    const addr = local === undefined ? undefined : needIp(local, "setAddress");
    this.ip.setAddress(addr);
    // Listeners bind our address only, so masqueraded SYNs to the same port elsewhere reach the forwarder.
    this.tcpLayer.setLocalAddress(addr);
    this.schedulePump();
  }

  setMtu(mtu: number): void {
    this.ip.setMtu(mtu);
    this.tcpLayer.setMtu(this.ip.mtu);
    this.schedulePump();
  }

  get mtu(): number {
    return this.ip.mtu;
  }

  // ---- the pump: the only place cores are driven ------------------------------

  /**
   * User-initiated work (socket writes via NodeTcp's kick, sends, pings,
   * connect) is pumped in a microtask, never inside the user's call: events
   * are never emitted synchronously from connect()/send() (a synchronous link
   * could otherwise emit 'connect' before connect() returned), and a burst of
   * writes in one tick costs one pump. Link input and timers pump at once.
   */
  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        const now = this.clock.now();
        for (let p = this.inbox.shift(); p; p = this.inbox.shift()) this.ip.handleInput(p, now);
        if (this.timeoutDue) {
          this.timeoutDue = false;
          this.ip.handleTimeout(now);
        }
        this.dispatch();
        this.tcp.onCoreEvents();
        this.flush();
      } while (this.again || this.inbox.length > 0);
    } finally {
      this.pumping = false;
    }
    this.arm();
  }

  /** Surface UDP / ICMP core events to sockets, forwarders and ping promises. */
  private dispatch(): void {
    const udp = this.ip.udp;
    for (let port = udp.pollReadable(); port !== undefined; port = udp.pollReadable()) {
      const s = this.udpSockets.get(port);
      for (let d = udp.recv(port); d; d = udp.recv(port)) s?.deliver(d);
    }
    for (let d = udp.pollForward(); d; d = udp.pollForward()) {
      this.udpForwarder?.({
        src: formatIp4(d.src),
        srcPort: d.srcPort,
        dst: formatIp4(d.dst),
        dstPort: d.dstPort,
        payload: Buffer.from(d.payload.buffer, d.payload.byteOffset, d.payload.byteLength),
      });
    }
    const icmp = this.ip.icmp;
    for (let e = icmp.pollForward(); e; e = icmp.pollForward()) {
      this.echoForwarder?.({
        src: formatIp4(e.src),
        dst: formatIp4(e.dst),
        id: e.ident,
        seq: e.seq,
        payload: Buffer.from(e.payload.buffer, e.payload.byteOffset, e.payload.byteLength),
        ttl: e.ttl,
      });
    }
    for (let e = icmp.pollPingEvent(); e; e = icmp.pollPingEvent()) this.pings.onEvent(e);
  }

  private flush(): void {
    for (;;) {
      if (this.blocked || !this.output) {
        this.flushBlocked();
        return;
      }
      const t = this.txQueue.shift() ?? this.ip.pollTransmit(this.clock.now());
      if (!t) return;
      this.counters.txPackets++;
      this.counters.txBytes += t.packet.length;
      if (!this.output(t.packet, t.interactive)) {
        this.blocked = true;
        this.counters.txBlocked++;
      }
    }
  }

  /**
   * The link pushes back (or is not set yet). TCP keeps its segments: the IP
   * layer is polled with `holdTcp`, so no new segment is cut and
   * its data waits in the socket send buffers (like Linux TCP small queues)
   * instead of a deep queue. ICMP and DNS (UDP port 53) are not held while
   * a link is attached: they go to `output` at once (the link ranks them
   * ahead of bulk). Other datagrams (UDP, fragments) wait here up to
   * `maxTxQueue`; their cores keep the rest.
   */
  private flushBlocked(): void {
    while (this.txQueue.length < this.maxTxQueue) {
      const t = this.ip.pollTransmit(this.clock.now(), { holdTcp: true });
      if (!t) break;
      if (this.output && passesBackpressure(t.packet)) {
        this.counters.txPackets++;
        this.counters.txBytes += t.packet.length;
        this.counters.txPassed++;
        this.output(t.packet, t.interactive);
      } else this.txQueue.push(t);
    }
  }

  /**
   * Re-arm the one timer from the cores' earliest deadline. Lazy: a timer
   * already set to fire at or before the new deadline is kept (when it fires
   * early, the cores do nothing and we re-arm), so the per-segment RTO
   * restarts of a bulk transfer do not churn Node's timer list.
   */
  private arm(): void {
    if (this.closed) return;
    const t = this.ip.pollTimeout();
    if (t === undefined) return; // a pending timer firing needlessly is harmless
    if (this.timer && this.timerAt !== undefined && this.timerAt <= t) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = t;
    const delay = Math.max(0, Math.ceil(t - this.clock.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.counters.timerFires++;
      this.timeoutDue = true;
      this.pump();
    }, delay);
  }

  /** Run due timers now (for a ManualClock: advance the clock, then tick()). */
  tick(): void {
    this.timeoutDue = true;
    this.pump();
  }

  /** The earliest core deadline (for drivers on a ManualClock). */
  pollTimeout(): Millis | undefined {
    return this.ip.pollTimeout();
  }

  // ---- sockets ----------------------------------------------------------------

  connect(opts: { host: string; port: number; timeoutMs?: number }): TcpSocket {
    const host = needIp(opts.host, "connect host");
    const localAddress = this.ip.address;
    if (localAddress === undefined) {
      // The link is down (no IPCP address): fail like net.connect does, asynchronously.
      const s = new TcpSocketClass(this.tcp, undefined, { connecting: true, emitConnect: true });
      process.nextTick(() => s.destroy(tcpError("ENETUNREACH", "connect", opts.host, opts.port)));
      return s;
    }
    const s = this.tcp.connect({ localAddress, host, port: opts.port, timeoutMs: opts.timeoutMs });
    this.schedulePump();
    return s;
  }

  /** Listen on `port` (0 = ephemeral) on any of our addresses (with the TCP forwarder on, a listener also catches that port on masqueraded addresses). */
  listen(port: number, opts?: { backlog?: number }): TcpServer {
    const srv = this.tcp.listen(undefined, port, opts);
    this.schedulePump();
    return srv;
  }

  udpSocket(opts?: { port?: number }): UdpSocket {
    const port = this.ip.udp.bind(opts?.port ?? 0);
    const s = new UdpSocket(this.udpHost, port);
    this.udpSockets.set(port, s);
    return s;
  }

  ping(host: string, opts: PingOptions = {}): Promise<PingReply> {
    const dst = parseIp4(host);
    if (dst === undefined) return Promise.reject(new PingError("EINVAL", `ping: "${host}" is not an IPv4 address`));
    const src = this.ip.address;
    if (src === undefined) return Promise.reject(new PingError("ENETUNREACH", "ping: the link has no address (IPCP is not up)"));
    const seq = (opts.seq ?? ++this.pingSeq) & 0xffff;
    const ident = (opts.id ?? this.pingIdent) & 0xffff;
    let token: number;
    try {
      token = this.ip.icmp.startPing(src, dst, ident, seq, pingPattern(opts.size ?? DEFAULT_PING_SIZE), this.clock.now(), opts.timeoutMs ?? DEFAULT_PING_TIMEOUT_MS, opts.ttl);
    } catch (e) {
      return Promise.reject(new PingError("EBUSY", (e as Error).message, seq));
    }
    const p = this.pings.add(token, host);
    this.schedulePump();
    return p;
  }

  // ---- masquerade hooks ---------------------------------------------------------

  setTcpForwarder(fn: ((req: TcpForwardRequest) => void) | undefined, opts?: { maxInFlight?: number }): void {
    this.tcp.setForwarder(fn, opts);
    this.ip.tcpAnyAddress = fn !== undefined;
  }

  setUdpForwarder(fn: ((d: UdpForwardDatagram) => void) | undefined): void {
    this.udpForwarder = fn;
    this.ip.udp.forwarding = fn !== undefined;
  }

  sendUdp(from: { address: string; port: number }, to: { address: string; port: number }, payload: Uint8Array): void {
    this.ip.udp.send(needIp(from.address, "sendUdp from"), from.port, needIp(to.address, "sendUdp to"), to.port, payload);
    this.schedulePump();
  }

  setIcmpEchoForwarder(fn: ((e: IcmpEchoForward) => void) | undefined): void {
    this.echoForwarder = fn;
    this.ip.icmp.forwardEcho = fn !== undefined;
  }

  sendIcmpEchoReply(from: string, to: string, id: number, seq: number, payload: Uint8Array): void {
    this.ip.icmp.send({ kind: "echo-reply", ident: id & 0xffff, seq: seq & 0xffff, data: payload }, needIp(from, "sendIcmpEchoReply from"), needIp(to, "sendIcmpEchoReply to"));
    this.schedulePump();
  }

  /** Destination Unreachable `code` about `original` (the offending IPv4 datagram), sent from `from` (rate limited). */
  sendIcmpUnreachable(from: string, code: number, original: Uint8Array): void {
    this.ip.sendIcmpUnreachable(needIp(from, "sendIcmpUnreachable from"), code, original, this.clock.now());
    this.schedulePump();
  }

  // ---- the rest ---------------------------------------------------------------------

  stats(): Record<string, number> {
    const s: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.counters)) s[`stack.${k}`] = v;
    s["stack.txQueue"] = this.txQueue.length;
    Object.assign(s, this.ip.stats());
    for (const [k, v] of Object.entries(this.tcpLayer.stats())) s[k.startsWith("tcp.") ? k : `tcp.${k}`] = v;
    return s;
  }

  /** Tear down: TCP sockets are destroyed without an error (RST to the peer, flushed if the link still takes it; locally just 'close', so sockets without an 'error' listener cannot crash the app), UDP sockets closed, pings rejected with ECANCELED, the timer stopped. */
  close(): void {
    if (this.closed) return;
    for (const c of [...this.tcpLayer.connections()]) {
      const user = c.user as { destroy?: () => void } | undefined;
      if (user?.destroy) user.destroy();
      else c.abort(this.clock.now());
    }
    this.pump();
    for (const s of [...this.udpSockets.values()]) s.close();
    this.pings.rejectAll("ECANCELED", "the stack was closed");
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.txQueue.length = 0;
    this.inbox.length = 0;
    this.emit("close");
  }
}
