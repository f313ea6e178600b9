/**
 * The DNS address pushed to the peer in IPCP (ms-dns, RFC 1877) is answered
 * here, from the host's own resolver: A and AAAA questions go through
 * `dns.lookup`, so names in the host's /etc/hosts work as well as the
 * system's DNS; anything else is relayed to the host's configured servers.
 */
import dns from "node:dns";
import dgram from "node:dgram";
import * as dnsPacket from "dns-packet";
import type { Counters, Logger as Log } from "../log.js";

/** TTL given to answers that came from dns.lookup (which hides the real TTL). */
const LOOKUP_TTL_S = 60;
const RELAY_TIMEOUT_MS = 5000;

export type LookupFn = (name: string, family: 4 | 6) => Promise<string[]>;

const systemLookup: LookupFn = async (name, family) =>
  (await dns.promises.lookup(name, { all: true, family })).map((r) => r.address);

export class DnsForwarder {
  constructor(
    private readonly counters: Counters,
    private readonly log: Log,
    private readonly lookup: LookupFn = systemLookup,
  ) {}

  /** Answer one query; resolves to the reply bytes, or undefined to drop it. */
  async answer(query: Uint8Array): Promise<Uint8Array | undefined> {
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(Buffer.from(query));
    } catch {
      this.counters.add("dns.malformed");
      return undefined;
    }
    const question = q.questions?.[0];
    if (q.type !== "query" || !question) {
      this.counters.add("dns.malformed");
      return undefined;
    }
    this.counters.add("dns.queries");
    if (question.type === "A" || question.type === "AAAA") return this.viaLookup(q, question);
    return this.relay(query);
  }

  private async viaLookup(q: dnsPacket.Packet, question: dnsPacket.Question): Promise<Uint8Array> {
    const family = question.type === "A" ? 4 : 6;
    let addresses: string[] = [];
    let rcode: "NOERROR" | "NXDOMAIN" | "SERVFAIL" = "NOERROR";
    try {
      addresses = await this.lookup(question.name, family);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENODATA: the name exists without this family (an empty NOERROR answer).
      if (code === "ENOTFOUND") rcode = (await this.exists(question.name, family === 4 ? 6 : 4)) ? "NOERROR" : "NXDOMAIN";
      else if (code !== "ENODATA") rcode = "SERVFAIL";
      this.log("debug", `dns: ${question.name} ${question.type}: ${code ?? err}`);
    }
    return dnsPacket.encode({
      type: "response",
      id: q.id,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcodeFlag(rcode),
      questions: [question],
      answers: addresses.map((data) => ({ type: question.type, name: question.name, ttl: LOOKUP_TTL_S, data }) as dnsPacket.Answer),
    });
  }

  /**
   * Does the name exist in the other family? dns.lookup says ENOTFOUND for an
   * IPv4-only name asked as AAAA; RFC 2308 §2.2 wants NODATA (an empty
   * NOERROR) there, not NXDOMAIN, which resolvers such as musl's take as
   * "no such name" for the A question too.
   */
  private async exists(name: string, family: 4 | 6): Promise<boolean> {
    try {
      return (await this.lookup(name, family)).length > 0;
    } catch {
      return false;
    }
  }

  /** Relay a query we do not answer ourselves to the host's first resolver. */
  private relay(query: Uint8Array): Promise<Uint8Array | undefined> {
    const server = dns.getServers().find((s) => !s.includes(":") || s.startsWith("["));
    if (!server) {
      this.counters.add("dns.no-upstream");
      return Promise.resolve(undefined);
    }
    const [host, port] = splitHostPort(server);
    return new Promise((resolve) => {
      const sock = dgram.createSocket("udp4");
      const done = (reply?: Uint8Array) => {
        clearTimeout(timer);
        sock.close();
        resolve(reply);
      };
      const timer = setTimeout(() => {
        this.counters.add("dns.relay-timeout");
        done();
      }, RELAY_TIMEOUT_MS);
      sock.on("message", (msg) => done(msg));
      sock.on("error", () => done());
      sock.send(query, port, host);
    });
  }
}

function rcodeFlag(rcode: "NOERROR" | "NXDOMAIN" | "SERVFAIL"): number {
  return { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 }[rcode];
}

function splitHostPort(server: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(server);
  return m && !m[1].includes(":") ? [m[1], Number(m[2])] : [server, 53];
}
