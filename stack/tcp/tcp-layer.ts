/**
 * The sans-I/O TCP core for all connections of one stack (RFC 9293): it
 * implements `TransportCore` (stack/ip/transport.ts), demultiplexes segments
 * to connections, listeners (with a backlog and a SYN-queue cap) and the
 * masquerade forwarder (gVisor's Forwarder pattern: one request per 4-tuple,
 * capped in flight), answers strays with RST, and queues what to send. Users
 * (stack/node/tcp-node.ts, or tests) drain `pollEvent()`; the IP layer
 * drains `pollTransmit()` and `pollIcmpReject()`.
 *
 * Time comes only as `now` arguments; randomness (ISS secret, ephemeral
 * ports, timestamp offsets) only from the injected Rng.
 */
import type { TransportCore, TransportDatagram, TransportIcmpError, TransportVerdict } from "../ip/transport.js";
import type { Ip4 } from "../util/addr.js";
import type { Rng } from "../util/rng.js";
import type { Millis } from "../util/time.js";
import { ACK, FIN, RST, SYN, emitTcp, parseTcp, type TcpRepr } from "../wire/tcp.js";
import { defaultTcpLimits, type TcpLimits } from "./config.js";
import { Cubic } from "./congestion/cubic.js";
import { Reno } from "./congestion/reno.js";
import type { CongestionControl } from "./congestion/types.js";
import { TcpConnection, type ConnHost, type TcpErrorCode } from "./connection.js";
import { IssGenerator } from "./iss.js";
import { seqAdd, seqGt, seqLt } from "./seq.js";
import { Slab } from "../util/slab.js";

export interface TcpLayerOptions {
  rng: Rng;
  /** Link MTU; our MSS option is mtu − 40. */
  mtu: number;
  limits?: Partial<TcpLimits>;
  congestion?: "reno" | "cubic";
}

/** A passive-open endpoint. `address` undefined = any local address. */
export class TcpListener {
  /** SYN-RECEIVED connections it spawned (the SYN queue). */
  halfOpen = 0;
  /** Established connections not yet taken by the user (the accept queue). */
  pendingAccept = 0;
  closed = false;
  constructor(
    readonly address: Ip4 | undefined,
    readonly port: number,
    readonly backlog: number,
  ) {}
}

export type TcpRejectHow =
  | "rst" | "icmp-net-unreachable" | "icmp-host-unreachable" | "icmp-port-unreachable" | "icmp-admin-prohibited" | "silent";

/** A SYN for which nobody listens, held while the forwarder decides. */
export interface TcpForwardPending {
  readonly src: Ip4;
  readonly srcPort: number;
  readonly dst: Ip4;
  readonly dstPort: number;
  readonly syn: TcpRepr;
  /** A copy of the SYN segment (for ICMP quoting). */
  readonly segment: Uint8Array;
  readonly createdAt: Millis;
  settled: boolean;
  /** Expired unanswered (see TcpLimits.forwardTimeout); still acceptable. */
  expired?: boolean;
}

/**
 * An ICMP destination-unreachable the IP layer should send for a rejected
 * SYN: from `dst` (the address the SYN was for) to `src`, quoting an IPv4
 * header src → dst (protocol 6) followed by the first bytes of `segment`.
 */
export interface TcpIcmpReject {
  how: TcpRejectHow;
  /** ICMP type 3 code (RFC 792 / RFC 1812 §5.2.7.1): 0 net, 1 host, 3 port, 13 admin-prohibited. */
  code: number;
  src: Ip4;
  dst: Ip4;
  segment: Uint8Array;
}

export type TcpEvent =
  | { type: "conn"; conn: TcpConnection; flags: number }
  | { type: "accept"; listener: TcpListener; conn: TcpConnection }
  | { type: "forward"; request: TcpForwardPending };

type QueuedEvent =
  | { type: "conn"; conn: TcpConnection }
  | { type: "accept"; listener: TcpListener; conn: TcpConnection }
  | { type: "forward"; request: TcpForwardPending };

const ICMP_CODES: Record<string, number> = {
  "icmp-net-unreachable": 0,
  "icmp-host-unreachable": 1,
  "icmp-port-unreachable": 3,
  "icmp-admin-prohibited": 13,
};

/** RFC 6335 §6: the dynamic port range. */
const EPHEMERAL_LO = 49152;
const EPHEMERAL_HI = 65535;
/** Smallest per-direction buffer when the global cap is tight. */
const MIN_BUFFER = 16 * 1024;

function key(localIp: Ip4, localPort: number, remoteIp: Ip4, remotePort: number): string {
  return `${localIp}:${localPort}:${remoteIp}:${remotePort}`;
}

export class TcpLayer implements TransportCore, ConnHost {
  readonly limits: TcpLimits;
  private mtu: number;
  private readonly rng: Rng;
  private readonly issGen: IssGenerator;
  private readonly ccName: "reno" | "cubic";

  private readonly conns = new Map<string, TcpConnection>();
  /** lookup()'s cache: the connection found last; cleared when it is released. */
  private lastConn: TcpConnection | undefined;
  private readonly connKeys = new Map<TcpConnection, string>();
  private readonly listeners = new Map<string, TcpListener>();
  private readonly halfOpen = new Set<TcpConnection>();
  private readonly forwards = new Map<string, TcpForwardPending>();
  private forwarding = false;
  /** Our own address, when known: wildcard listeners then ignore masqueraded destinations. */
  private localAddress: Ip4 | undefined;
  private maxInFlight = 128;

  private out: (TransportDatagram | undefined)[] = [];
  /** Outgoing segments are carved from here (packetBuffer). */
  private readonly slab = new Slab();
  private outHead = 0;
  private readonly dirty = new Set<TcpConnection>();
  private events: (QueuedEvent | undefined)[] = [];
  private evHead = 0;
  private readonly evFlags = new Map<TcpConnection, number>();
  private readonly rejects: TcpIcmpReject[] = [];
  private readonly counters: Record<string, number> = Object.create(null);
  private reserved = 0;
  private lastNow: Millis = 0;
  private challengeWindow = -1;
  private challengeCount = 0;
  /** Called (synchronously) when the first event is queued after a drain; lets an adapter schedule a drain. */
  onEventsPending: (() => void) | undefined;

  constructor(opts: TcpLayerOptions) {
    this.rng = opts.rng;
    this.mtu = opts.mtu;
    this.limits = { ...defaultTcpLimits, ...opts.limits };
    this.issGen = new IssGenerator(opts.rng);
    this.ccName = opts.congestion ?? "reno";
  }

  // ============================================================ TransportCore

  input(src: Ip4, dst: Ip4, payload: Uint8Array, now: Millis): TransportVerdict {
    this.tick(now);
    const parsed = parseTcp(payload, src, dst);
    if (!parsed.repr) {
      this.count(`tcp.drop.${parsed.reason}`);
      return "drop";
    }
    const seg = parsed.repr;
    this.count("tcp.segments-received");
    if (seg.srcPort === 0 || seg.dstPort === 0) {
      this.count("tcp.drop.port-zero");
      return "drop";
    }
    const conn = this.lookup(dst, seg.dstPort, src, seg.srcPort);
    if (conn) {
      // RFC 9293 §3.10.7.4 / RFC 6191: a new SYN may reopen a TIME-WAIT pair
      if (conn.state === "TimeWait" && seg.flags & SYN && !(seg.flags & (ACK | RST)) && seqGt(seg.seq, conn.rcvNxt)) {
        this.count("tcp.timewait-reuse");
        conn.release(now);
      } else {
        conn.input(seg, now);
        this.wake(conn);
        return "ok";
      }
    }
    if ((seg.flags & (SYN | ACK | RST)) === SYN) return this.onSyn(src, dst, seg, payload, now);
    this.count("tcp.no-connection");
    this.sendResetFor(src, dst, seg);
    return "ok";
  }

  /**
   * The connection for a segment's 4-tuple. Segments come in runs for one
   * connection, so the last one found is checked first, which skips
   * building the string key (a measurable share of a bulk transfer).
   */
  private lookup(localIp: Ip4, localPort: number, remoteIp: Ip4, remotePort: number): TcpConnection | undefined {
    const last = this.lastConn;
    if (last !== undefined && last.localPort === localPort && last.remotePort === remotePort && last.localIp === localIp && last.remoteIp === remoteIp) {
      return last;
    }
    const conn = this.conns.get(key(localIp, localPort, remoteIp, remotePort));
    if (conn !== undefined) this.lastConn = conn;
    return conn;
  }

  icmpError(err: TransportIcmpError, now: Millis): void {
    this.tick(now);
    const q = err.quoted;
    if (q.length < 8) {
      this.count("tcp.icmp.drop.short-quote");
      return;
    }
    const sport = (q[0] << 8) | q[1];
    const dport = (q[2] << 8) | q[3];
    const seq = ((q[4] << 24) | (q[5] << 16) | (q[6] << 8) | q[7]) >>> 0;
    const conn = this.conns.get(key(err.src, sport, err.dst, dport));
    if (!conn) {
      this.count("tcp.icmp.drop.no-connection");
      return;
    }
    // RFC 5927 §4.1: the quoted sequence number must be in flight
    if (seqLt(seq, conn.sndUna) || seqGt(seq, conn.sndMax)) {
      this.count("tcp.icmp.drop.bad-seq");
      return;
    }
    this.count(`tcp.icmp.${err.kind}`);
    if (err.kind === "frag-needed") {
      if (err.mtu && err.mtu >= 68) conn.pmtuDecreased(Math.min(err.mtu, this.mtu), now);
      this.wake(conn);
      return;
    }
    if (err.kind !== "unreachable") return; // time-exceeded: soft (RFC 1122 §4.2.3.9)
    if (conn.state !== "SynSent" && conn.state !== "SynReceived") return; // soft in synchronized states
    let code: TcpErrorCode = "EHOSTUNREACH";
    if (err.code === 0 || err.code === 6 || err.code === 11) code = "ENETUNREACH";
    else if (err.code === 2 || err.code === 3) code = "ECONNREFUSED";
    conn.icmpAbort(code, now);
  }

  pollTransmit(): TransportDatagram | undefined {
    while (this.outHead >= this.out.length && this.dirty.size > 0) {
      this.out.length = 0;
      this.outHead = 0;
      const c = this.dirty.values().next().value as TcpConnection;
      this.dirty.delete(c);
      c.dispatch(this.lastNow);
    }
    if (this.outHead >= this.out.length) return undefined;
    const d = this.out[this.outHead];
    this.out[this.outHead++] = undefined;
    if (this.outHead === this.out.length) {
      this.out.length = 0;
      this.outHead = 0;
    }
    return d;
  }

  handleTimeout(now: Millis): void {
    this.tick(now);
    for (const c of this.connKeys.keys()) {
      const d = c.deadline();
      if (d !== undefined && d <= now) {
        c.onTimeout(now);
        this.wake(c);
      }
    }
    for (const [k, f] of this.forwards) {
      if (now - f.createdAt >= this.limits.forwardTimeout) {
        this.forwards.delete(k);
        f.settled = true;
        f.expired = true;
        this.count("tcp.forward.expired");
      }
    }
  }

  pollTimeout(): Millis | undefined {
    let d: Millis | undefined;
    for (const c of this.connKeys.keys()) {
      const t = c.deadline();
      if (t !== undefined && (d === undefined || t < d)) d = t;
    }
    for (const f of this.forwards.values()) {
      const t = f.createdAt + this.limits.forwardTimeout;
      if (d === undefined || t < d) d = t;
    }
    if (this.dirty.size > 0 && (d === undefined || this.lastNow < d)) d = this.lastNow;
    return d;
  }

  // ============================================================ user side

  /** Active open from `localAddress` to host:port; the SYN goes out on the next pollTransmit. */
  connect(opts: { localAddress: Ip4; host: Ip4; port: number; localPort?: number; timeoutMs?: number }, now: Millis): TcpConnection {
    this.tick(now);
    if (this.conns.size >= this.limits.maxConnections) throw Object.assign(new Error("too many TCP connections"), { code: "EMFILE" });
    const lport = opts.localPort ?? this.ephemeralPort(opts.localAddress, opts.host, opts.port);
    const conn = this.newConnection(opts.localAddress, lport, opts.host, opts.port, now);
    conn.openActive(now, opts.timeoutMs);
    return conn;
  }

  /** Start listening; port 0 picks an ephemeral port. */
  listen(address: Ip4 | undefined, port: number, backlog = 511): TcpListener {
    if (port === 0) {
      const start = EPHEMERAL_LO + (this.rng.u32() % (EPHEMERAL_HI - EPHEMERAL_LO + 1));
      for (let i = 0; i <= EPHEMERAL_HI - EPHEMERAL_LO; i++) {
        const p = EPHEMERAL_LO + ((start - EPHEMERAL_LO + i) % (EPHEMERAL_HI - EPHEMERAL_LO + 1));
        if (!this.listeners.has(`${address ?? "*"}:${p}`)) {
          port = p;
          break;
        }
      }
    }
    const k = `${address ?? "*"}:${port}`;
    if (this.listeners.has(k)) throw Object.assign(new Error(`TCP port ${port} already in use`), { code: "EADDRINUSE" });
    const l = new TcpListener(address, port, Math.max(1, backlog));
    this.listeners.set(k, l);
    return l;
  }

  /** Stop listening. Established-but-unaccepted connections are left to their users. */
  unlisten(l: TcpListener): void {
    l.closed = true;
    this.listeners.delete(`${l.address ?? "*"}:${l.port}`);
  }

  /**
   * Tell the layer which address is ours. With the forwarder on, a listener
   * bound to every address (undefined) then only takes SYNs for this address;
   * SYNs for other (masqueraded) destinations go to the forwarder.
   */
  setLocalAddress(address: Ip4 | undefined): void {
    this.localAddress = address;
  }

  /** Turn the forwarder on (SYNs nobody listens for become `forward` events) or off. */
  setForwarding(enabled: boolean, maxInFlight?: number): void {
    this.forwarding = enabled;
    if (maxInFlight !== undefined) this.maxInFlight = Math.max(1, maxInFlight);
    if (!enabled) this.forwards.clear();
  }

  /** Accept a forwarded SYN: SYN-ACK now; returns the connection (SYN-RECEIVED). */
  acceptForward(f: TcpForwardPending, now: Millis): TcpConnection {
    this.tick(now);
    const k = key(f.dst, f.dstPort, f.src, f.srcPort);
    // an expired request may still be accepted, unless the tuple has moved on meanwhile
    if (f.settled && (!f.expired || this.conns.has(k))) {
      throw Object.assign(new Error("forward request already settled"), { code: "ECONNABORTED" });
    }
    f.settled = true;
    if (this.forwards.get(k) === f) this.forwards.delete(k);
    const conn = this.newConnection(f.dst, f.dstPort, f.src, f.srcPort, now);
    conn.openPassive(f.syn, now);
    this.halfOpen.add(conn);
    this.count("tcp.forward.accepted");
    return conn;
  }

  /** Refuse a forwarded SYN with a RST, an ICMP unreachable (see pollIcmpReject), or silence. */
  rejectForward(f: TcpForwardPending, how: TcpRejectHow, now: Millis): void {
    this.tick(now);
    if (f.settled) return;
    f.settled = true;
    const k = key(f.dst, f.dstPort, f.src, f.srcPort);
    if (this.forwards.get(k) === f) this.forwards.delete(k);
    this.count(`tcp.forward.reject-${how}`);
    if (how === "rst") this.sendResetFor(f.src, f.dst, f.syn);
    else if (how !== "silent") {
      this.rejects.push({ how, code: ICMP_CODES[how], src: f.src, dst: f.dst, segment: f.segment });
    }
  }

  /** Tear everything down (stack closing): every connection gets a RST, listeners and pending forwards go. */
  abortAll(now: Millis): void {
    this.tick(now);
    for (const c of [...this.connKeys.keys()]) {
      c.error ??= "ECONNRESET";
      c.abort(now);
    }
    for (const l of this.listeners.values()) l.closed = true;
    this.listeners.clear();
    for (const f of this.forwards.values()) f.settled = true;
    this.forwards.clear();
  }

  /** The next ICMP rejection for the IP layer to send. */
  pollIcmpReject(): TcpIcmpReject | undefined {
    return this.rejects.shift();
  }

  /** The next event for the user side. */
  pollEvent(): TcpEvent | undefined {
    while (this.evHead < this.events.length) {
      const e = this.events[this.evHead]!;
      this.events[this.evHead++] = undefined;
      if (this.evHead === this.events.length) {
        this.events.length = 0;
        this.evHead = 0;
      }
      if (e.type === "conn") {
        const flags = this.evFlags.get(e.conn) ?? 0;
        this.evFlags.delete(e.conn);
        if (flags) return { type: "conn", conn: e.conn, flags };
        continue;
      }
      if (e.type === "accept") e.listener.pendingAccept--;
      return e;
    }
    return undefined;
  }

  setMtu(mtu: number): void {
    this.mtu = mtu;
    for (const c of this.connKeys.keys()) {
      c.setMtu(mtu);
      this.wake(c);
    }
  }

  stats(): Record<string, number> {
    return {
      ...this.counters,
      "tcp.connections": this.conns.size,
      "tcp.listeners": this.listeners.size,
      "tcp.half-open": this.halfOpen.size,
      "tcp.forward.pending": this.forwards.size,
      "tcp.buffer-reserved": this.reserved,
    };
  }

  /** Connections currently known (tests, diagnostics). */
  connections(): IterableIterator<TcpConnection> {
    return this.connKeys.keys();
  }

  // ============================================================ ConnHost

  transmit(d: TransportDatagram): void {
    this.out.push(d);
  }

  packetBuffer(n: number): Uint8Array {
    return this.slab.take(n);
  }

  notify(conn: TcpConnection, flags: number): void {
    const prev = this.evFlags.get(conn);
    if (prev === undefined) {
      this.evFlags.set(conn, flags);
      this.pushEvent({ type: "conn", conn });
    } else this.evFlags.set(conn, prev | flags);
  }

  wake(conn: TcpConnection): void {
    this.dirty.add(conn);
  }

  count(what: string, n = 1): void {
    this.counters[what] = (this.counters[what] ?? 0) + n;
  }

  allowChallengeAck(now: Millis): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.challengeWindow) {
      this.challengeWindow = second;
      this.challengeCount = 0;
    }
    return this.challengeCount++ < this.limits.challengeAcksPerSecond;
  }

  established(conn: TcpConnection): void {
    if (!this.halfOpen.delete(conn)) return;
    const l = conn.listener as TcpListener | undefined;
    if (l) {
      l.halfOpen--;
      if (!l.closed) {
        l.pendingAccept++;
        this.pushEvent({ type: "accept", listener: l, conn });
      }
    }
  }

  released(conn: TcpConnection): void {
    if (this.lastConn === conn) this.lastConn = undefined;
    const k = this.connKeys.get(conn);
    if (k === undefined) return;
    this.connKeys.delete(conn);
    if (this.conns.get(k) === conn) this.conns.delete(k);
    if (this.halfOpen.delete(conn)) {
      const l = conn.listener as TcpListener | undefined;
      if (l) l.halfOpen--;
    }
    this.reserved -= conn.sndBuf.capacity + conn.rcvBuf.capacity;
    this.dirty.delete(conn);
    this.count("tcp.connections-closed");
  }

  newCongestion(mss: number): CongestionControl {
    return this.ccName === "cubic" ? new Cubic(mss) : new Reno(mss);
  }

  // ============================================================ internals

  private tick(now: Millis): void {
    if (now > this.lastNow) this.lastNow = now;
  }

  private pushEvent(e: QueuedEvent): void {
    const wasEmpty = this.evHead >= this.events.length;
    this.events.push(e);
    if (wasEmpty) this.onEventsPending?.();
  }

  private newConnection(localIp: Ip4, localPort: number, remoteIp: Ip4, remotePort: number, now: Millis): TcpConnection {
    const L = this.limits;
    let snd = L.sendBuffer;
    let rcv = L.recvBuffer;
    if (this.reserved + snd + rcv > L.globalBufferCap) {
      this.count("tcp.buffer-cap-reduced");
      snd = Math.min(snd, MIN_BUFFER);
      rcv = Math.min(rcv, MIN_BUFFER);
    }
    const conn = new TcpConnection(this, {
      localIp,
      localPort,
      remoteIp,
      remotePort,
      iss: this.issGen.iss(localIp, localPort, remoteIp, remotePort, now),
      mtu: this.mtu,
      sendBuffer: snd,
      recvBuffer: rcv,
      tsOffset: this.rng.u32(),
    });
    this.reserved += snd + rcv;
    const k = key(localIp, localPort, remoteIp, remotePort);
    this.conns.set(k, conn);
    this.connKeys.set(conn, k);
    this.count("tcp.connections-opened");
    return conn;
  }

  private ephemeralPort(localIp: Ip4, remoteIp: Ip4, remotePort: number): number {
    const span = EPHEMERAL_HI - EPHEMERAL_LO + 1;
    const start = this.rng.u32() % span;
    for (let i = 0; i < span; i++) {
      const p = EPHEMERAL_LO + ((start + i) % span);
      if (!this.conns.has(key(localIp, p, remoteIp, remotePort))) return p;
    }
    throw Object.assign(new Error("no free ephemeral TCP port"), { code: "EADDRNOTAVAIL" });
  }

  private onSyn(src: Ip4, dst: Ip4, seg: TcpRepr, raw: Uint8Array, now: Millis): TransportVerdict {
    const wildcardOk = !this.forwarding || this.localAddress === undefined || dst === this.localAddress;
    const l = this.listeners.get(`${dst}:${seg.dstPort}`) ?? (wildcardOk ? this.listeners.get(`*:${seg.dstPort}`) : undefined);
    if (l) {
      if (l.pendingAccept >= l.backlog) {
        this.count("tcp.drop.listen-overflow");
        return "ok";
      }
      if (l.halfOpen >= this.limits.maxHalfOpenPerListener || this.halfOpen.size >= this.limits.maxHalfOpen) {
        this.count("tcp.drop.syn-queue-full");
        return "ok";
      }
      if (this.conns.size >= this.limits.maxConnections) {
        this.count("tcp.drop.too-many-connections");
        return "ok";
      }
      const conn = this.newConnection(dst, seg.dstPort, src, seg.srcPort, now);
      conn.listener = l;
      l.halfOpen++;
      this.halfOpen.add(conn);
      conn.openPassive(seg, now);
      this.count("tcp.passive-open");
      return "ok";
    }
    if (this.forwarding) {
      const k = key(dst, seg.dstPort, src, seg.srcPort);
      if (this.forwards.has(k)) {
        this.count("tcp.forward.syn-absorbed");
        return "ok";
      }
      if (this.forwards.size >= this.maxInFlight) {
        this.count("tcp.forward.drop-in-flight");
        return "ok";
      }
      const f: TcpForwardPending = {
        src,
        srcPort: seg.srcPort,
        dst,
        dstPort: seg.dstPort,
        syn: { ...seg, payload: new Uint8Array(0) },
        segment: raw.slice(0, Math.min(raw.length, 60)),
        createdAt: now,
        settled: false,
      };
      this.forwards.set(k, f);
      this.count("tcp.forward.request");
      this.pushEvent({ type: "forward", request: f });
      return "ok";
    }
    this.count("tcp.syn-no-listener");
    this.sendResetFor(src, dst, seg);
    return "ok";
  }

  /** RFC 9293 §3.10.7.1: the reset for a segment that matches no connection. */
  private sendResetFor(src: Ip4, dst: Ip4, seg: TcpRepr): void {
    if (seg.flags & RST) return;
    let r: TcpRepr;
    if (seg.flags & ACK) {
      r = { srcPort: seg.dstPort, dstPort: seg.srcPort, seq: seg.ack, ack: 0, flags: RST, window: 0, urgent: 0, payload: new Uint8Array(0) };
    } else {
      const len = seg.payload.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0);
      r = {
        srcPort: seg.dstPort,
        dstPort: seg.srcPort,
        seq: 0,
        ack: seqAdd(seg.seq, len),
        flags: RST | ACK,
        window: 0,
        urgent: 0,
        payload: new Uint8Array(0),
      };
    }
    this.count("tcp.rst-sent");
    this.out.push({ src: dst, dst: src, payload: emitTcp(r, dst, src), interactive: true });
  }
}
