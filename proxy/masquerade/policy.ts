/**
 * What a peer may reach through the masquerade. Rules are CIDR blocks with
 * optional port ranges ("10.0.0.0/8", "0.0.0.0/0:80,443", "192.0.2.1:1000-2000").
 * Deny rules win over allow rules; an empty allow list allows everything
 * that is not denied. The host's loopback (127.0.0.0/8) is never reachable
 * directly: only the server's own link address maps to it, and only while
 * `hostLoopback` is on (slirp's 10.0.2.2, the HOWTO's ppp_laplink_server).
 */
import { formatIp4, isLoopback, parseIp4, type Ip4 } from "../../stack/util/addr.js";

export interface PolicyRule {
  net: Ip4;
  prefix: number;
  /** Inclusive port ranges; empty = every port. */
  ports: Array<[number, number]>;
  text: string;
}

export interface PolicyOptions {
  allow?: string[];
  deny?: string[];
  /** Let the server's own address reach the host's loopback services (default on). */
  hostLoopback?: boolean;
}

export type PolicyDecision =
  | { ok: true; host: string }
  | { ok: false; reason: string };

export class PolicyError extends Error {}

export function parseRule(text: string): PolicyRule {
  const m = /^([0-9.]+)(?:\/(\d{1,2}))?(?::([0-9,\-]+))?$/.exec(text.trim());
  const net = m ? parseIp4(m[1]) : undefined;
  const prefix = m?.[2] === undefined ? 32 : Number(m[2]);
  if (!m || net === undefined || prefix > 32) {
    throw new PolicyError(`bad address rule '${text}': expected CIDR[:PORTS], e.g. 10.0.0.0/8 or 0.0.0.0/0:80,443`);
  }
  const ports: Array<[number, number]> = [];
  for (const part of m[3] ? m[3].split(",") : []) {
    const [lo, hi = lo] = part.split("-").map(Number);
    if (!(lo >= 1 && hi <= 65535 && lo <= hi)) throw new PolicyError(`bad port range '${part}' in rule '${text}'`);
    ports.push([lo, hi]);
  }
  return { net: maskOf(net, prefix), prefix, ports, text };
}

function maskOf(a: Ip4, prefix: number): Ip4 {
  return prefix === 0 ? 0 : (a & (~0 << (32 - prefix))) >>> 0;
}

function matches(rule: PolicyRule, a: Ip4, port: number | undefined): boolean {
  if (maskOf(a, rule.prefix) !== rule.net) return false;
  if (rule.ports.length === 0 || port === undefined) return true;
  return rule.ports.some(([lo, hi]) => port >= lo && port <= hi);
}

export class Policy {
  private readonly allow: PolicyRule[];
  private readonly deny: PolicyRule[];
  readonly hostLoopback: boolean;

  constructor(opts: PolicyOptions = {}) {
    this.allow = (opts.allow ?? []).map(parseRule);
    this.deny = (opts.deny ?? []).map(parseRule);
    this.hostLoopback = opts.hostLoopback ?? true;
  }

  /**
   * May the peer reach `dst:port`? `serverAddress` is our end of the link;
   * on success `host` is where the host socket should go.
   */
  decide(dst: string, port: number | undefined, serverAddress: string | undefined): PolicyDecision {
    const a = parseIp4(dst);
    if (a === undefined) return { ok: false, reason: `bad destination ${dst}` };
    if (dst === serverAddress) {
      if (!this.hostLoopback) return { ok: false, reason: "the host's own services are switched off (--no-host-loopback)" };
      // The server address stands for the host itself: rules are written for it by its link address.
      return this.checkRules(a, port, dst) ?? { ok: true, host: "127.0.0.1" };
    }
    if (isLoopback(a)) return { ok: false, reason: "loopback is reachable only through the server address" };
    if (a >>> 24 === 0 || a >>> 28 === 0xe || a >>> 28 === 0xf) {
      return { ok: false, reason: `${formatIp4(a)} is not a unicast address` };
    }
    return this.checkRules(a, port, dst) ?? { ok: true, host: dst };
  }

  private checkRules(a: Ip4, port: number | undefined, dst: string): PolicyDecision | undefined {
    const where = port === undefined ? dst : `${dst}:${port}`;
    const denied = this.deny.find((r) => matches(r, a, port));
    if (denied) return { ok: false, reason: `${where} denied by rule ${denied.text}` };
    if (this.allow.length > 0 && !this.allow.some((r) => matches(r, a, port))) {
      return { ok: false, reason: `${where} is not in the allow list` };
    }
    return undefined;
  }
}
