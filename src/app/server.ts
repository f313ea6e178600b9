/**
 * The answering side (`ppproxy serve`): the HOWTO's getty-like
 * `pppd /dev/ttyS1 nodetach` with kernel PPP and IP masquerading replaced by
 * our own userspace code. Each line waits for a caller (pppd's `silent`),
 * authenticates it, gives it its address and DNS, and masquerades its
 * traffic out of ordinary host sockets. After a hang-up the line waits again
 * in the same process (the HOWTO's inittab `respawn`). Lines are
 * independent: one peer's trouble never touches another's.
 */
import { EventEmitter } from "node:events";
import type { PppConfig } from "../config/load.js";
import { listenLinks, type LinkListener } from "../link/tcp-link.js";
import { parseDevice, type Link } from "../link/link.js";
import { Masquerade, type MasqueradeOptions } from "../../proxy/masquerade/index.js";
import { parseRedirect, startRedirect } from "../../proxy/masquerade/redirect.js";
import { formatIp4, parseIp4, type Ip4 } from "../../stack/util/addr.js";
import type { AddressPool } from "./address-pool.js";
import { openLine, type OpenedLine } from "./connect-phase.js";
import { withPrefix, type Logger } from "./log.js";
import { PppLine, type LineUp } from "./ppp-line.js";

/** The HOWTO's addresses, used when a line is given none. */
export const DEFAULT_LOCAL = "192.168.7.1";
export const DEFAULT_REMOTE = "192.168.7.2";
/** Wait before reopening a serial line after a hang-up. */
const RESPAWN_DELAY_MS = 1000;

export interface ServedLine {
  /** The line's own configuration (its options.ttyXX already applied). */
  config: PppConfig;
}

export interface ServerOptions {
  lines: ServedLine[];
  log: Logger;
  masquerade?: Omit<MasqueradeOptions, "dnsAddresses" | "log">;
  /** --redirect specs: tcp:[ADDR:]HOSTPORT=PEERPORT, udp:… */
  redirects?: string[];
  pool?: AddressPool;
  /** Open a line; default: lock, open and run the connect script (the demo passes its null-modem end). */
  openLine?: (line: ServedLine) => Promise<OpenedLine>;
}

interface Call {
  line: PppLine;
  masq?: Masquerade;
  up?: LineUp;
}

/** Events: 'up' (LineUp, device), 'down' (device). */
export class Server extends EventEmitter {
  private readonly calls = new Set<Call>();
  private readonly linkListeners: LinkListener[] = [];
  private readonly redirects: Array<{ close(): void }> = [];
  private stopping = false;

  constructor(private readonly opts: ServerOptions) {
    super();
  }

  /** The calls whose IPCP is open. */
  get active(): LineUp[] {
    return [...this.calls].flatMap((c) => (c.up ? [c.up] : []));
  }

  status(): Array<{ device: string; up?: LineUp; masquerade?: Record<string, number> }> {
    return [...this.calls].map((c) => ({ device: c.line.link.name, up: c.up, masquerade: c.masq?.status() }));
  }

  async start(): Promise<void> {
    const multi = this.opts.lines.length > 1;
    for (const served of this.opts.lines) {
      const device = served.config.device ?? "stdio";
      const log = multi ? withPrefix(this.opts.log, `[${device}] `) : this.opts.log;
      if (!this.opts.openLine && parseDevice(device).kind === "tcp-listen") {
        // Every TCP connection is a call (QEMU, ser2net, a socat bridge).
        const listener = await listenLinks({ device, speed: served.config.speed }, (link) => this.answer(served, link, undefined, log));
        this.linkListeners.push(listener);
        log("info", `Waiting for calls on ${device}`);
      } else {
        void this.respawnLoop(served, log);
      }
    }
    for (const spec of this.opts.redirects ?? []) {
      const r = parseRedirect(spec);
      const current = () => [...this.calls].find((c) => c.up);
      this.redirects.push(
        await startRedirect(r, () => current()?.line.stack, () => current()?.up?.remote, this.opts.log),
      );
      this.opts.log("info", `redirect ${r.proto} ${r.hostAddress}:${r.hostPort} -> peer port ${r.peerPort}`);
    }
  }

  /** A serial line: open, answer one call, wait for the next (inittab respawn). */
  private async respawnLoop(served: ServedLine, log: Logger): Promise<void> {
    let lastError = "";
    while (!this.stopping) {
      try {
        const opened = await (this.opts.openLine ?? ((s) => openLine(s.config, log)))(served);
        lastError = "";
        await new Promise<void>((resolve) => this.answer(served, opened.link, opened, log, resolve));
      } catch (err) {
        // A device that stays away (an unplugged USB adapter) is reported once, not every second.
        const message = (err as Error).message;
        if (message !== lastError) log("error", `${message}; retrying every ${RESPAWN_DELAY_MS / 1000} s`);
        lastError = message;
      }
      if (!this.stopping) await new Promise((r) => setTimeout(r, RESPAWN_DELAY_MS));
    }
  }

  /** Run PPP for one caller on `link`. */
  private answer(served: ServedLine, link: Link, opened: OpenedLine | undefined, log: Logger, done?: () => void): void {
    const cfg = served.config;
    let pooled: Ip4 | undefined;
    let remoteIp = cfg.session.remoteIp;
    if (remoteIp === undefined) {
      pooled = this.opts.pool?.take();
      remoteIp = pooled ?? parseIp4(DEFAULT_REMOTE);
      if (this.opts.pool && pooled === undefined) log("warn", "address pool exhausted; the caller must bring its own address");
    }
    const localIp = cfg.session.localIp ?? parseIp4(DEFAULT_LOCAL)!;
    // With no ms-dns of their own, peers get our address: the masquerade answers DNS there, like slirp's 10.0.2.3.
    const msDns = cfg.session.msDns.length > 0 ? cfg.session.msDns : [localIp];
    const session = { ...cfg.session, localIp, remoteIp, msDns, silent: true, usePeerDns: false };
    const line = new PppLine({ config: session, link, log, initialInput: opened?.leftover });
    const call: Call = { line };
    this.calls.add(call);
    line.on("up", (up: LineUp) => {
      call.up = up;
      call.masq = new Masquerade(line.stack, { ...this.opts.masquerade, dnsAddresses: msDns.map(formatIp4), log });
      this.emit("up", up, link.name);
    });
    line.on("down", () => {
      call.up = undefined;
      call.masq?.close();
      call.masq = undefined;
      this.emit("down", link.name);
    });
    line.on("dead", () => {
      this.calls.delete(call);
      if (pooled !== undefined) this.opts.pool?.give(pooled);
      opened?.release();
      done?.();
    });
    line.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const r of this.redirects) r.close();
    for (const l of this.linkListeners) await l.close();
    await Promise.all([...this.calls].map((c) => c.line.hangup()));
  }
}
