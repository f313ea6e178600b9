/**
 * `PppSession`: the whole PPP engine for one link, calling or answering,
 * sans-I/O. Raw line bytes in (`handleInput`), raw framed bytes out
 * (`pollTransmit`), events out (`pollEvent`: pppd-worded logs, phase changes,
 * ip-up/ip-down, IP datagrams, dead), one deadline (`pollTimeout`).
 *
 * It owns the HDLC framing, the DCC handshake, LCP, the authentication
 * machines of both directions, IPCP, VJ header compression (vj.ts) and CCP
 * with Deflate (compress/: IP -> VJ -> Deflate on transmit, the reverse on
 * receive, in ppp_generic.c's order), and gates protocols by RFC 1661 §3
 * phase as pppd's main.c does: only LCP before Authenticate, LCP and
 * authentication in Authenticate, NCPs in Network; protocols we do not run
 * are Protocol-Rejected in Network phase.
 *
 * Transmit path: control frames (LCP, authentication, IPCP, CCP, DCC) are
 * framed at once and always leave first. IP datagrams from `sendIp()` wait
 * uncompressed in the scheduler (tx-queue.ts: a priority band for small
 * interactive packets, DRR between bulk flows); VJ, Deflate and HDLC framing
 * run only when the driver pulls (`pollTransmit()`), so the compressors'
 * stream state follows the order on the wire. At or above the queue's high
 * water `txQueueFull` is true; a `tx-writable` event follows once it drains
 * below low water.
 */
import type { Millis } from "../../stack/util/time.js";
import { earliest } from "../../stack/util/time.js";
import type { Rng } from "../../stack/util/rng.js";
import { formatIp4, type Ip4 } from "../../stack/util/addr.js";
import type { SessionConfig } from "./session-config.js";
import type {
  AuthDescriber, AuthMachine, AuthenticatorOptions, AuthPeerOptions,
} from "./auth/auth-machine.js";
import { createAuthenticator, createAuthPeer, describeAuthPacket, peerSecretFor } from "./auth/index.js";
import { HdlcDecoder, HdlcEncoder, DEFAULT_ACCM, type HdlcCounters, type HdlcFrame } from "./hdlc.js";
import { Lcp, authMethodOf, DEFAULT_MRU } from "./lcp.js";
import { Ipcp } from "./ipcp.js";
import { addressAllowed } from "./addr-policy.js";
import { DccAnswerer, DccCaller } from "./dcc.js";
import { PROTO_VJC_COMP, PROTO_VJC_UNCOMP, VjCompressor, VjDecompressor } from "./vj.js";
import { Ccp } from "./compress/ccp.js";
import { PPP_COMP } from "./compress/deflate.js";
import { debugLine } from "./printer.js";
import { PPP_CCP, PPP_CHAP, PPP_IP, PPP_IPCP, PPP_LCP, PPP_PAP, PROTOCOL_LONG_NAMES } from "./protocol-numbers.js";
import { hx } from "./options.js";
import { TxQueue, type TxQueueOptions, type TxQueueStats } from "./tx-queue.js";

export type Phase = "dead" | "establish" | "authenticate" | "network" | "terminate";

export type SessionEvent =
  | { type: "log"; level: "info" | "debug" | "warn" | "error"; text: string }
  | { type: "phase"; phase: Phase }
  | { type: "ip-up"; local: Ip4; remote: Ip4; dns: Ip4[]; mtu: number; peerName?: string }
  | { type: "ip-down" }
  | { type: "ip-packet"; packet: Uint8Array }
  /** The IP transmit queue, having refused (sendIp false), drained below its low water: send again. */
  | { type: "tx-writable" }
  | { type: "dead"; reason: string };

export interface SessionDeps {
  rng: Rng;
  /** Factories for the authentication machines; default: src/ppp/auth. */
  authenticator?: (o: AuthenticatorOptions) => AuthMachine;
  authPeer?: (o: AuthPeerOptions) => AuthMachine;
  /** Debug printer for PAP/CHAP packets (secrets as <hidden>); default: src/ppp/auth. */
  describeAuth?: AuthDescriber;
  /** The IP transmit scheduler's bounds and band settings (tx-queue.ts); quantum defaults to the MTU. */
  txQueue?: TxQueueOptions;
}

export interface SessionStats {
  rxFrames: number;
  txFrames: number;
  rxBytes: number;
  txBytes: number;
  rxIpPackets: number;
  txIpPackets: number;
  /** Frames or packets dropped above the framing, by reason. */
  drops: Record<string, number>;
  /** Framing-level counters (bad FCS, aborts, oversize, ...). */
  hdlc: HdlcCounters;
  /** The IP transmit scheduler's counters. */
  txQueue: TxQueueStats;
}

type Level = "info" | "debug" | "warn" | "error";

export class PppSession {
  private _phase: Phase = "dead";
  private readonly encoder: HdlcEncoder;
  private decoder: HdlcDecoder;
  readonly lcp: Lcp;
  readonly ipcp: Ipcp;
  /** VJ from IPCP up to IPCP down: compress what the peer agreed to take (his), decompress what we asked for (got). */
  private vjTx: VjCompressor | undefined;
  private vjRx: VjDecompressor | undefined;
  /** CCP (RFC 1962) and its Deflate data path; inert under noccp (config.ccp absent or disabled). */
  readonly ccp: Ccp;
  /** Framing errors seen so far; a new one means a frame was lost: toss the VJ receiver (kernel slhc_toss). */
  private rxErrors = 0;
  private authenticator: AuthMachine | undefined;
  private authPeer: AuthMachine | undefined;
  private authenticatorDone = false;
  private authPeerDone = false;
  private peerName: string | undefined;
  private ipUp = false;
  private sawFrame = false;
  private dccAnswerer: DccAnswerer | undefined;
  private dccCaller: DccCaller | undefined;
  private deadReason = "";
  /** Inside LCP's This-Layer-Down: NCPs finishing now must not close LCP again. */
  private inLcpDown = false;
  /** Framed control frames (and DCC bytes), sent before any IP datagram. */
  private readonly tx: Uint8Array[] = [];
  /** IP datagrams waiting, uncompressed; compressed and framed in pollTransmit(). */
  private readonly ipq: TxQueue;
  private readonly quantumFixed: boolean;
  private readonly events: SessionEvent[] = [];
  private readonly makeAuthenticator: (o: AuthenticatorOptions) => AuthMachine;
  private readonly makeAuthPeer: (o: AuthPeerOptions) => AuthMachine;
  private readonly describeAuth: AuthDescriber;
  readonly stats: SessionStats;

  constructor(private readonly config: SessionConfig, private readonly deps: SessionDeps) {
    this.makeAuthenticator = deps.authenticator ?? createAuthenticator;
    this.makeAuthPeer = deps.authPeer ?? createAuthPeer;
    this.describeAuth = deps.describeAuth ?? describeAuthPacket;
    this.encoder = new HdlcEncoder(config.escape);
    this.decoder = new HdlcDecoder(config.mru);
    this.ipq = new TxQueue(deps.txQueue);
    this.quantumFixed = deps.txQueue?.quantum !== undefined;
    this.stats = {
      rxFrames: 0, txFrames: 0, rxBytes: 0, txBytes: 0, rxIpPackets: 0, txIpPackets: 0, drops: {},
      hdlc: this.decoder.counters, txQueue: this.ipq.stats,
    };
    this.lcp = new Lcp(config, deps.rng, {
      up: (now) => this.lcpUp(now),
      down: (now) => this.lcpDown(now),
      starting: () => {},
      finished: (now) => this.lcpFinished(now),
      log: (level, text) => this.log(level, text),
      protocolRejected: (proto, now) => this.protocolRejected(proto, now),
    });
    this.ccp = new Ccp({ ...(config.ccp ?? { enabled: false }), mru: config.mru }, {
      log: (level, text) => this.log(level, text),
    });
    this.ipcp = new Ipcp(config, {
      up: (now) => this.ipcpUp(now),
      down: () => this.ipcpDown(),
      // pppd np_finished: the last NCP finished while the link is up, so close it.
      finished: (now) => {
        if (!this.inLcpDown && this.lcp.fsm.state === "Opened") this.lcpClose("No network protocols running", now);
      },
      log: (level, text) => this.log(level, text),
    });
  }

  get phase(): Phase {
    return this._phase;
  }

  // --- commands ---------------------------------------------------------------

  /** The line is up: LCP Open + Up (after the DCC handshake when calling with `dcc`). */
  open(now: Millis): void {
    if (this._phase !== "dead") return;
    const c = this.config;
    this.decoder = new HdlcDecoder(c.mru);
    this.stats.hdlc = this.decoder.counters;
    this.rxErrors = 0;
    this.encoder.reset();
    this.sawFrame = false;
    this.deadReason = "";
    this.log("info", `Using interface ${c.ifname}`);
    this.log("info", `Connect: ${c.ifname} <--> ${c.devname}`);
    this.setPhase("establish");
    this.lcp.fsm.open(now);
    this.dccAnswerer = c.dcc === "answer" ? new DccAnswerer() : undefined;
    if (c.dcc === "call") {
      this.dccCaller = new DccCaller();
      this.dccCaller.start(now);
    } else {
      this.dccCaller = undefined;
      this.lcp.fsm.lowerUp(now);
    }
    this.flush(now);
  }

  /** Administrative close: LCP Terminate-Request, then "dead". */
  close(reason: string, now: Millis): void {
    if (this._phase === "dead") return;
    this.lcpClose(reason, now);
    this.flush(now);
  }

  /** Carrier lost: LCP Down, then "dead". */
  lineDown(now: Millis): void {
    if (this._phase === "dead") return;
    this.log("info", "Modem hangup");
    this.deadReason = "Modem hangup";
    this.lcp.fsm.lowerDown(now);
    this.lcp.fsm.close("Modem hangup", now); // Starting -> Initial (tlf)
    this.linkTerminated(now);
    this.flush(now);
  }

  /** Raw bytes from the line. */
  handleInput(bytes: Uint8Array, now: Millis): void {
    this.stats.rxBytes += bytes.length;
    if (this._phase === "dead") {
      this.drop("dead");
      return;
    }
    if (this.dccAnswerer && !this.sawFrame) {
      for (let n = this.dccAnswerer.input(bytes); n > 0; n--) {
        this.log("debug", "DCC: rcvd CLIENT, sent CLIENTSERVER");
        this.queueRaw(DccAnswerer.reply);
      }
    }
    if (this.dccCaller?.state === "waiting" && this.dccCaller.input(bytes)) {
      this.log("debug", "DCC: rcvd CLIENTSERVER");
      this.lcp.fsm.lowerUp(now);
    }
    this.decoder.input(bytes, (f) => this.receiveFrame(f, now));
    this.noteFramingErrors();
    this.flush(now);
  }

  handleTimeout(now: Millis): void {
    this.lcp.handleTimeout(now);
    this.ipcp.fsm.handleTimeout(now);
    this.ccp.handleTimeout(now);
    for (const m of [this.authenticator, this.authPeer]) {
      const t = m?.pollTimeout();
      if (m && t !== undefined && now >= t) m.handleTimeout(now);
    }
    if (this.dccCaller) {
      this.dccCaller.handleTimeout(now);
      if (this.dccCaller.state === "failed") {
        this.dccCaller = undefined;
        this.log("warn", "DCC: no CLIENTSERVER from peer");
        this.lcpClose("DCC handshake failed", now);
      }
    }
    this.flush(now);
  }

  pollTimeout(): Millis | undefined {
    return earliest(
      this.lcp.pollTimeout(), this.ipcp.fsm.pollTimeout(), this.ccp.pollTimeout(), this.authenticator?.pollTimeout(),
      this.authPeer?.pollTimeout(), this.dccCaller?.pollTimeout(),
    );
  }

  /**
   * The next framed bytes for the line: control frames first, then one IP
   * datagram from the scheduler, compressed (VJ, then CCP) and framed now.
   */
  pollTransmit(): Uint8Array | undefined {
    const c = this.tx.shift();
    if (c) return c;
    for (;;) {
      const packet = this.ipq.dequeue();
      if (this.ipq.pollWritable()) this.events.push({ type: "tx-writable" });
      if (!packet) return undefined;
      if (!this.ipUp) {
        this.drop("tx-ip-not-up");
        continue;
      }
      this.stats.txIpPackets++;
      const { proto, packet: out } = this.vjTx ? this.vjTx.compress(packet) : { proto: PPP_IP, packet };
      const z = this.ccp.transmit(proto, out); // ppp_generic.c: VJ first, then the compressor
      this.sendFrame(z.proto, z.info);
      return this.tx.shift();
    }
  }

  pollEvent(): SessionEvent | undefined {
    return this.events.shift();
  }

  /**
   * Queue one IPv4 datagram for the line (the session keeps the reference).
   * True when it was accepted; false when it was dropped and counted in
   * stats.drops (IPCP not Opened, over the MTU, past the queue's hard bound
   * `tx-queue-full`). Acceptance does not mean "send more": check
   * `txQueueFull` after it, and when that is true wait for `tx-writable`.
   * (The return value keeps meaning "taken" for callers that queue a burst
   * and drain later; the app turns the pair into the stack's output false.)
   * `now` is unused, kept for the callers' signature.
   */
  sendIp(packet: Uint8Array, _now?: Millis): boolean {
    if (!this.ipUp) return this.drop("tx-ip-not-up");
    if (packet.length > this.mtu) return this.drop("tx-ip-too-big");
    const dropped = this.ipq.stats.dropped;
    this.ipq.enqueue(packet);
    if (this.ipq.stats.dropped !== dropped) return this.drop("tx-queue-full");
    return true;
  }

  /** IP bytes waiting in the transmit scheduler (uncompressed). */
  get txQueueBytes(): number {
    return this.ipq.bytes;
  }

  /** The transmit queue is at or above its high water: hold further datagrams until `tx-writable`. */
  get txQueueFull(): boolean {
    return this.ipq.bytes >= this.ipq.highWater;
  }

  /** Is VJ header compression on for what we send (IPCP up and the peer asked for it)? */
  get vjTransmit(): boolean {
    return this.vjTx !== undefined;
  }

  /** Our send MTU: our cap and the peer's MRU. */
  get mtu(): number {
    return Math.min(this.config.mtu, this.lcp.his.mru ?? DEFAULT_MRU);
  }

  // --- receive path -----------------------------------------------------------

  private receiveFrame(frame: HdlcFrame, now: Millis): void {
    let { protocol, info } = frame;
    this.sawFrame = true;
    this.stats.rxFrames++;
    this.noteFramingErrors();
    // ppp_generic.c: decompress (or feed the decompressor's history) before VJ and IP.
    if (this.ccp.enabled && (this.ccp.receiving || protocol === PPP_COMP)) {
      const r = this.ccp.receive(protocol, info, now);
      if (!r) {
        this.vjRx?.toss(); // ppp_receive_error -> slhc_toss
        return void this.drop("rx-ccp-error");
      }
      ({ proto: protocol, info } = r);
    }
    if (protocol === PROTO_VJC_COMP || protocol === PROTO_VJC_UNCOMP) {
      if (!this.vjRx) return void this.drop("rx-vj-not-negotiated");
      const ip = this.vjRx.decompress(protocol, info);
      if (!ip) return void this.drop("rx-vj-error");
      protocol = PPP_IP;
      info = ip;
    }
    if (protocol === PPP_IP) {
      if (!this.ipUp) this.drop("rx-ip-not-up");
      else {
        this.stats.rxIpPackets++;
        this.events.push({ type: "ip-packet", packet: info });
      }
      return;
    }
    if (this.config.debug) this.log("debug", debugLine("rcvd", protocol, info, this.describeAuth));
    const phase = this._phase;
    switch (protocol) {
      case PPP_LCP:
        this.lcp.fsm.input(info, now);
        return;
      case PPP_PAP:
      case PPP_CHAP: {
        if (phase !== "authenticate" && phase !== "network") return this.discard(protocol);
        // PAP Authenticate-Request and CHAP Response go to the authenticator, the rest to the peer.
        const toAuthenticator = info.length > 0 && info[0] === (protocol === PPP_PAP ? 1 : 2);
        const m = toAuthenticator ? this.authenticator : this.authPeer;
        if (!m || m.protocol !== protocol) return void this.drop("auth-unexpected");
        m.input(info, now);
        // Act on the outcome now: the peer's next frame (often IPCP, in the same chunk) needs the new phase.
        this.flush(now);
        return;
      }
      case PPP_IPCP:
        if (phase !== "network") return this.discard(protocol);
        this.ipcp.fsm.input(info, now);
        return;
      case PPP_CCP:
        if (!this.ccp.enabled) return this.unsupported(protocol, info); // noccp: Protocol-Reject, as pppd
        if (phase !== "network") return this.discard(protocol);
        this.ccp.input(info, now);
        return;
      default:
        return this.unsupported(protocol, info);
    }
  }

  /** In Network phase, a protocol we do not run is Protocol-Rejected (pppd main.c get_input). */
  private unsupported(protocol: number, info: Uint8Array): void {
    if (this._phase !== "network" || this.lcp.fsm.state !== "Opened") return this.discard(protocol);
    if (this.config.debug) {
      // pppd main.c get_input: a warning, and only with `debug`
      const name = PROTOCOL_LONG_NAMES.get(protocol);
      this.log("warn", name ? `Unsupported protocol '${name}' (${hx(protocol)}) received` : `Unsupported protocol ${hx(protocol)} received`);
    }
    this.drop("protocol-rejected");
    this.lcp.protocolReject(protocol, info);
  }

  /** A frame was lost to a framing error since the last look: the VJ receiver must wait for a refresh. */
  private noteFramingErrors(): void {
    const c = this.decoder.counters;
    const errors = c.badFcs + c.aborted + c.oversize + c.runt + c.badHeader;
    if (errors === this.rxErrors) return;
    this.rxErrors = errors;
    this.vjRx?.toss();
  }

  /** pppd main.c: non-LCP packets before the right phase are silently discarded. */
  private discard(protocol: number): void {
    this.log("debug", `discarding proto ${hx(protocol)} in phase ${this._phase}`);
    this.drop("wrong-phase");
  }

  private protocolRejected(protocol: number, now: Millis): boolean {
    if (protocol === PPP_IPCP) {
      this.log("debug", `Protocol-Reject for 'Internet Protocol Control Protocol' (${hx(protocol)}) received`);
      this.ipcp.fsm.protocolRejected(now);
      return true;
    }
    if (protocol === PPP_CCP) {
      this.log("debug", `Protocol-Reject for 'Compression Control Protocol' (${hx(protocol)}) received`);
      this.ccp.protocolRejected(now); // pppd ccp_protrej
      return true;
    }
    if (protocol === PPP_LCP || protocol === PPP_PAP || protocol === PPP_CHAP) {
      this.log("debug", `Protocol-Reject for ${hx(protocol)} received`);
      return true;
    }
    return false;
  }

  // --- LCP hooks ----------------------------------------------------------------

  private lcpUp(now: Millis): void {
    this.flush(now); // our Configure-Ack goes out (and is logged) before anything that follows
    const { got, his } = this.lcp;
    this.encoder.accm = his.accm ?? DEFAULT_ACCM;
    this.encoder.pfc = his.pfc === true;
    this.encoder.acfc = his.acfc === true;
    this.decoder.rxAccm = got.accm ?? DEFAULT_ACCM;
    this.decoder.setMru(Math.max(this.config.mru, got.mru ?? DEFAULT_MRU));
    const weAuth = got.auth ? authMethodOf(got.auth) : undefined;
    const peerAuth = his.auth ? authMethodOf(his.auth) : undefined;
    if (this.config.requireAuth.length > 0 && !weAuth) {
      this.log("warn", "peer refused to authenticate: terminating link");
      this.lcpClose("peer refused to authenticate", now);
      return;
    }
    this.authenticatorDone = !weAuth;
    this.authPeerDone = !peerAuth;
    this.peerName = undefined;
    this.ipcp.allowedRemote = undefined;
    this.ipcp.fsm.lowerUp(now);
    this.ccp.lowerUp(now);
    if (!weAuth && !peerAuth) {
      this.enterNetwork(now);
      return;
    }
    this.setPhase("authenticate");
    const c = this.config;
    if (weAuth) {
      this.authenticator = this.makeAuthenticator({
        method: weAuth, ourName: c.name, secrets: weAuth === "pap" ? c.papSecrets : c.chapSecrets, rng: this.deps.rng,
        checkLogin: weAuth === "pap" ? c.checkLogin : undefined,
      });
      this.authenticator.start(now);
    }
    if (peerAuth) {
      const entries = peerAuth === "pap" ? c.papSecrets : c.chapSecrets;
      this.authPeer = this.makeAuthPeer({
        method: peerAuth, user: c.user, rng: this.deps.rng,
        // pppd get_secret: `password` first, then the secrets file, with `remotename` standing for the authenticator.
        secretFor: (name) => peerSecretFor(entries, c.user, c.password)(c.remoteName ?? name),
      });
      this.authPeer.start(now);
    }
  }

  private lcpDown(now: Millis): void {
    // pppd upper_layers_down: NCPs get Down and Close, so they wait for the next Network phase.
    this.inLcpDown = true;
    this.ipcp.fsm.lowerDown(now);
    this.ipcp.fsm.close("LCP down", now);
    this.ccp.lowerDown(now);
    this.ccp.close("LCP down", now);
    this.inLcpDown = false;
    this.ipcpDown();
    this.authenticator = undefined;
    this.authPeer = undefined;
    this.encoder.reset();
    this.decoder.rxAccm = DEFAULT_ACCM;
    const st = this.lcp.fsm.state;
    if (st === "Stopping" && !this.deadReason) this.deadReason = "LCP terminated by peer";
    if (this._phase !== "dead") this.setPhase(st === "Closing" || st === "Stopping" ? "terminate" : "establish");
  }

  private lcpFinished(now: Millis): void {
    const st = this.lcp.fsm.state;
    if (st === "Closed" || st === "Stopped") this.lcp.fsm.lowerDown(now); // the driver hangs up: ready to open again
    this.linkTerminated(now);
  }

  private lcpClose(reason: string, now: Millis): void {
    if (!this.deadReason) this.deadReason = reason;
    if (this._phase !== "dead") this.setPhase("terminate");
    const wasStopped = this.lcp.fsm.state === "Stopped";
    this.lcp.fsm.close(reason, now);
    // pppd lcp_close: Close in Stopped (passive/silent, nobody answered) finishes the link,
    // although RFC 1661 has no tlf there; otherwise the driver would wait forever.
    if (wasStopped) this.lcpFinished(now);
  }

  private linkTerminated(now: Millis): void {
    if (this._phase === "dead") return;
    this.flush(now);
    this.ipcpDown();
    this.authenticator = undefined;
    this.authPeer = undefined;
    this.dccCaller = undefined;
    this.log("info", "Connection terminated.");
    this.setPhase("dead");
    this.events.push({ type: "dead", reason: this.deadReason || this.lcp.fsm.termReason || "LCP terminated" });
  }

  // --- authentication -------------------------------------------------------------

  private authEvents(m: AuthMachine, asAuthenticator: boolean, now: Millis): void {
    const prot = m.protocol === PPP_PAP ? "PAP" : "CHAP";
    const logged = new Set<string>();
    for (let e = m.pollEvent(); e; e = m.pollEvent()) {
      if (e.type === "log") {
        logged.add(e.text);
        this.log(e.level, e.text);
      } else if (e.type === "failure") {
        this.log("error", e.reason);
        if (asAuthenticator) this.authenticator = undefined;
        else this.authPeer = undefined;
        this.lcpClose(asAuthenticator ? "Authentication failed" : "Failed to authenticate ourselves to peer", now);
        return;
      } else if (asAuthenticator) {
        const lines = [`${prot} peer authentication succeeded for ${e.peerName}`, `user ${e.peerName} logged in`];
        for (const l of lines) if (!logged.has(l)) this.log("info", l);
        this.peerName = e.peerName;
        this.ipcp.allowedRemote = e.addresses.length ? e.addresses : undefined;
        this.authenticatorDone = true;
      } else {
        const line = `${prot} authentication succeeded`;
        if (!logged.has(line)) this.log("info", line);
        this.authPeerDone = true;
      }
    }
    if (this._phase === "authenticate" && this.authenticatorDone && this.authPeerDone) this.enterNetwork(now);
  }

  private enterNetwork(now: Millis): void {
    this.setPhase("network");
    this.ccp.open(now); // pppd start_networks: CCP (and ECP) first, then the other NCPs
    this.ipcp.fsm.open(now);
  }

  // --- IPCP hooks ---------------------------------------------------------------

  private ipcpUp(now: Millis): void {
    this.flush(now);
    const local = this.ipcp.localAddr;
    const remote = this.ipcp.remoteAddr;
    if (local === 0) {
      this.log("error", "Could not determine local IP address");
      this.ipcp.fsm.close("Could not determine local IP address", now);
      return;
    }
    const allowed = this.ipcp.allowedRemote;
    if (allowed && !addressAllowed(remote, allowed)) {
      this.log("error", `Peer is not authorized to use remote address ${formatIp4(remote)}`);
      this.ipcp.fsm.close("Unauthorized remote IP address", now);
      return;
    }
    if (this.ipcp.his.addr === undefined && this.ipcp.hisAddr === 0) {
      this.log("warn", `Could not determine remote IP address: defaulting to ${formatIp4(remote)}`);
    }
    const dns = this.ipcp.peerDns;
    this.log("info", `local  IP address ${formatIp4(local)}`);
    this.log("info", `remote IP address ${formatIp4(remote)}`);
    if (this.ipcp.got.dns1) this.log("info", `primary   DNS address ${formatIp4(this.ipcp.got.dns1)}`);
    if (this.ipcp.got.dns2) this.log("info", `secondary DNS address ${formatIp4(this.ipcp.got.dns2)}`);
    // pppd ipcp_up -> sifvjcomp: compress as the peer asked, decompress as we asked.
    const { got, his } = this.ipcp;
    this.vjTx = his.vj ? new VjCompressor(his.vj.maxSlotId ?? 15, his.vj.compSlotId ?? true) : undefined;
    this.vjRx = got.vj ? new VjDecompressor(got.vj.maxSlotId ?? 15) : undefined;
    if (!this.quantumFixed) this.ipq.quantum = this.mtu;
    this.ipUp = true;
    this.events.push({ type: "ip-up", local, remote, dns, mtu: this.mtu, peerName: this.peerName });
  }

  private ipcpDown(): void {
    if (!this.ipUp) return;
    this.ipUp = false;
    this.vjTx = undefined;
    this.vjRx = undefined;
    const n = this.ipq.clear();
    if (n > 0) this.stats.drops["tx-ip-not-up"] = (this.stats.drops["tx-ip-not-up"] ?? 0) + n;
    if (this.ipq.pollWritable()) this.events.push({ type: "tx-writable" });
    this.events.push({ type: "ip-down" });
  }

  // --- transmit path ------------------------------------------------------------

  /** Move everything the protocol machines queued onto the line, in order, and act on auth events. */
  private flush(now: Millis): void {
    for (let progress = true; progress; ) {
      progress = false;
      for (let p = this.lcp.fsm.pollTransmit(); p; p = this.lcp.fsm.pollTransmit()) {
        this.sendFrame(PPP_LCP, p);
        progress = true;
      }
      for (const [m, asAuthenticator] of [[this.authenticator, true], [this.authPeer, false]] as const) {
        if (!m) continue;
        for (let p = m.pollTransmit(); p; p = m.pollTransmit()) {
          this.sendFrame(m.protocol, p);
          progress = true;
        }
        const before = this.events.length + this.tx.length;
        this.authEvents(m, asAuthenticator, now);
        if (this.events.length + this.tx.length !== before) progress = true;
      }
      for (let p = this.ccp.pollTransmit(); p; p = this.ccp.pollTransmit()) {
        this.sendFrame(PPP_CCP, p);
        progress = true;
      }
      for (let p = this.ipcp.fsm.pollTransmit(); p; p = this.ipcp.fsm.pollTransmit()) {
        this.sendFrame(PPP_IPCP, p);
        progress = true;
      }
      for (let p = this.dccCaller?.pollTransmit(); p; p = this.dccCaller?.pollTransmit()) {
        this.queueRaw(p);
        progress = true;
      }
    }
  }

  private sendFrame(protocol: number, info: Uint8Array): void {
    // pppd sees (and prints) only control protocols (0x8000 and up); data stays in the kernel.
    if (this.config.debug && protocol >= 0x8000) this.log("debug", debugLine("sent", protocol, info, this.describeAuth));
    this.stats.txFrames++;
    this.queueRaw(this.encoder.encode(protocol, info));
  }

  private queueRaw(bytes: Uint8Array): void {
    this.stats.txBytes += bytes.length;
    this.tx.push(bytes);
  }

  // --- helpers ----------------------------------------------------------------------

  private setPhase(phase: Phase): void {
    if (phase === this._phase) return;
    this._phase = phase;
    this.events.push({ type: "phase", phase });
  }

  private log(level: Level, text: string): void {
    this.events.push({ type: "log", level, text });
  }

  private drop(reason: string): false {
    this.stats.drops[reason] = (this.stats.drops[reason] ?? 0) + 1;
    return false;
  }
}
