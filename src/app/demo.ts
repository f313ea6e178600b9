/**
 * The embedded default (`npm start`): a server and a client in one process,
 * joined by the built-in emulated null-modem at 115200 8N1 (`--speed`
 * changes it), paced at the line rate. The client's SOCKS5 and HTTP proxies
 * work at once; a small demo site on the host's loopback gives them
 * something to fetch, reached — as a real peer would — through the server
 * address and the masquerade.
 */
import { loadConfig, type PppConfig } from "../config/load.js";
import { createNullModem } from "../link/null-modem.js";
import { Client } from "./client.js";
import { startDemoSite } from "./demo-site.js";
import { withPrefix, type Logger } from "./log.js";
import { Server } from "./server.js";
import { randomBytes } from "node:crypto";

export interface DemoOptions {
  speed: number;
  log: Logger;
  socks: { host: string; port: number } | null;
  http: { host: string; port: number } | null;
  /** Port of the demo site on 127.0.0.1 (0 = any free port, null = none). */
  sitePort: number | null;
  debug?: boolean;
  /** Extra pppd words for both ends (e.g. "mtu 296", "nodeflate"). */
  pppWords?: string[];
}

export interface Demo {
  server: Server;
  client: Client;
  sitePort?: number;
  siteSha256?: string;
  stop(): Promise<void>;
}

const DEMO_USER = "demo";

function demoConfig(role: "dial" | "serve", words: string[]): PppConfig {
  // Option files of the host are not read: the demo is self-contained.
  return loadConfig(words, { role, readFile: () => undefined, statMode: () => undefined, hostname: role === "serve" ? "server" : "client" });
}

export async function startDemo(opts: DemoOptions): Promise<Demo> {
  const secret = randomBytes(9).toString("base64url");
  const debug = opts.debug ? ["debug"] : [];
  const extra = opts.pppWords ?? [];
  const serverCfg = demoConfig("serve", ["192.168.7.1:192.168.7.2", "noauth", ...debug, ...extra]);
  serverCfg.session = {
    ...serverCfg.session,
    devname: "nullmodem:a",
    requireAuth: ["pap"],
    papSecrets: [{ client: DEMO_USER, server: "*", secret, addresses: [], origin: "demo" }],
  };
  const clientCfg = demoConfig("dial", ["user", DEMO_USER, "noauth", ...debug, ...extra]);
  clientCfg.session = { ...clientCfg.session, devname: "nullmodem:b", password: secret };

  const modem = createNullModem({ baud: opts.speed, names: ["nullmodem:a", "nullmodem:b"] });
  const firstUse = { a: true, b: true };
  const site = opts.sitePort === null ? undefined : await startDemoSite("127.0.0.1", opts.sitePort);
  const server = new Server({
    lines: [{ config: serverCfg }],
    log: withPrefix(opts.log, "server: "),
    // The first call takes the fresh end; a respawn opens the side again, as a getty reopens the tty.
    openLine: async () => ({ link: firstUse.a ? ((firstUse.a = false), modem.a) : modem.reopen("a"), release: () => {} }),
  });
  const client = new Client({
    config: clientCfg,
    log: withPrefix(opts.log, "client: "),
    socks: opts.socks,
    http: opts.http,
    openLine: async () => ({ link: firstUse.b ? ((firstUse.b = false), modem.b) : modem.reopen("b"), release: () => {} }),
  });
  await server.start();
  await client.start();
  return {
    server,
    client,
    sitePort: site?.port,
    siteSha256: site?.sha256,
    async stop() {
      await client.stop();
      await server.stop();
      modem.close();
      await site?.close();
    },
  };
}
