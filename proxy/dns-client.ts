/**
 * A DNS stub resolver that asks the far end's DNS servers over the link
 * (`LinkNet.udp()`), A records only. Part of proxy/: SOCKS (ATYP domain),
 * the HTTP proxy and the port forwards resolve names with it, so a name is
 * resolved where it will be used, like `ssh -D` / `curl --socks5-hostname`.
 *
 * - Servers: `LinkNet.dnsServers` (RFC 1877 ms-dns pushed in IPCP, or --dns).
 *   None known -> ENODNS with a message saying why.
 * - Retries: `attempts` rounds over every server, `timeoutMs` per try.
 * - Follows CNAME chains inside the answer section (RFC 1034 §3.6.2).
 * - Caches positive answers by TTL (RFC 1035 §3.2.1, capped), negative ones
 *   (NXDOMAIN / no A record) briefly (RFC 2308 spirit), on an injected clock.
 * - Dotted-quad literals are answered directly; `localhost` is the peer.
 * - A reply that does not parse, has the wrong id/question or comes from a
 *   host we did not ask is dropped and counted, never thrown.
 */
import dnsPacket from "dns-packet";
import type { Answer, StringAnswer } from "dns-packet";
import type { LinkNet } from "./link-net.js";
import { systemClock, type Clock, type Millis } from "../stack/util/time.js";
import { cryptoRng, type Rng } from "../stack/util/rng.js";
import { parseIp4 } from "../stack/util/addr.js";
import { Counters, codedError, silentLogger, type Logger } from "./log.js";

/** RFC 1035 §4.2.1 DNS over UDP port. */
export const DNS_PORT = 53;
/** RFC 1035 §4.1.1 RCODE values we act on. */
const RCODE_NOERROR = 0;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
/** RFC 1035 §2.3.4 size limits. */
const MAX_NAME = 253;
const MAX_LABEL = 63;
/** Longest CNAME chain we follow (loops are cut here too). */
const MAX_CNAME_HOPS = 8;

export interface Resolver {
  /** One IPv4 address for `name` (the first A record), or a coded error. */
  resolve4(name: string): Promise<string>;
}

export interface DnsAnswer {
  addresses: string[];
  /** How long the answer may be cached (min TTL over the chain), ms. */
  ttlMs: Millis;
  /** The name the A records belong to after following CNAMEs. */
  canonicalName: string;
}

export interface DnsClientOptions {
  /** Clock for the cache (default systemClock). */
  clock?: Clock;
  /** Query ids (default cryptoRng). */
  rng?: Rng;
  /** Per-try timeout (default 2000 ms: a slow serial link). */
  timeoutMs?: number;
  /** Rounds over the server list (default 2). */
  attempts?: number;
  /** Server UDP port (default 53; tests use a loopback port). */
  port?: number;
  /** How long NXDOMAIN / no-data answers are remembered (default 10 s). */
  negativeTtlMs?: number;
  /** Upper bound on a cached TTL (default 1 h). */
  maxTtlMs?: number;
  /** Override the server list (default `() => net.dnsServers`). */
  servers?: () => string[];
  log?: Logger;
}

export interface DnsClient extends Resolver {
  lookup(name: string): Promise<DnsAnswer>;
  readonly stats: Counters;
  clearCache(): void;
}

type CacheEntry = { expires: Millis; answer: DnsAnswer } | { expires: Millis; error: { code: string; message: string } };

/** Normalise and check a host name; undefined when it cannot be a DNS name. */
export function normaliseName(name: string): string | undefined {
  let n = name.trim().toLowerCase();
  if (n.endsWith(".")) n = n.slice(0, -1);
  if (n.length === 0 || n.length > MAX_NAME) return undefined;
  for (const label of n.split(".")) {
    if (label.length === 0 || label.length > MAX_LABEL) return undefined;
    if (!/^[a-z0-9_-]+$/.test(label)) return undefined;
  }
  return n;
}

/** Build an RD=1 query for the A record of `name` (RFC 1035 §4.1). */
export function buildQuery(id: number, name: string): Uint8Array {
  return dnsPacket.encode({
    type: "query",
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: "A", class: "IN", name }],
  });
}

export type Interpreted =
  | { kind: "drop"; reason: string }
  | { kind: "answer"; answer: DnsAnswer }
  | { kind: "negative"; code: "ENOTFOUND" | "ENODATA"; message: string }
  | { kind: "server-failure"; message: string };

/**
 * Interpret a reply to the query (`id`, `name`): pure, for tests.
 * Follows CNAMEs for `name` through the answer section.
 */
export function interpretResponse(bytes: Uint8Array, id: number, name: string): Interpreted {
  let pkt: ReturnType<typeof dnsPacket.decode>;
  try {
    pkt = dnsPacket.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    return { kind: "drop", reason: "malformed DNS reply" };
  }
  if (pkt.type !== "response") return { kind: "drop", reason: "not a response" };
  if (pkt.id !== id) return { kind: "drop", reason: "wrong id" };
  const q = pkt.questions?.[0];
  if (!q || q.name.toLowerCase() !== name) return { kind: "drop", reason: "wrong question" };
  const rcode = (pkt.flags ?? 0) & 0x0f;
  if (rcode === RCODE_NXDOMAIN) return { kind: "negative", code: "ENOTFOUND", message: `${name}: no such domain (NXDOMAIN)` };
  if (rcode === RCODE_SERVFAIL) return { kind: "server-failure", message: `${name}: server failure (SERVFAIL)` };
  if (rcode !== RCODE_NOERROR) return { kind: "server-failure", message: `${name}: DNS rcode ${rcode}` };
  if (pkt.flag_tc) return { kind: "server-failure", message: `${name}: truncated reply` };

  const answers: StringAnswer[] = (pkt.answers ?? []).filter(isStringAnswer);
  let current = name;
  let ttl = Infinity;
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const a = answers.filter((r) => r.type === "A" && r.name.toLowerCase() === current);
    if (a.length > 0) {
      for (const r of a) ttl = Math.min(ttl, r.ttl ?? 0);
      const addresses = a.map((r) => r.data as string).filter((d) => parseIp4(d) !== undefined);
      if (addresses.length > 0) return { kind: "answer", answer: { addresses, ttlMs: ttl * 1000, canonicalName: current } };
    }
    const cname = answers.find((r) => r.type === "CNAME" && r.name.toLowerCase() === current);
    if (!cname) break;
    ttl = Math.min(ttl, cname.ttl ?? 0);
    current = String(cname.data).toLowerCase().replace(/\.$/, "");
  }
  return { kind: "negative", code: "ENODATA", message: `${name}: no A record` };
}

function isStringAnswer(r: Answer): r is StringAnswer {
  return r.type === "A" || r.type === "CNAME";
}

export function createDnsClient(net: LinkNet, opts: DnsClientOptions = {}): DnsClient {
  const clock = opts.clock ?? systemClock;
  const rng = opts.rng ?? cryptoRng;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const attempts = opts.attempts ?? 2;
  const port = opts.port ?? DNS_PORT;
  const negativeTtlMs = opts.negativeTtlMs ?? 10_000;
  const maxTtlMs = opts.maxTtlMs ?? 3_600_000;
  const servers = opts.servers ?? (() => net.dnsServers);
  const log = opts.log ?? silentLogger;
  const stats = new Counters();
  const cache = new Map<string, CacheEntry>();
  const inFlight = new Map<string, Promise<DnsAnswer>>();

  /** One query to one server; resolves with the interpretation or "timeout". */
  function ask(server: string, name: string): Promise<Interpreted | "timeout"> {
    return new Promise((resolve) => {
      const id = rng.u32() & 0xffff;
      const sock = net.udp(0);
      let done = false;
      const finish = (r: Interpreted | "timeout") => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        try {
          sock.close();
        } catch {
          /* already closed */
        }
        resolve(r);
      };
      const timer = setTimeout(() => finish("timeout"), timeoutMs);
      sock.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => {
        if (rinfo.address !== server || rinfo.port !== port) {
          stats.add("drop: reply from a host we did not ask");
          return;
        }
        const r = interpretResponse(msg, id, name);
        if (r.kind === "drop") {
          stats.add(`drop: ${r.reason}`);
          log("debug", `dns: dropped reply from ${server}: ${r.reason}`);
          return;
        }
        finish(r);
      });
      sock.on("error", () => finish("timeout"));
      stats.add("queries sent");
      sock.send(buildQuery(id, name), port, server);
    });
  }

  async function query(name: string): Promise<DnsAnswer> {
    const list = servers();
    if (list.length === 0) {
      stats.add("error: no server");
      throw codedError("ENODNS", "no DNS server: the peer pushed none (ms-dns) and --dns was not given");
    }
    let lastFailure = "";
    for (let round = 0; round < attempts; round++) {
      for (const server of list) {
        const r = await ask(server, name);
        if (r === "timeout") {
          stats.add("timeouts");
          lastFailure = `no reply from ${server} in ${timeoutMs} ms`;
          log("debug", `dns: ${name}: ${lastFailure}`);
          continue;
        }
        if (r.kind === "answer") {
          const ttl = Math.min(r.answer.ttlMs, maxTtlMs);
          cache.set(name, { expires: clock.now() + ttl, answer: r.answer });
          return r.answer;
        }
        if (r.kind === "negative") {
          cache.set(name, { expires: clock.now() + negativeTtlMs, error: { code: r.code, message: r.message } });
          throw codedError(r.code, r.message);
        }
        if (r.kind === "server-failure") {
          stats.add("server failures");
          lastFailure = `${server}: ${r.message}`;
        }
      }
    }
    throw codedError("ETIMEDOUT", `DNS lookup of ${name} failed: ${lastFailure}`);
  }

  async function lookup(rawName: string): Promise<DnsAnswer> {
    if (parseIp4(rawName) !== undefined) return { addresses: [rawName.trim()], ttlMs: Infinity, canonicalName: rawName };
    const name = normaliseName(rawName);
    if (name === undefined) throw codedError("EBADNAME", `"${rawName}" is not a valid host name`);
    if (name === "localhost" || name.endsWith(".localhost")) {
      const peer = net.peerAddress;
      if (!peer) throw codedError("ENETUNREACH", "localhost means the peer, and the link has no peer address yet");
      return { addresses: [peer], ttlMs: 0, canonicalName: name };
    }
    const hit = cache.get(name);
    if (hit) {
      if (hit.expires > clock.now()) {
        stats.add("cache hits");
        if ("error" in hit) throw codedError(hit.error.code, hit.error.message);
        return hit.answer;
      }
      cache.delete(name);
    }
    const pending = inFlight.get(name);
    if (pending) return pending;
    const p = query(name).finally(() => inFlight.delete(name));
    inFlight.set(name, p);
    return p;
  }

  return {
    lookup,
    async resolve4(name: string): Promise<string> {
      return (await lookup(name)).addresses[0];
    },
    stats,
    clearCache: () => cache.clear(),
  };
}
