/**
 * SOCKS5 server (RFC 1928, RFC 1929) in front of the link: part of proxy/,
 * a Node edge. Programs on the laptop (curl, browsers, git, ssh with
 * ProxyCommand) reach the far side through it; the server only sees the
 * `LinkNet` contract.
 *
 * - Methods: no-auth, username/password (RFC 1929). With users configured,
 *   username/password is required; a listener off loopback without users is
 *   refused at start (an open proxy into someone's network).
 * - Commands: CONNECT, BIND (RFC 1928 §4: two replies), UDP ASSOCIATE (§7,
 *   see socks5-udp.ts). Anything else: REP 7.
 * - Destinations: IPv4, domain (resolved at the far end), IPv6 only when
 *   v4-mapped (else REP 8); loopback means the peer's own host.
 * - Every failure gets its RFC 1928 §6 REP code (repForError) and a log
 *   line; one bad client never disturbs the others.
 */
import nodeNet, { type Server, type Socket } from "node:net";
import { timingSafeEqual } from "node:crypto";
import type { LinkNet, LinkServer, LinkSocket } from "./link-net.js";
import { createDnsClient, type Resolver } from "./dns-client.js";
import { allowHalfOpen, connectLink, resolveTarget, waitForLink } from "./dial.js";
import { join } from "./join.js";
import { HandshakeReader } from "./socks5-reader.js";
import { startUdpAssociation, unmapHostAddress } from "./socks5-udp.js";
import {
  ATYP_IPV6,
  CMD_BIND,
  CMD_CONNECT,
  CMD_UDP_ASSOCIATE,
  METHOD_NO_ACCEPTABLE,
  METHOD_NO_AUTH,
  METHOD_USERPASS,
  REP,
  encodeMethodSelection,
  encodeReply,
  encodeUserPassStatus,
  parseGreeting,
  parseRequest,
  parseUserPass,
  v4MappedToIp4,
  type RepCode,
  type SocksRequest,
} from "./socks5-codec.js";
import { Counters, codedError, describeError, errorCode, silentLogger, type Logger } from "./log.js";
import { isLoopback, parseIp4 } from "../stack/util/addr.js";

export interface SocksServerOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Listen port (default 1080; 0 = ephemeral). */
  port?: number;
  /** username -> password; when non-empty, RFC 1929 auth is required. */
  users?: Record<string, string>;
  /** Name resolution at the far end (default: a DnsClient over `net`). */
  resolver?: Resolver;
  log?: Logger;
  /** How long a request waits for a link that is down (default 30 s). */
  linkWaitMs?: number;
  /** Connect timeout over the link (default 30 s; the far stack may time out first). */
  connectTimeoutMs?: number;
  /** How long BIND waits for the incoming connection (default 120 s). */
  bindTimeoutMs?: number;
  /** Greeting + auth + request must arrive within this (default 30 s). */
  handshakeTimeoutMs?: number;
}

export interface SocksHandler {
  /** Serve one accepted client connection (also used by shared-port.ts). */
  handleSocket(sock: Socket): void;
  readonly stats: Counters;
  /** Destroy every client connection. */
  closeAll(): void;
}

export interface SocksServer extends SocksHandler {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** RFC 1928 §6 REP for a Node-style error code. */
export function repForError(err: unknown): RepCode {
  const code = errorCode(err);
  const msg = err instanceof Error ? err.message : "";
  switch (code) {
    case "ECONNREFUSED":
      return REP.CONNECTION_REFUSED;
    case "ENETUNREACH":
    case "ENETDOWN":
      return REP.NETWORK_UNREACHABLE;
    case "EHOSTUNREACH":
    case "ENODNS":
    case "ENOTFOUND":
    case "ENODATA":
    case "EBADNAME":
    case "ESERVFAIL":
      return REP.HOST_UNREACHABLE;
    case "ETIMEDOUT":
      return /\bTTL\b/i.test(msg) ? REP.TTL_EXPIRED : REP.HOST_UNREACHABLE;
    case "ETTLEXPIRED":
      return REP.TTL_EXPIRED;
    case "EAFNOSUPPORT":
      return REP.ATYP_NOT_SUPPORTED;
    default:
      return REP.GENERAL_FAILURE;
  }
}

/** True when `host` is a loopback listen address (127/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const v4 = parseIp4(host);
  if (v4 !== undefined) return isLoopback(v4);
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || h === "[::1]";
}

/** How long a refused client gets to read our last reply before we drop it. */
const LINGER_MS = 2000;

/** Send a final reply and close (RFC 1928 §6: "MUST terminate the TCP connection shortly after"). */
function endWith(sock: Socket, bytes?: Uint8Array): void {
  if (sock.destroyed) return;
  if (bytes) sock.end(bytes);
  else sock.end();
  sock.resume(); // drain whatever the client still sends, so close() does not turn into RST
  setTimeout(() => sock.destroy(), LINGER_MS).unref();
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createSocksHandler(net: LinkNet, opts: SocksServerOptions = {}): SocksHandler {
  const log = opts.log ?? silentLogger;
  const resolver = opts.resolver ?? createDnsClient(net, { log });
  const users = new Map(Object.entries(opts.users ?? {}));
  const linkWaitMs = opts.linkWaitMs ?? 30_000;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 30_000;
  const bindTimeoutMs = opts.bindTimeoutMs ?? 120_000;
  const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 30_000;
  const stats = new Counters();
  const clients = new Set<Socket>();

  function fail(sock: Socket, who: string, what: string, rep: RepCode, err: unknown): void {
    stats.add(`rep ${rep}`);
    log("info", `socks ${who}: ${what}: ${describeError(err)} -> REP ${rep}`);
    endWith(sock, encodeReply(rep));
  }

  /** The destination as a host string resolveTarget understands; IPv6 only when v4-mapped. */
  function destinationHost(req: SocksRequest): string {
    if (req.dst.atyp === ATYP_IPV6) {
      const mapped = v4MappedToIp4(req.dst.bytes);
      if (mapped !== undefined) return mapped;
      const loop = req.dst.bytes.every((b, i) => b === (i === 15 ? 1 : 0));
      if (loop) return "::1";
      throw codedError("EAFNOSUPPORT", `${req.dst.host} is IPv6 and the link is IPv4 only`);
    }
    return req.dst.host;
  }

  async function serve(sock: Socket): Promise<void> {
    const who = `${unmapHostAddress(sock.remoteAddress)}:${sock.remotePort}`;
    const reader = new HandshakeReader(sock);
    const timer = setTimeout(() => {
      stats.add("handshake timeout");
      log("info", `socks ${who}: handshake not finished in ${handshakeTimeoutMs} ms, closing`);
      sock.destroy();
    }, handshakeTimeoutMs);
    try {
      // RFC 1928 §3 method negotiation.
      const g = await reader.read(parseGreeting);
      if (g.kind !== "ok") {
        if (g.kind === "bad") {
          stats.add("bad greeting");
          log("info", `socks ${who}: ${g.reason}, closing`);
        }
        sock.destroy();
        return;
      }
      const authRequired = users.size > 0;
      let method: number = METHOD_NO_ACCEPTABLE;
      if (authRequired) {
        if (g.value.methods.includes(METHOD_USERPASS)) method = METHOD_USERPASS;
      } else if (g.value.methods.includes(METHOD_NO_AUTH)) method = METHOD_NO_AUTH;
      if (method === METHOD_NO_ACCEPTABLE) {
        stats.add("no acceptable method");
        log("info", `socks ${who}: offers methods [${g.value.methods.join(",")}], ` +
          (authRequired ? "username/password (2) is required" : "no-auth (0) not offered"));
        endWith(sock, encodeMethodSelection(METHOD_NO_ACCEPTABLE));
        return;
      }
      sock.write(encodeMethodSelection(method));

      // RFC 1929 username/password.
      if (method === METHOD_USERPASS) {
        const a = await reader.read(parseUserPass);
        if (a.kind !== "ok") {
          if (a.kind === "bad") log("info", `socks ${who}: ${a.reason}, closing`);
          stats.add("bad auth message");
          endWith(sock, encodeUserPassStatus(false));
          return;
        }
        const expected = users.get(a.value.username);
        if (expected === undefined || !safeEqual(expected, a.value.password)) {
          stats.add("auth failed");
          log("info", `socks ${who}: authentication failed for user "${a.value.username}"`);
          endWith(sock, encodeUserPassStatus(false)); // RFC 1929 §2: status != 0 -> MUST close
          return;
        }
        sock.write(encodeUserPassStatus(true));
      }

      // RFC 1928 §4 request.
      const r = await reader.read(parseRequest);
      if (r.kind !== "ok") {
        if (r.kind === "bad") {
          const rep = (r.rep ?? REP.GENERAL_FAILURE) as RepCode;
          stats.add(`bad request`);
          fail(sock, who, "malformed request", rep, new Error(r.reason));
        } else sock.destroy();
        return;
      }
      clearTimeout(timer);
      const req = r.value;
      if (req.cmd !== CMD_CONNECT && req.cmd !== CMD_BIND && req.cmd !== CMD_UDP_ASSOCIATE) {
        fail(sock, who, `command ${req.cmd}`, REP.COMMAND_NOT_SUPPORTED, new Error("unsupported command"));
        return;
      }
      const target = `${req.dst.host}:${req.port}`;
      if (req.cmd === CMD_UDP_ASSOCIATE) {
        reader.detach();
        await udpAssociate(sock, who, req);
        return;
      }
      let host: string;
      try {
        host = destinationHost(req);
        await waitForLink(net, linkWaitMs);
      } catch (err) {
        fail(sock, who, `${target}`, repForError(err), err);
        return;
      }
      if (req.cmd === CMD_CONNECT) {
        let link: LinkSocket;
        try {
          const ip = await resolveTarget(host, net, resolver);
          link = await connectLink(net, ip, req.port, connectTimeoutMs);
        } catch (err) {
          fail(sock, who, `CONNECT ${target}`, repForError(err), err);
          return;
        }
        if (sock.destroyed) {
          link.destroy();
          return;
        }
        stats.add("connect ok");
        log("debug", `socks ${who}: CONNECT ${target} via ${link.localAddress}:${link.localPort}`);
        sock.write(encodeReply(REP.SUCCEEDED, link.localAddress, link.localPort));
        reader.detach();
        relay(sock, link, who, `CONNECT ${target}`);
        return;
      }
      await bind(sock, reader, who, target);
    } catch (err) {
      // A bug, not the peer's fault: answer REP 1, keep serving others.
      stats.add("internal error");
      log("error", `socks ${who}: internal error: ${err instanceof Error ? err.stack : String(err)}`);
      endWith(sock, encodeReply(REP.GENERAL_FAILURE));
    } finally {
      clearTimeout(timer);
    }
  }

  function relay(sock: Socket, link: LinkSocket, who: string, what: string): void {
    join(sock, link, (err) => {
      if (err && errorCode(err) !== "ERR_STREAM_PREMATURE_CLOSE") log("info", `socks ${who}: ${what} ended: ${describeError(err)}`);
      else log("debug", `socks ${who}: ${what} closed`);
    });
  }

  async function bind(sock: Socket, reader: HandshakeReader, who: string, target: string): Promise<void> {
    let server: LinkServer;
    try {
      server = net.listen(0);
      if (server.port === 0) await new Promise<void>((res, rej) => (server.once("listening", res), server.once("error", rej)));
    } catch (err) {
      fail(sock, who, `BIND ${target}`, repForError(err), err);
      return;
    }
    // RFC 1928 §4 BIND, first reply: where the far side must connect to.
    sock.write(encodeReply(REP.SUCCEEDED, net.localAddress, server.port));
    log("debug", `socks ${who}: BIND listening on ${net.localAddress}:${server.port}`);
    const incoming = await new Promise<LinkSocket | Error>((resolve) => {
      const timer = setTimeout(() => resolve(codedError("ETIMEDOUT", `no connection within ${bindTimeoutMs} ms`)), bindTimeoutMs);
      const done = (v: LinkSocket | Error) => {
        clearTimeout(timer);
        sock.off("close", onClose);
        resolve(v);
      };
      const onClose = () => done(new Error("control connection closed"));
      sock.once("close", onClose);
      server.once("connection", (s: LinkSocket) => done(s));
      server.once("error", (e: Error) => done(e));
    });
    server.close();
    if (incoming instanceof Error) {
      fail(sock, who, `BIND ${target}`, repForError(incoming), incoming);
      return;
    }
    if (sock.destroyed) {
      incoming.destroy();
      return;
    }
    stats.add("bind ok");
    allowHalfOpen(incoming);
    // Second reply: who connected.
    sock.write(encodeReply(REP.SUCCEEDED, incoming.remoteAddress, incoming.remotePort));
    reader.detach();
    relay(sock, incoming, who, `BIND ${target}`);
  }

  async function udpAssociate(sock: Socket, who: string, req: SocksRequest): Promise<void> {
    let assoc;
    try {
      await waitForLink(net, linkWaitMs);
      assoc = await startUdpAssociation(sock, { dst: req.dst, port: req.port }, net, resolver, stats, log);
    } catch (err) {
      fail(sock, who, "UDP ASSOCIATE", repForError(err), err);
      return;
    }
    stats.add("udp associate ok");
    log("debug", `socks ${who}: UDP ASSOCIATE relay at ${assoc.address}:${assoc.port}`);
    sock.write(encodeReply(REP.SUCCEEDED, assoc.address, assoc.port));
    // RFC 1928 §7: the association lives as long as the control connection.
    const end = () => {
      assoc.close();
      if (!sock.destroyed) sock.end();
    };
    sock.on("end", end);
    sock.on("close", end);
    sock.on("error", end);
    sock.resume(); // nothing is expected on it; read to see FIN
  }

  return {
    stats,
    handleSocket(sock: Socket): void {
      clients.add(sock);
      sock.on("close", () => clients.delete(sock));
      sock.on("error", (err) => log("debug", `socks client socket: ${describeError(err)}`));
      sock.setNoDelay(true);
      void serve(sock);
    },
    closeAll(): void {
      for (const s of clients) s.destroy();
    },
  };
}

export async function startSocksServer(net: LinkNet, opts: SocksServerOptions = {}): Promise<SocksServer> {
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? 1080;
  if (!isLoopbackHost(host) && Object.keys(opts.users ?? {}).length === 0)
    throw codedError(
      "EUSAGE",
      `SOCKS listener on ${host} is not loopback: refusing to start an open proxy; give users (username/password) or listen on 127.0.0.1`,
    );
  const handler = createSocksHandler(net, opts);
  const server: Server = nodeNet.createServer({ allowHalfOpen: true }, (s) => handler.handleSocket(s));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => (opts.log ?? silentLogger)("error", `socks listener: ${describeError(err)}`));
  const addr = server.address() as nodeNet.AddressInfo;
  return {
    ...handler,
    stats: handler.stats,
    address: addr.address,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        handler.closeAll();
        server.close(() => resolve());
      }),
  };
}
