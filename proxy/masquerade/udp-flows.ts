/**
 * Masquerade for UDP. Each peer endpoint (source address and port) gets one
 * host dgram socket, as a NAT with endpoint-independent mapping does; replies
 * are accepted only from destinations the peer has sent to (address- and
 * port-dependent filtering) and go back with that destination as source.
 * A flow closes after an idle timeout.
 */
import dgram from "node:dgram";
import type { Counters, Logger as Log } from "../log.js";
import type { Policy } from "./policy.js";
import type { MasqueradeStack, UdpForwardDatagram } from "./stack-face.js";

export interface UdpFlowLimits {
  maxFlows: number;
  idleMs: number;
}

interface Flow {
  key: string;
  socket: dgram.Socket;
  peer: { address: string; port: number };
  /** host "addr:port" -> the address the peer used for it (server address for loopback). */
  sentTo: Map<string, string>;
  idle: NodeJS.Timeout;
}

export class UdpFlows {
  private readonly flows = new Map<string, Flow>();

  constructor(
    private readonly stack: MasqueradeStack,
    private readonly policy: Policy,
    private readonly serverAddress: () => string | undefined,
    private readonly limits: UdpFlowLimits,
    private readonly counters: Counters,
    private readonly log: Log,
  ) {}

  get size(): number {
    return this.flows.size;
  }

  handle(d: UdpForwardDatagram): void {
    const decision = this.policy.decide(d.dst, d.dstPort, this.serverAddress());
    if (!decision.ok) {
      this.counters.add("udp.denied");
      this.log("warn", `masquerade: refused UDP ${d.src}:${d.srcPort} -> ${d.dst}:${d.dstPort}: ${decision.reason}`);
      return;
    }
    const flow = this.flowFor(d);
    if (!flow) return;
    flow.sentTo.set(`${decision.host}:${d.dstPort}`, d.dst);
    flow.idle.refresh();
    flow.socket.send(d.payload, d.dstPort, decision.host, (err) => {
      if (err) {
        this.counters.add(`udp.send-failed.${(err as NodeJS.ErrnoException).code ?? "other"}`);
        this.log("debug", `masquerade: UDP to ${d.dst}:${d.dstPort}: ${err.message}`);
      } else this.counters.add("udp.out");
    });
  }

  private flowFor(d: UdpForwardDatagram): Flow | undefined {
    const key = `${d.src}:${d.srcPort}`;
    const existing = this.flows.get(key);
    if (existing) return existing;
    if (this.flows.size >= this.limits.maxFlows) {
      this.counters.add("udp.dropped.max-flows");
      return undefined;
    }
    const socket = dgram.createSocket("udp4");
    const flow: Flow = {
      key,
      socket,
      peer: { address: d.src, port: d.srcPort },
      sentTo: new Map(),
      idle: setTimeout(() => this.closeFlow(flow), this.limits.idleMs),
    };
    flow.idle.unref();
    socket.on("message", (msg, rinfo) => {
      const as = flow.sentTo.get(`${rinfo.address}:${rinfo.port}`);
      if (as === undefined) {
        this.counters.add("udp.dropped.unsolicited");
        return;
      }
      flow.idle.refresh();
      this.counters.add("udp.in");
      this.stack.sendUdp({ address: as, port: rinfo.port }, flow.peer, msg);
    });
    socket.on("error", (err) => {
      // A connection-less socket reports ICMP errors this way on Linux; the flow stays.
      this.counters.add("udp.socket-error");
      this.log("debug", `masquerade: UDP flow ${key}: ${err.message}`);
    });
    socket.bind(0);
    this.flows.set(key, flow);
    this.counters.add("udp.flows");
    return flow;
  }

  private closeFlow(flow: Flow): void {
    clearTimeout(flow.idle);
    this.flows.delete(flow.key);
    flow.socket.close();
  }

  close(): void {
    for (const f of [...this.flows.values()]) this.closeFlow(f);
  }
}
