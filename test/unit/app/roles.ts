/**
 * Test harness at the role level: a Server and a Client (src/app) joined by
 * the emulated null-modem in this process, each with its own pppd-style
 * configuration, the client's proxies on ephemeral loopback ports.
 */
import { loadConfig, type PppConfig } from "../../../src/config/load.js";
import { createNullModem } from "../../../src/link/null-modem.js";
import { Client } from "../../../src/app/client.js";
import { Server, type ServerOptions } from "../../../src/app/server.js";
import type { LineUp } from "../../../src/app/ppp-line.js";

function config(role: "dial" | "serve", words: string[], pap: string): PppConfig {
  const files: Record<string, string> = { "/etc/ppp/pap-secrets": pap };
  return loadConfig(words, { role, readFile: (p) => files[p], statMode: () => 0o600, hostname: role });
}

export interface Roles {
  server: Server;
  client: Client;
  logs: string[];
  up: Promise<LineUp>;
  socks: string;
  http: string;
  stop(): Promise<void>;
}

export async function startRoles(opts: { baud?: number; masquerade?: ServerOptions["masquerade"]; clientWords?: string[] } = {}): Promise<Roles> {
  const modem = createNullModem({ baud: opts.baud ?? 4_000_000 });
  const logs: string[] = [];
  const serverCfg = config("serve", ["192.168.7.1:192.168.7.2", "auth", "require-pap"], "zaphod * gargleBlaster *\n");
  const clientCfg = config("dial", ["user", "zaphod", "password", "gargleBlaster", ...(opts.clientWords ?? [])], "");
  const server = new Server({
    lines: [{ config: serverCfg }],
    log: (l, t) => logs.push(`S ${l}: ${t}`),
    masquerade: opts.masquerade,
    openLine: async () => ({ link: modem.a, release: () => {} }),
  });
  const client = new Client({
    config: clientCfg,
    log: (l, t) => logs.push(`C ${l}: ${t}`),
    socks: { host: "127.0.0.1", port: 0 },
    http: { host: "127.0.0.1", port: 0 },
    openLine: async () => ({ link: modem.b, release: () => {} }),
  });
  const up = new Promise<LineUp>((resolve) => client.once("up", resolve));
  await server.start();
  await client.start();
  const st = client.status;
  return {
    server,
    client,
    logs,
    up,
    socks: st.socks!,
    http: st.http!,
    async stop() {
      await client.stop();
      await server.stop();
      modem.close();
    },
  };
}
