/**
 * Port forwards across the link, as in ssh (proxy/, a Node edge):
 *
 *  - `--forward [ADDR:]PORT=HOST:PORT` (like `ssh -L`): listen locally
 *    (default 127.0.0.1) and connect each client across the link to
 *    HOST:PORT; HOST is resolved at the far end, loopback HOST = the peer.
 *  - `--expose PORT=LOCALHOST:PORT` (like `ssh -R`): listen on our link
 *    address (`LinkNet.listen(PORT)`) and hand each connection to a local
 *    service with `net.connect`. The listener follows the link: it opens
 *    when the link comes up and again after every re-dial.
 *
 * Spec parsers return values or throw a `UsageError`-style error (code
 * EUSAGE) naming the option, the bad part and an example.
 */
import nodeNet, { type AddressInfo, type Socket } from "node:net";
import type { LinkNet, LinkServer, LinkSocket } from "./link-net.js";
import { createDnsClient, type Resolver } from "./dns-client.js";
import { allowHalfOpen, dial } from "./dial.js";
import { join } from "./join.js";
import { codedError, describeError, errorCode, silentLogger, type CodedError, type Logger } from "./log.js";
import { isLoopbackHost } from "./socks5-server.js";

export interface ForwardSpec {
  kind: "forward";
  listenHost: string;
  listenPort: number;
  host: string;
  port: number;
}

export interface ExposeSpec {
  kind: "expose";
  linkPort: number;
  localHost: string;
  localPort: number;
}

export interface ForwardHandle {
  /** "127.0.0.1:2222 -> 10.0.0.5:22 (over the link)". */
  readonly description: string;
  /** Where it listens: a local port for forwards, the link port for exposes. */
  readonly port: number;
  close(): Promise<void>;
}

export interface ForwardOptions {
  resolver?: Resolver;
  log?: Logger;
  linkWaitMs?: number;
  connectTimeoutMs?: number;
}

export interface ExposeOptions {
  log?: Logger;
  /** How often to check that the link is still up to re-listen after a re-dial (default 1000 ms). */
  linkPollMs?: number;
}

function usage(option: string, spec: string, why: string, example: string): CodedError {
  return codedError("EUSAGE", `${option} ${JSON.stringify(spec)}: ${why} (expected e.g. ${option} ${example})`);
}

function parsePort(text: string, allowZero = false): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 && (allowZero || n > 0) ? n : undefined;
}

/** "host:port" / "[v6]:port" -> parts, or undefined. */
function splitHostPort(text: string): { host: string; port: string } | undefined {
  const m = /^(\[[^\]]+\]|[^:[\]]+):([^:]*)$/.exec(text);
  if (!m) return undefined;
  return { host: m[1].startsWith("[") ? m[1].slice(1, -1) : m[1], port: m[2] };
}

/** `--forward [ADDR:]PORT=HOST:PORT`. */
export function parseForwardSpec(spec: string): ForwardSpec {
  const ex = "8022=10.0.0.5:22 or 127.0.0.1:8080=intranet.example:80";
  const eq = spec.indexOf("=");
  if (eq === -1) throw usage("--forward", spec, "missing '=' between the local and the remote side", ex);
  const left = spec.slice(0, eq).trim();
  const right = spec.slice(eq + 1).trim();
  let listenHost = "127.0.0.1";
  let listenPortText = left;
  if (left.includes(":")) {
    const hp = splitHostPort(left);
    if (!hp) throw usage("--forward", spec, `local side ${JSON.stringify(left)} is not [ADDR:]PORT`, ex);
    listenHost = hp.host;
    listenPortText = hp.port;
  }
  const listenPort = parsePort(listenPortText, true);
  if (listenPort === undefined) throw usage("--forward", spec, `local port ${JSON.stringify(listenPortText)} is not 0-65535`, ex);
  const hp = splitHostPort(right);
  if (!hp || !hp.host) throw usage("--forward", spec, `remote side ${JSON.stringify(right)} is not HOST:PORT`, ex);
  const port = parsePort(hp.port);
  if (port === undefined) throw usage("--forward", spec, `remote port ${JSON.stringify(hp.port)} is not 1-65535`, ex);
  return { kind: "forward", listenHost, listenPort, host: hp.host, port };
}

/** `--expose PORT=LOCALHOST:PORT`. */
export function parseExposeSpec(spec: string): ExposeSpec {
  const ex = "8080=127.0.0.1:3000";
  const eq = spec.indexOf("=");
  if (eq === -1) throw usage("--expose", spec, "missing '=' between the link port and the local service", ex);
  const left = spec.slice(0, eq).trim();
  const right = spec.slice(eq + 1).trim();
  const linkPort = parsePort(left);
  if (linkPort === undefined) throw usage("--expose", spec, `link port ${JSON.stringify(left)} is not 1-65535`, ex);
  const hp = splitHostPort(right);
  if (!hp || !hp.host) throw usage("--expose", spec, `local side ${JSON.stringify(right)} is not HOST:PORT`, ex);
  const localPort = parsePort(hp.port);
  if (localPort === undefined) throw usage("--expose", spec, `local port ${JSON.stringify(hp.port)} is not 1-65535`, ex);
  return { kind: "expose", linkPort, localHost: hp.host, localPort };
}

function logEnd(log: Logger, what: string) {
  return (err?: Error) => {
    if (err && errorCode(err) !== "ERR_STREAM_PREMATURE_CLOSE") log("info", `${what}: ${describeError(err)}`);
  };
}

export async function startForward(net: LinkNet, spec: ForwardSpec | string, opts: ForwardOptions = {}): Promise<ForwardHandle> {
  const s = typeof spec === "string" ? parseForwardSpec(spec) : spec;
  const log = opts.log ?? silentLogger;
  const resolver = opts.resolver ?? createDnsClient(net, { log });
  const dialOpts = { linkWaitMs: opts.linkWaitMs ?? 30_000, connectTimeoutMs: opts.connectTimeoutMs ?? 30_000 };
  const clients = new Set<Socket>();
  if (!isLoopbackHost(s.listenHost))
    log("warn", `--forward listens on ${s.listenHost}: anyone who can reach it can use ${s.host}:${s.port} across the link`);
  const server = nodeNet.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => {
    clients.add(sock);
    sock.on("close", () => clients.delete(sock));
    sock.on("error", () => {});
    const who = `${sock.remoteAddress}:${sock.remotePort}`;
    dial(net, resolver, s.host, s.port, dialOpts).then(
      (link) => {
        if (sock.destroyed) {
          link.destroy();
          return;
        }
        log("debug", `forward ${who} -> ${s.host}:${s.port} via ${link.localAddress}:${link.localPort}`);
        join(sock, link, logEnd(log, `forward ${who} -> ${s.host}:${s.port}`));
      },
      (err) => {
        log("info", `forward ${who} -> ${s.host}:${s.port}: ${describeError(err)}`);
        sock.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(s.listenPort, s.listenHost, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const description = `${addr.address}:${addr.port} -> ${s.host}:${s.port} (over the link)`;
  log("info", `forward ${description}`);
  return {
    description,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.destroy();
        server.close(() => resolve());
      }),
  };
}

export async function startExpose(net: LinkNet, spec: ExposeSpec | string, opts: ExposeOptions = {}): Promise<ForwardHandle> {
  const s = typeof spec === "string" ? parseExposeSpec(spec) : spec;
  const log = opts.log ?? silentLogger;
  const pollMs = opts.linkPollMs ?? 1000;
  const description = `link port ${s.linkPort} -> ${s.localHost}:${s.localPort}`;
  const conns = new Set<{ destroy(): void }>();
  let server: LinkServer | undefined;
  let closed = false;
  let poll: NodeJS.Timeout | undefined;

  const onConnection = (link: LinkSocket) => {
    const who = `${link.remoteAddress}:${link.remotePort}`;
    allowHalfOpen(link);
    const local = nodeNet.connect({ host: s.localHost, port: s.localPort, allowHalfOpen: true });
    conns.add(local);
    local.on("close", () => conns.delete(local));
    log("debug", `expose ${who} -> ${s.localHost}:${s.localPort}`);
    join(link, local, logEnd(log, `expose ${who} -> ${s.localHost}:${s.localPort}`));
  };

  /** Listen whenever the link is up; when it goes down, wait for the next up. */
  const follow = async () => {
    while (!closed) {
      try {
        await net.waitUp();
      } catch (err) {
        log("info", `expose ${description}: ${describeError(err)}; not listening any more`);
        return;
      }
      if (closed) return;
      try {
        server = net.listen(s.linkPort);
      } catch (err) {
        log("warn", `expose ${description}: listen failed: ${describeError(err)}`);
        await new Promise((r) => setTimeout(r, pollMs));
        continue;
      }
      server.on("connection", onConnection);
      server.on("error", (err: Error) => log("warn", `expose ${description}: ${describeError(err)}`));
      log("info", `expose ${net.localAddress}:${s.linkPort} -> ${s.localHost}:${s.localPort}`);
      await new Promise<void>((resolve) => {
        poll = setInterval(() => {
          if (closed || !net.up) {
            clearInterval(poll);
            resolve();
          }
        }, pollMs);
        poll.unref();
      });
      server.close();
      server = undefined;
    }
  };
  void follow();
  return {
    description,
    port: s.linkPort,
    async close() {
      closed = true;
      clearInterval(poll);
      server?.close();
      for (const c of conns) c.destroy();
    },
  };
}
