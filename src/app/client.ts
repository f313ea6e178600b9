/**
 * The calling side (`ppproxy dial`): bring the line up, run PPP as the
 * calling peer, and serve the link to local programs as a SOCKS5 proxy
 * (127.0.0.1:1080), an HTTP proxy/gateway (127.0.0.1:8080) and port
 * forwards. With `persist` a dropped line is redialled after `holdoff`;
 * the proxies stay up throughout and new requests wait for the link.
 */
import { EventEmitter } from "node:events";
import type { PppConfig } from "../config/load.js";
import type { Link } from "../link/link.js";
import { startSocksServer } from "../../proxy/socks5-server.js";
import { startWebServer } from "../../proxy/web.js";
import { startSharedPort } from "../../proxy/shared-port.js";
import { parseForwardSpec, startForward, startExpose, type ForwardHandle } from "../../proxy/forward.js";
import { createDnsClient, type Resolver } from "../../proxy/dns-client.js";
import { resolveTarget } from "../../proxy/dial.js";
import { openLine, type OpenedLine } from "./connect-phase.js";
import { ClientLinkNet } from "./link-net.js";
import type { Logger } from "./log.js";
import { PppLine, type LineUp } from "./ppp-line.js";

export interface ClientOptions {
  config: PppConfig;
  log: Logger;
  /** SOCKS5 listen address; undefined port = 1080, null = off. */
  socks?: { host: string; port: number; users?: Record<string, string> } | null;
  /** HTTP proxy/gateway listen address and its Basic-auth users (--http-user); null = off. */
  http?: { host: string; port: number; users?: Record<string, string> } | null;
  /** --forward specs ("[ADDR:]PORT=HOST:PORT") and --expose specs ("PORT=LOCALHOST:PORT"). */
  forwards?: string[];
  exposes?: string[];
  /** --dns ADDR: a DNS server at the far end, used when the peer pushes none. */
  dns?: string[];
  /** Open the line; default: lock, open and run the connect script from `config`. Used by the demo. */
  openLine?: () => Promise<OpenedLine>;
}

export const DEFAULT_SOCKS = { host: "127.0.0.1", port: 1080 };

type Listener = { readonly address: string; readonly port: number; close(): Promise<void> };
export const DEFAULT_HTTP = { host: "127.0.0.1", port: 8080 };

/** Events: 'up' (LineUp), 'down', 'ready' (proxies listening), 'exit' (reason). */
export class Client extends EventEmitter {
  readonly net: ClientLinkNet;
  private line: PppLine | undefined;
  /** The listeners (for a shared port, both name the same one). */
  private socks: Listener | undefined;
  private web: Listener | undefined;
  private forwards: ForwardHandle[] = [];
  private stopping = false;
  private failures = 0;
  private readonly resolver: Resolver;

  constructor(private readonly opts: ClientOptions) {
    super();
    this.net = new ClientLinkNet(opts.dns ?? []);
    this.resolver = createDnsClient(this.net, { log: opts.log });
  }

  get status(): { up: LineUp | undefined; link: string | undefined; socks?: string; http?: string } {
    return {
      up: this.line?.up,
      link: this.line?.link.name,
      socks: this.socks ? `${this.socks.address}:${this.socks.port}` : undefined,
      http: this.web ? `${this.web.address}:${this.web.port}` : undefined,
    };
  }

  /**
   * "USER:PASS" of the first --http-user, for `ppproxy fetch` through this
   * client: handed out only on the owner-only control socket (the same
   * user can read it from the process's command line anyway).
   */
  get httpProxyUser(): string | undefined {
    const users = this.opts.http?.users;
    const name = users ? Object.keys(users)[0] : undefined;
    return name === undefined ? undefined : `${name}:${users![name]}`;
  }

  /** Bytes on the line so far (current line; zero while none). */
  lineStats(): { txBytes: number; rxBytes: number } {
    const st = this.line?.session.stats;
    return { txBytes: st?.txBytes ?? 0, rxBytes: st?.rxBytes ?? 0 };
  }

  /** A host name or address at the far end → an IPv4 address over the link (loopback names mean the peer). */
  async resolve(host: string): Promise<string> {
    return resolveTarget(host, this.net, this.resolver);
  }

  /** Start the proxies, then dial. Resolves once the proxies listen. */
  async start(): Promise<void> {
    const { log } = this.opts;
    const resolver = this.resolver;
    const s = this.opts.socks === null ? undefined : { ...DEFAULT_SOCKS, ...this.opts.socks };
    const h = this.opts.http === null ? undefined : { ...DEFAULT_HTTP, ...this.opts.http };
    const status = () => this.status;
    if (s && h && s.host === h.host && s.port === h.port && s.port !== 0) {
      // One port for both: the first byte of each connection says SOCKS (0x05) or HTTP.
      const shared = await startSharedPort(this.net, { host: s.host, port: s.port, socks: { users: s.users, resolver }, web: { resolver, status, users: h.users }, log });
      this.socks = { address: shared.address, port: shared.port, close: () => shared.close() };
      this.web = { address: shared.address, port: shared.port, close: async () => {} };
    } else {
      if (s) this.socks = await startSocksServer(this.net, { host: s.host, port: s.port, users: s.users, resolver, log });
      if (h) this.web = await startWebServer(this.net, { host: h.host, port: h.port, users: h.users, resolver, log, status });
    }
    for (const spec of this.opts.forwards ?? []) this.forwards.push(await startForward(this.net, parseForwardSpec(spec), { resolver, log }));
    for (const spec of this.opts.exposes ?? []) this.forwards.push(await startExpose(this.net, spec, { log }));
    this.emit("ready");
    void this.dialLoop();
  }

  private async dialLoop(): Promise<void> {
    const { config, log } = this.opts;
    while (!this.stopping) {
      let reason: string;
      try {
        const opened = await (this.opts.openLine ?? (() => openLine(config, log)))();
        reason = await this.runLine(opened);
      } catch (err) {
        reason = (err as Error).message;
        log("error", reason);
      }
      if (this.stopping) break;
      this.failures++;
      if (!config.persist || (config.maxfail > 0 && this.failures >= config.maxfail)) {
        this.net.giveUp();
        this.emit("exit", reason);
        return;
      }
      log("info", `Waiting ${config.holdoff} seconds before re-establishing the connection.`);
      await new Promise((r) => setTimeout(r, config.holdoff * 1000));
    }
    this.net.giveUp();
    this.emit("exit", "stopped");
  }

  /** Run PPP on an opened line until it dies; resolves with the reason. */
  private runLine(opened: OpenedLine): Promise<string> {
    const { config, log } = this.opts;
    const line = new PppLine({ config: config.session, link: opened.link, log, initialInput: opened.leftover });
    this.line = line;
    this.net.attach(line);
    return new Promise((resolve) => {
      line.on("up", (up: LineUp) => {
        this.failures = 0;
        this.announce(up);
        this.emit("up", up);
      });
      line.on("down", () => this.emit("down"));
      line.on("dead", (reason: string) => {
        opened.release();
        resolve(reason);
      });
      line.start();
    });
  }

  private announce(up: LineUp): void {
    const { log } = this.opts;
    if (this.socks) log("info", `SOCKS5 proxy on ${this.socks.address}:${this.socks.port}`);
    if (this.web) log("info", `HTTP proxy on ${this.web.address}:${this.web.port} (gateway: http://${this.web.address}:${this.web.port}/gw/HOST/PATH)`);
    if (up.dns.length === 0 && (this.opts.dns ?? []).length === 0) {
      log("warn", "the peer pushed no DNS server (ms-dns) and --dns was not given: names cannot be resolved over the link");
    }
  }

  /** Hang up and close everything. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.line?.hangup();
    for (const f of this.forwards) await f.close();
    await this.socks?.close();
    await this.web?.close();
  }
}

export type { Link };
