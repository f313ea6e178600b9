/**
 * Userspace masquerade for one peer, slirp's job: everything the peer sends
 * through the link ends in our stack and leaves as ordinary sockets of this
 * process. TCP through `TcpForwarder`, UDP through `UdpFlows`, DNS to the
 * pushed DNS address through `DnsForwarder`, ICMP echo through
 * `IcmpEchoForwarder`. The server's own link address stands for the host
 * (its loopback services), subject to the `Policy`.
 */
import { Counters, type Logger as Log } from "../log.js";
import { DnsForwarder, type LookupFn } from "./dns-forwarder.js";
import { IcmpEchoForwarder, type IcmpEchoLimits, type PingRunner } from "./icmp-echo.js";
import { Policy, type PolicyOptions } from "./policy.js";
import { FTP_CONTROL_PORT } from "./ftp-alg.js";
import type { MasqueradeStack, UdpForwardDatagram } from "./stack-face.js";
import { TcpForwarder, type TcpForwardLimits } from "./tcp-forward.js";
import { UdpFlows, type UdpFlowLimits } from "./udp-flows.js";

const DNS_PORT = 53;

export interface MasqueradeLimits extends TcpForwardLimits, UdpFlowLimits, IcmpEchoLimits {}

export const defaultMasqueradeLimits: MasqueradeLimits = {
  maxConnections: 4096,
  maxHalfOpen: 128,
  connectTimeoutMs: 20_000,
  ftpControlPorts: [FTP_CONTROL_PORT],
  maxFlows: 256,
  idleMs: 60_000,
  maxInFlight: 8,
  waitSeconds: 2,
};

export interface MasqueradeOptions {
  policy?: PolicyOptions;
  limits?: Partial<MasqueradeLimits>;
  /** Addresses pushed to the peer as DNS servers (ms-dns); queries to them are answered by the host's resolver. */
  dnsAddresses: string[];
  log?: Log;
  /** Injected for tests. */
  lookup?: LookupFn;
  ping?: PingRunner;
}

export class Masquerade {
  readonly counters = new Counters();
  private readonly tcp: TcpForwarder;
  private readonly udp: UdpFlows;
  private readonly icmp: IcmpEchoForwarder;
  private readonly dns: DnsForwarder;
  private readonly dnsAddresses: Set<string>;

  constructor(private readonly stack: MasqueradeStack, opts: MasqueradeOptions) {
    const log = opts.log ?? (() => {});
    const limits = { ...defaultMasqueradeLimits, ...opts.limits };
    const policy = new Policy(opts.policy);
    const server = () => stack.address;
    this.dnsAddresses = new Set(opts.dnsAddresses);
    this.tcp = new TcpForwarder(policy, server, limits, this.counters, log);
    this.udp = new UdpFlows(stack, policy, server, limits, this.counters, log);
    this.icmp = new IcmpEchoForwarder(stack, policy, server, limits, this.counters, log, opts.ping);
    this.dns = new DnsForwarder(this.counters, log, opts.lookup);
    stack.setTcpForwarder((req) => this.tcp.handle(req), { maxInFlight: limits.maxHalfOpen });
    stack.setUdpForwarder((d) => this.onUdp(d));
    stack.setIcmpEchoForwarder((e) => this.icmp.handle(e));
  }

  private onUdp(d: UdpForwardDatagram): void {
    if (d.dstPort === DNS_PORT && this.dnsAddresses.has(d.dst)) {
      void this.dns.answer(d.payload).then((reply) => {
        if (reply) this.stack.sendUdp({ address: d.dst, port: DNS_PORT }, { address: d.src, port: d.srcPort }, reply);
      });
      return;
    }
    this.udp.handle(d);
  }

  /** Live gauges and the counters, for status output. */
  status(): Record<string, number> {
    return { ...this.counters.snapshot(), "tcp.open": this.tcp.connections, "tcp.connecting": this.tcp.connecting, "udp.open": this.udp.size };
  }

  close(): void {
    this.stack.setTcpForwarder(undefined);
    this.stack.setUdpForwarder(undefined);
    this.stack.setIcmpEchoForwarder(undefined);
    this.tcp.close();
    this.udp.close();
  }
}
