/**
 * SOCKS5 and HTTP on one port (proxy/): the first byte of a connection says
 * which. RFC 1928 §3: a SOCKS5 client speaks first with VER = 0x05; no HTTP
 * request line starts with that byte. The byte is put back (`unshift`) and
 * the socket handed to the SOCKS handler or to the node:http server
 * (`emit('connection')`). The HTTP side checks `web.users`, the SOCKS side
 * `socks.users`.
 */
import nodeNet, { type AddressInfo, type Socket } from "node:net";
import type { LinkNet } from "./link-net.js";
import { createSocksHandler, isLoopbackHost, type SocksServerOptions } from "./socks5-server.js";
import { createWebServer, type WebServerOptions } from "./web.js";
import { Counters, codedError, describeError, silentLogger, type Logger } from "./log.js";
import { SOCKS_VERSION } from "./socks5-codec.js";

export interface SharedPortOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 1080; 0 = ephemeral. */
  port?: number;
  socks?: Omit<SocksServerOptions, "host" | "port">;
  web?: Omit<WebServerOptions, "host" | "port">;
  log?: Logger;
  /** A client that sends nothing for this long is dropped (default 30 s). */
  sniffTimeoutMs?: number;
}

export interface SharedPortServer {
  readonly address: string;
  readonly port: number;
  readonly stats: Counters;
  close(): Promise<void>;
}

export async function startSharedPort(net: LinkNet, opts: SharedPortOptions = {}): Promise<SharedPortServer> {
  const log = opts.log ?? silentLogger;
  const host = opts.host ?? "127.0.0.1";
  // Off loopback both sides need their own users: SOCKS (RFC 1929) and HTTP (Basic); neither may be an open proxy.
  if (!isLoopbackHost(host) && (Object.keys(opts.socks?.users ?? {}).length === 0 || Object.keys(opts.web?.users ?? {}).length === 0))
    throw codedError(
      "EUSAGE",
      `shared SOCKS/HTTP listener on ${host} is not loopback: give SOCKS users (--socks-user USER:PASS) and HTTP users (--http-user USER:PASS) or listen on 127.0.0.1`,
    );
  const socks = createSocksHandler(net, { log, ...opts.socks });
  const web = await createWebServer(net, { log, ...opts.web });
  const stats = new Counters();
  const sniffTimeoutMs = opts.sniffTimeoutMs ?? 30_000;
  const pending = new Set<Socket>();

  const server = nodeNet.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => {
    pending.add(sock);
    const timer = setTimeout(() => sock.destroy(), sniffTimeoutMs);
    sock.on("error", (err) => log("debug", `shared port: ${describeError(err)}`));
    sock.once("close", () => {
      clearTimeout(timer);
      pending.delete(sock);
    });
    sock.once("data", (first: Buffer) => {
      clearTimeout(timer);
      pending.delete(sock);
      sock.pause();
      sock.unshift(first);
      if (first[0] === SOCKS_VERSION) {
        stats.add("socks");
        socks.handleSocket(sock);
      } else {
        stats.add("http");
        web.server.emit("connection", sock);
      }
      sock.resume();
    });
    sock.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 1080, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    address: addr.address,
    port: addr.port,
    stats,
    async close() {
      for (const s of pending) s.destroy();
      socks.closeAll();
      await web.proxy.close();
      web.server.closeAllConnections();
      await web.app.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
