/**
 * HTTP proxy and gateway over the link (proxy/, a Node edge).
 *
 *  - absolute-form requests (RFC 9112 §3.2.2), any method, bodies streamed
 *    both ways, forwarded through an undici Agent whose `connect` opens
 *    `LinkNet.connect()` sockets (name resolved at the far end); keep-alive
 *    pools connections per origin, which pays on a slow link.
 *  - `CONNECT host:port` (RFC 9110 §9.3.6) tunnels, joined both ways.
 *  - the gateway form for a browser with no proxy settings:
 *    `/gw/HOST[:PORT]/PATH?query` fetches `http://HOST[:PORT]/PATH?query`;
 *    Location headers pointing back at that host are rewritten to `/gw/...`.
 *  - hop-by-hop headers (RFC 9110 §7.6.1) are removed both ways, `Via` added
 *    (RFC 9110 §7.6.3).
 *  - errors: 400 malformed, 502 refused/reset/unresolvable (short text body
 *    naming the cause), 504 timeouts.
 *  - with `users`, Basic authentication (http-auth.ts): proxy requests and
 *    CONNECT need Proxy-Authorization (else 407), the gateway needs
 *    Authorization (else 401); our credentials are never forwarded.
 *
 * Only the handlers live here; web.ts puts them on one node:http server
 * with fastify for the status pages, `startHttpProxy` runs them alone.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { pipeline } from "node:stream";
import type { AddressInfo, Socket } from "node:net";
import { Agent, request } from "undici";
import type { LinkNet } from "./link-net.js";
import { createDnsClient, type Resolver } from "./dns-client.js";
import { dial, waitForLink } from "./dial.js";
import { join } from "./join.js";
import { Counters, codedError, describeError, errorCode, silentLogger, type Logger } from "./log.js";
import { isLoopbackHost } from "./socks5-server.js";
import { BASIC_CHALLENGE, BasicAuth, challengeFor, credentialsHeader, type AuthKind, type AuthVerdict } from "./http-auth.js";

/** RFC 9110 §7.6.1 hop-by-hop fields, plus the proxy-only ones. */
const HOP_BY_HOP = new Set([
  "connection",
  "proxy-connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  // RFC 9110 §10.1.1: Expect is between the client and us (Node answers 100-continue).
  "expect",
]);
/** RFC 9110 §7.6.3 Via pseudonym. */
const VIA = "1.1 ppproxy";
/** Gateway path prefix. */
export const GW_PREFIX = "/gw/";

export interface HttpProxyOptions {
  resolver?: Resolver;
  /** USER -> PASS; when non-empty every request needs Basic credentials (407 for the proxy, 401 for /gw/ and the pages). */
  users?: Record<string, string>;
  log?: Logger;
  /** How long a request waits for a link that is down (default 30 s). */
  linkWaitMs?: number;
  /** Connect timeout over the link (default 30 s). */
  connectTimeoutMs?: number;
  /** undici: time to the response headers (default 120 s). */
  headersTimeoutMs?: number;
  /** undici: idle time inside a response body (default 300 s). */
  bodyTimeoutMs?: number;
  /** undici: idle keep-alive connection lifetime (default 30 s). */
  keepAliveTimeoutMs?: number;
}

export interface HttpProxy {
  /** Absolute-form request or a /gw/ path: ours, not the web pages'. */
  isProxyRequest(req: IncomingMessage): boolean;
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleConnect(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** For 'clientError': a malformed request gets 400. */
  handleClientError(err: Error, socket: Duplex): void;
  readonly stats: Counters;
  /** The accounts (empty: no authentication); web.ts checks its pages with it. */
  readonly auth: BasicAuth;
  /** Check `req`'s credentials of `kind`; on refusal, log it and count it, and return the refusal. */
  authorize(req: IncomingMessage, kind: AuthKind): AuthVerdict;
  close(): Promise<void>;
}

/** Short text body of a 401/407 refusal. */
export function authRefusalBody(kind: AuthKind): string {
  const { status } = challengeFor(kind);
  return kind === "proxy"
    ? `${status} ${reasonPhrase(status)}: this proxy needs a user name and password (curl --proxy-user USER:PASS)\n`
    : `${status} ${reasonPhrase(status)}: the gateway and pages need a user name and password\n`;
}

/**
 * An HTTP listener off loopback needs users, as the SOCKS one does (socks5-server.ts): an open
 * proxy on a LAN hands the link to anyone who finds it. Throws EUSAGE naming the fix.
 */
export function checkHttpListen(host: string, users: Record<string, string> | undefined): void {
  if (!isLoopbackHost(host) && Object.keys(users ?? {}).length === 0)
    throw codedError(
      "EUSAGE",
      `HTTP proxy listener on ${host} is not loopback: refusing to start an open proxy; give --http-user USER:PASS (HTTP users) or listen on 127.0.0.1`,
    );
}

export type Target = { url: URL; gateway: boolean };

/** The request target as an http: URL, or a reason it is malformed. */
export function parseTarget(rawUrl: string): Target | { error: string } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rawUrl)) {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return { error: `malformed absolute URL ${JSON.stringify(rawUrl)}` };
    }
    if (url.protocol === "https:") return { error: "https:// URLs go through CONNECT (set this proxy for HTTPS too)" };
    if (url.protocol !== "http:") return { error: `scheme ${url.protocol} is not proxied` };
    if (!url.hostname) return { error: "absolute URL has no host" };
    return { url, gateway: false };
  }
  if (rawUrl.startsWith(GW_PREFIX)) {
    const rest = rawUrl.slice(GW_PREFIX.length);
    const cut = rest.search(/[/?#]/);
    const authority = cut === -1 ? rest : rest.slice(0, cut);
    let tail = cut === -1 ? "/" : rest.slice(cut);
    if (!tail.startsWith("/")) tail = "/" + tail;
    if (!authority) return { error: "gateway path has no host: use /gw/HOST[:PORT]/PATH" };
    let url: URL;
    try {
      url = new URL(`http://${authority}${tail}`);
    } catch {
      return { error: `malformed gateway target ${JSON.stringify(authority)}` };
    }
    if (url.username || url.password || url.host !== authority.toLowerCase()) return { error: `malformed gateway host ${JSON.stringify(authority)}` };
    return { url, gateway: true };
  }
  return { error: "not a proxy request" };
}

/** The Connection header's listed field names (RFC 9110 §7.6.1), lower-case. */
function connectionTokens(value: string | string[] | undefined): Set<string> {
  const all = Array.isArray(value) ? value.join(",") : (value ?? "");
  return new Set(all.split(",").map((t) => t.trim().toLowerCase()).filter(Boolean));
}

/**
 * Flat [name, value, ...] request headers for undici: hop-by-hop gone (Proxy-Authorization among
 * them), Host set, Via appended; `drop` names more fields to remove (lower-case, e.g. our own
 * Authorization on the gateway).
 */
export function forwardRequestHeaders(rawHeaders: string[], host: string, drop?: ReadonlySet<string>): string[] {
  const listed = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2)
    if (rawHeaders[i].toLowerCase() === "connection") for (const t of connectionTokens(rawHeaders[i + 1])) listed.add(t);
  const out: string[] = ["host", host];
  let via: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower) || lower === "host" || drop?.has(lower)) continue;
    if (lower === "via") {
      via = via ? `${via}, ${rawHeaders[i + 1]}` : rawHeaders[i + 1];
      continue;
    }
    out.push(name, rawHeaders[i + 1]);
  }
  out.push("via", via ? `${via}, ${VIA}` : VIA);
  return out;
}

/** Response headers for the client: hop-by-hop gone, Via appended, Location rewritten for the gateway. */
export function forwardResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
  gatewayOf: URL | undefined,
): Record<string, string | string[]> {
  const listed = connectionTokens(headers["connection"]);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
    out[lower] = value;
  }
  const via = out["via"];
  out["via"] = via ? `${Array.isArray(via) ? via.join(", ") : via}, ${VIA}` : VIA;
  if (gatewayOf && typeof out["location"] === "string") out["location"] = rewriteLocation(out["location"], gatewayOf);
  return out;
}

/** Absolute Locations back to the gateway's host (and root-relative ones) -> /gw/HOST[:PORT]/... */
export function rewriteLocation(location: string, target: URL): string {
  if (location.startsWith("/") && !location.startsWith("//")) return `${GW_PREFIX}${target.host}${location}`;
  let loc: URL;
  try {
    loc = new URL(location);
  } catch {
    return location;
  }
  if (loc.protocol !== "http:" || loc.host !== target.host) return location;
  return `${GW_PREFIX}${loc.host}${loc.pathname}${loc.search}${loc.hash}`;
}

/** HTTP status for an error reaching the far side. */
export function statusForError(err: unknown): 502 | 504 {
  const code = errorCode(err);
  if (code === "ETIMEDOUT" || code === "UND_ERR_CONNECT_TIMEOUT" || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT")
    return 504;
  return 502;
}

function reasonPhrase(status: number): string {
  return http.STATUS_CODES[status] ?? "Error";
}

/** A complete short text response on a raw socket (CONNECT failures, clientError); `extra` are more header lines. */
function rawResponse(socket: Duplex, status: number, text: string, extra = "", body = `${status} ${reasonPhrase(status)}: ${text}\n`): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\nVia: ${VIA}\r\n${extra}\r\n${body}`,
  );
}

/** "host:port" of a CONNECT request (RFC 9110 §9.3.6 authority-form), IPv6 in brackets. */
export function parseAuthority(text: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s/@[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1], port };
}

export function createHttpProxy(net: LinkNet, opts: HttpProxyOptions = {}): HttpProxy {
  const log = opts.log ?? silentLogger;
  const resolver = opts.resolver ?? createDnsClient(net, { log });
  const dialOpts = { linkWaitMs: opts.linkWaitMs ?? 30_000, connectTimeoutMs: opts.connectTimeoutMs ?? 30_000 };
  const stats = new Counters();
  const tunnels = new Set<Duplex>();
  const auth = new BasicAuth(opts.users);
  /** The gateway's Authorization is ours when we ask for it: never forwarded to the origin. */
  const gatewayDrop: ReadonlySet<string> = new Set(auth.enabled ? ["authorization"] : []);

  function authorize(req: IncomingMessage, kind: AuthKind): AuthVerdict {
    const v = auth.check(req.headers[credentialsHeader(kind)]);
    if (!v.ok) {
      const { status } = challengeFor(kind);
      stats.add(`status ${status}`);
      stats.add(`auth refused: ${v.reason.startsWith("no credentials") ? "no credentials" : "bad credentials"}`);
      // The URL and the user name at most: never the header (it carries the password).
      log("info", `http: ${req.method} ${req.url} from ${req.socket.remoteAddress}: ${v.reason} -> ${status}`);
    }
    return v;
  }

  /** 401/407 with the Basic challenge on a response. */
  function refuse(res: ServerResponse, kind: AuthKind): void {
    const { status, header } = challengeFor(kind);
    const body = authRefusalBody(kind);
    res.writeHead(status, {
      "content-type": "text/plain; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      [header]: BASIC_CHALLENGE,
      via: VIA,
    });
    res.end(body);
  }

  const agent = new Agent({
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 30_000,
    headersTimeout: opts.headersTimeoutMs ?? 120_000,
    bodyTimeout: opts.bodyTimeoutMs ?? 300_000,
    connect: (o, cb) => {
      const port = Number(o.port) || 80;
      dial(net, resolver, o.hostname, port, dialOpts).then(
        (sock) => cb(null, sock as unknown as Socket),
        (err: Error) => cb(err, null),
      );
    },
  });

  function fail(res: ServerResponse, status: number, text: string): void {
    stats.add(`status ${status}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = `${status} ${reasonPhrase(status)}: ${text}\n`;
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), via: VIA });
    res.end(body);
  }

  async function forward(req: IncomingMessage, res: ServerResponse, target: Target): Promise<void> {
    const { url, gateway } = target;
    const method = req.method ?? "GET";
    const hasBody = req.headers["content-length"] !== undefined ? req.headers["content-length"] !== "0" : req.headers["transfer-encoding"] !== undefined;
    const headers = forwardRequestHeaders(req.rawHeaders, url.host, gateway ? gatewayDrop : undefined);
    // A client that goes away abandons the upstream request too: no point filling a slow link for nobody.
    const abort = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) abort.abort(Object.assign(new Error("client went away"), { code: "ECONNABORTED" }));
    });
    let upstream;
    try {
      // Pooled keep-alive sockets belong to the link too: a down link fails the request here, not later.
      await waitForLink(net, dialOpts.linkWaitMs);
      upstream = await request(url, {
        dispatcher: agent,
        method: method as "GET",
        headers,
        body: hasBody ? req : undefined,
        signal: abort.signal,
      });
    } catch (err) {
      if (abort.signal.aborted) {
        stats.add("client went away");
        log("debug", `http: ${method} ${url.href}: client went away`);
        return;
      }
      const status = statusForError(err);
      log("info", `http: ${method} ${url.href}: ${describeError(err)} -> ${status}`);
      fail(res, status, describeError(err));
      return;
    }
    stats.add("forwarded");
    log("debug", `http: ${method} ${url.href} -> ${upstream.statusCode}`);
    res.writeHead(upstream.statusCode, forwardResponseHeaders(upstream.headers, gateway ? url : undefined));
    pipeline(upstream.body, res, (err) => {
      if (err && errorCode(err) !== "ERR_STREAM_PREMATURE_CLOSE") log("info", `http: ${method} ${url.href}: body: ${describeError(err)}`);
    });
  }

  return {
    stats,
    auth,
    authorize,
    isProxyRequest(req) {
      const u = req.url ?? "";
      return /^[a-z][a-z0-9+.-]*:\/\//i.test(u) || u.startsWith(GW_PREFIX);
    },
    handleRequest(req, res) {
      // Absolute-form is a proxy request (407); /gw/ is a browser talking to us as an origin (401).
      const kind: AuthKind = (req.url ?? "").startsWith(GW_PREFIX) ? "origin" : "proxy";
      if (!authorize(req, kind).ok) {
        req.resume(); // drain a body, so the connection can carry the retry
        refuse(res, kind);
        return;
      }
      const t = parseTarget(req.url ?? "");
      if ("error" in t) {
        log("info", `http: ${req.method} ${req.url}: ${t.error} -> 400`);
        req.resume();
        fail(res, 400, t.error);
        return;
      }
      forward(req, res, t).catch((err) => {
        log("error", `http: internal error: ${err instanceof Error ? err.stack : String(err)}`);
        fail(res, 502, "internal error");
      });
    },
    handleConnect(req, socket, head) {
      const where = parseAuthority(req.url ?? "");
      socket.on("error", (err) => log("debug", `http CONNECT client socket: ${describeError(err)}`));
      if (!authorize(req, "proxy").ok) {
        // Before any tunnel: the client retries on a new connection with credentials.
        rawResponse(socket, 407, "", `Proxy-Authenticate: ${BASIC_CHALLENGE}\r\n`, authRefusalBody("proxy"));
        return;
      }
      if (!where) {
        stats.add("status 400");
        log("info", `http: CONNECT ${req.url}: not host:port -> 400`);
        rawResponse(socket, 400, "CONNECT needs host:port");
        return;
      }
      tunnels.add(socket);
      socket.on("close", () => tunnels.delete(socket));
      dial(net, resolver, where.host, where.port, dialOpts).then(
        (link) => {
          if (socket.destroyed) {
            link.destroy();
            return;
          }
          stats.add("tunnels");
          log("debug", `http: CONNECT ${req.url} via ${link.localAddress}:${link.localPort}`);
          socket.write(`HTTP/1.1 200 Connection Established\r\nVia: ${VIA}\r\n\r\n`);
          if (head.length > 0) link.write(head);
          join(socket, link, (err) => {
            if (err && errorCode(err) !== "ERR_STREAM_PREMATURE_CLOSE") log("info", `http: CONNECT ${req.url} ended: ${describeError(err)}`);
          });
        },
        (err) => {
          const status = statusForError(err);
          stats.add(`status ${status}`);
          log("info", `http: CONNECT ${req.url}: ${describeError(err)} -> ${status}`);
          rawResponse(socket, status, describeError(err));
        },
      );
    },
    handleClientError(err, socket) {
      stats.add("status 400");
      log("info", `http: malformed request: ${describeError(err)} -> 400`);
      rawResponse(socket, 400, "malformed request");
    },
    async close() {
      for (const t of tunnels) t.destroy();
      await agent.close().catch(() => agent.destroy());
    },
  };
}

export interface HttpProxyServer {
  readonly address: string;
  readonly port: number;
  readonly server: http.Server;
  readonly proxy: HttpProxy;
  close(): Promise<void>;
}

export interface StartHttpProxyOptions extends HttpProxyOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 = ephemeral. */
  port?: number;
}

/** The proxy alone on a plain node:http server (no status pages: see web.ts). */
export async function startHttpProxy(net: LinkNet, opts: StartHttpProxyOptions = {}): Promise<HttpProxyServer> {
  checkHttpListen(opts.host ?? "127.0.0.1", opts.users);
  const proxy = createHttpProxy(net, opts);
  const server = http.createServer((req, res) => {
    if (proxy.isProxyRequest(req)) proxy.handleRequest(req, res);
    else {
      req.resume();
      res.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
      res.end("400 Bad Request: origin-form request to a proxy; use an absolute URL, CONNECT or /gw/HOST/PATH\n");
    }
  });
  server.on("connect", proxy.handleConnect);
  server.on("clientError", proxy.handleClientError);
  await listen(server, opts.host ?? "127.0.0.1", opts.port ?? 8080);
  const addr = server.address() as AddressInfo;
  return { address: addr.address, port: addr.port, server, proxy, close: () => closeServer(server, proxy) };
}

export function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

async function closeServer(server: http.Server, proxy: HttpProxy): Promise<void> {
  await proxy.close();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
