/**
 * The HTTP front door (proxy/): one node:http server carrying both the
 * HTTP proxy (http-proxy.ts) and a fastify 5 app for the status API and
 * page. fastify's router strips absolute-form URLs and never sees CONNECT,
 * so `serverFactory` splits the traffic first: absolute-form and `/gw/...`
 * to the proxy, 'connect' to the tunnel handler, everything else (`/`,
 * `/api/status`) to fastify.
 *
 * With `users`, the pages need `Authorization: Basic` too (401 +
 * WWW-Authenticate), checked in an onRequest hook before any route.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import type { LinkNet } from "./link-net.js";
import { authRefusalBody, checkHttpListen, createHttpProxy, type HttpProxy, type HttpProxyOptions } from "./http-proxy.js";
import { BASIC_CHALLENGE } from "./http-auth.js";
import { silentLogger } from "./log.js";

export interface WebServerOptions extends HttpProxyOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 = ephemeral. */
  port?: number;
  /** Extra status for /api/status and / (the app's view: line, addresses, counters). */
  status?: () => unknown;
}

export interface WebServer {
  readonly address: string;
  readonly port: number;
  readonly proxy: HttpProxy;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export interface StatusBody {
  link: { up: boolean; localAddress?: string; peerAddress?: string; dnsServers: string[] };
  http: Record<string, number>;
  app?: unknown;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderStatusPage(s: StatusBody, self: string): string {
  const rows = (o: Record<string, unknown>) =>
    Object.entries(o)
      .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(typeof v === "string" ? v : JSON.stringify(v) ?? "")}</td></tr>`)
      .join("");
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>ppproxy</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style>
</head><body>
<h1>ppproxy: link ${s.link.up ? "up" : "down"}</h1>
<table>${rows(s.link)}</table>
<h2>HTTP proxy</h2><table>${rows(s.http)}</table>
${s.app === undefined ? "" : `<h2>App</h2><pre>${escapeHtml(JSON.stringify(s.app, null, 2) ?? "")}</pre>`}
<p>Gateway: <code>http://${escapeHtml(self)}/gw/HOST[:PORT]/PATH</code> fetches <code>http://HOST[:PORT]/PATH</code> over the link.
JSON: <a href="/api/status">/api/status</a></p>
</body></html>
`;
}

/** The proxy + fastify on a node:http server that is not listening yet (shared-port.ts feeds it sockets). */
export async function createWebServer(net: LinkNet, opts: WebServerOptions = {}): Promise<{ server: http.Server; proxy: HttpProxy; app: FastifyInstance }> {
  const proxy = createHttpProxy(net, opts);
  const app = Fastify({
    logger: false,
    serverFactory: (fastifyHandler) => {
      const server = http.createServer((req, res) => {
        if (proxy.isProxyRequest(req)) proxy.handleRequest(req, res);
        else fastifyHandler(req, res);
      });
      server.on("connect", proxy.handleConnect);
      return server;
    },
    clientErrorHandler: (err, socket) => proxy.handleClientError(err, socket),
  });

  // The pages (and their 404s) are ours as an origin: Authorization, 401.
  app.addHook("onRequest", async (req, reply) => {
    if (proxy.authorize(req.raw, "origin").ok) return;
    reply.code(401).header("www-authenticate", BASIC_CHALLENGE).type("text/plain; charset=utf-8").send(authRefusalBody("origin"));
    return reply;
  });

  const statusBody = (): StatusBody => ({
    link: { up: net.up, localAddress: net.localAddress, peerAddress: net.peerAddress, dnsServers: net.dnsServers },
    http: proxy.stats.snapshot(),
    app: opts.status?.(),
  });
  app.get("/api/status", async () => statusBody());
  app.get("/", async (req, reply) => {
    reply.type("text/html; charset=utf-8");
    return renderStatusPage(statusBody(), req.headers.host ?? "127.0.0.1:8080");
  });

  await app.ready();
  return { server: app.server, proxy, app };
}

export async function startWebServer(net: LinkNet, opts: WebServerOptions = {}): Promise<WebServer> {
  const log = opts.log ?? silentLogger;
  const { proxy, app } = await createWebServer(net, opts);
  const host = opts.host ?? "127.0.0.1";
  checkHttpListen(host, opts.users);
  await app.listen({ host, port: opts.port ?? 8080 });
  const addr = app.server.address() as AddressInfo;
  log("debug", `http: listening on ${addr.address}:${addr.port}`);
  return {
    address: addr.address,
    port: addr.port,
    proxy,
    app,
    async close() {
      await proxy.close();
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
