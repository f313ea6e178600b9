/**
 * A test LinkNet over the host's own loopback (test/unit/proxy): connect ->
 * net.connect, listen -> net.createServer on 127.0.0.1, udp -> dgram on
 * 127.0.0.1, plus a fake DNS server on a loopback UDP port answering A (and
 * CNAME) records with dns-packet. peerAddress and localAddress are
 * 127.0.0.1, so "the far end" is this host. Loopback addresses only.
 *
 * Knobs for error paths: `setUp(false, {persist})` takes the link down
 * (waitUp() waits or rejects ENETDOWN); `failConnect[host] = code` makes
 * connects to `host` fail with that code; `dnsDrop` makes the DNS server
 * silent.
 */
import nodeNet from "node:net";
import dgram from "node:dgram";
import { EventEmitter } from "node:events";
import dnsPacket from "dns-packet";
import type { LinkNet, LinkServer, LinkSocket, LinkUdpSocket, PingResult } from "../../../proxy/link-net.js";

export type DnsRecord = string | { cname: string; ttl?: number } | { a: string[]; ttl?: number };

export class LoopbackNet implements LinkNet {
  up = true;
  readonly localAddress = "127.0.0.1";
  peerAddress: string | undefined = "127.0.0.1";
  dnsServers: string[] = [];
  dnsPort = 0;
  /** Fake DNS zone: name -> record. Unknown names get NXDOMAIN. */
  zone = new Map<string, DnsRecord>();
  dnsQueries = 0;
  dnsDrop = false;
  failConnect = new Map<string, string>();
  private persist = true;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private dnsSock: dgram.Socket | undefined;
  private readonly closers: (() => void)[] = [];

  static async create(): Promise<LoopbackNet> {
    const n = new LoopbackNet();
    await n.startDns();
    return n;
  }

  private async startDns(): Promise<void> {
    const s = dgram.createSocket("udp4");
    await new Promise<void>((res) => s.bind(0, "127.0.0.1", res));
    this.dnsSock = s;
    this.dnsPort = s.address().port;
    this.dnsServers = ["127.0.0.1"];
    s.on("message", (msg, rinfo) => {
      this.dnsQueries++;
      if (this.dnsDrop) return;
      let q;
      try {
        q = dnsPacket.decode(msg);
      } catch {
        return;
      }
      const question = q.questions?.[0];
      if (!question) return;
      const answers: dnsPacket.Answer[] = [];
      let name = question.name.toLowerCase();
      let rec = this.zone.get(name);
      for (let i = 0; i < 10 && rec !== undefined; i++) {
        if (typeof rec === "string") {
          answers.push({ type: "A", name, ttl: 60, data: rec });
          break;
        }
        if ("a" in rec) {
          for (const a of rec.a) answers.push({ type: "A", name, ttl: rec.ttl ?? 60, data: a });
          break;
        }
        answers.push({ type: "CNAME", name, ttl: rec.ttl ?? 60, data: rec.cname });
        name = rec.cname.toLowerCase();
        rec = this.zone.get(name);
      }
      const known = this.zone.has(question.name.toLowerCase());
      const reply = dnsPacket.encode({
        type: "response",
        id: q.id,
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3), // RCODE 3 = NXDOMAIN
        questions: [question],
        answers,
      });
      s.send(reply, rinfo.port, rinfo.address);
    });
  }

  setUp(up: boolean, opts: { persist?: boolean } = {}): void {
    this.up = up;
    this.persist = opts.persist ?? true;
    if (up) for (const w of this.waiters.splice(0)) w.resolve();
    else if (!this.persist) for (const w of this.waiters.splice(0)) w.reject(enetdown());
  }

  waitUp(): Promise<void> {
    if (this.up) return Promise.resolve();
    if (!this.persist) return Promise.reject(enetdown());
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  connect(host: string, port: number): LinkSocket {
    const code = this.failConnect.get(host) ?? (this.up ? undefined : "ENETDOWN");
    if (code !== undefined) {
      const s = new nodeNet.Socket();
      const err = Object.assign(new Error(`connect ${code} ${host}:${port} (test link)`), { code });
      process.nextTick(() => s.destroy(err));
      return s as unknown as LinkSocket;
    }
    if (host.startsWith("127.") === false) throw new Error(`loopback test net refuses non-loopback ${host}`);
    return nodeNet.connect({ host, port, allowHalfOpen: true }) as unknown as LinkSocket;
  }

  listen(port: number): LinkServer {
    const server = nodeNet.createServer({ allowHalfOpen: true });
    server.listen(port, "127.0.0.1");
    this.closers.push(() => server.close());
    const emitter = new EventEmitter() as EventEmitter & { port: number; close(): void };
    server.on("connection", (s) => emitter.emit("connection", s));
    server.on("listening", () => emitter.emit("listening"));
    server.on("error", (e) => emitter.emit("error", e));
    server.on("close", () => emitter.emit("close"));
    Object.defineProperty(emitter, "port", { get: () => (server.address() as nodeNet.AddressInfo | null)?.port ?? 0 });
    emitter.close = () => server.close();
    return emitter;
  }

  udp(port = 0): LinkUdpSocket {
    const s = dgram.createSocket("udp4");
    s.bind(port, "127.0.0.1");
    const emitter = new EventEmitter() as EventEmitter & LinkUdpSocket;
    let closed = false;
    s.on("message", (msg, rinfo) => emitter.emit("message", msg, rinfo));
    s.on("error", (e) => emitter.emit("error", e));
    Object.defineProperty(emitter, "port", {
      get: () => {
        try {
          return s.address().port;
        } catch {
          return 0;
        }
      },
    });
    emitter.send = (msg, p, address) => {
      if (!address.startsWith("127.")) throw new Error(`loopback test net refuses non-loopback ${address}`);
      s.send(msg, p, address);
    };
    emitter.close = () => {
      if (closed) return;
      closed = true;
      s.close();
    };
    return emitter;
  }

  ping(): Promise<PingResult> {
    return Promise.reject(Object.assign(new Error("no ping in the loopback test net"), { code: "EHOSTUNREACH" }));
  }

  close(): void {
    this.dnsSock?.close();
    for (const c of this.closers) c();
  }
}

function enetdown(): Error {
  return Object.assign(new Error("the link went down and will not come back (no persist)"), { code: "ENETDOWN" });
}

/** An HTTP/TCP target on loopback for the proxies to reach. */
export async function listenLoopback(server: nodeNet.Server): Promise<number> {
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  return (server.address() as nodeNet.AddressInfo).port;
}
