/**
 * Test harness: a server PppLine with its masquerade and a client PppLine,
 * joined by the emulated null-modem, in this process. Tests use it to run
 * real traffic through the whole path: client stack → PPP → line → server
 * PPP → server stack → masquerade → host sockets on 127.0.0.1.
 */
import { createNullModem, type NullModem } from "../../../src/link/null-modem.js";
import { PppLine, type LineUp } from "../../../src/app/ppp-line.js";
import { defaultSessionConfig, type SessionConfig } from "../../../src/ppp/session-config.js";
import { parseIp4 } from "../../../stack/util/addr.js";
import { Masquerade, type MasqueradeOptions } from "../../../proxy/masquerade/index.js";

export interface Pair {
  modem: NullModem;
  server: PppLine;
  client: PppLine;
  masq: () => Masquerade | undefined;
  logs: string[];
  clientUp: Promise<LineUp>;
  close(): Promise<void>;
}

export function startPair(opts: {
  baud?: number;
  server?: Partial<SessionConfig>;
  client?: Partial<SessionConfig>;
  masquerade?: Omit<MasqueradeOptions, "dnsAddresses">;
} = {}): Pair {
  const modem = createNullModem({ baud: opts.baud ?? 2_000_000 });
  const logs: string[] = [];
  const server = new PppLine({
    config: defaultSessionConfig({
      devname: "nullmodem:a",
      localIp: parseIp4("192.168.7.1"),
      remoteIp: parseIp4("192.168.7.2"),
      msDns: [parseIp4("192.168.7.1")!],
      silent: true,
      usePeerDns: false,
      requireAuth: ["pap"],
      papSecrets: [{ client: "zaphod", server: "*", secret: "gargleBlaster", addresses: [], origin: "test" }],
      ...opts.server,
    }),
    link: modem.a,
    log: (l, t) => logs.push(`S ${l}: ${t}`),
  });
  const client = new PppLine({
    config: defaultSessionConfig({ devname: "nullmodem:b", user: "zaphod", password: "gargleBlaster", ...opts.client }),
    link: modem.b,
    log: (l, t) => logs.push(`C ${l}: ${t}`),
  });
  let masq: Masquerade | undefined;
  server.on("up", () => {
    masq = new Masquerade(server.stack, { dnsAddresses: ["192.168.7.1"], ...opts.masquerade, log: (l, t) => logs.push(`M ${l}: ${t}`) });
  });
  const clientUp = new Promise<LineUp>((resolve, reject) => {
    client.once("up", resolve);
    client.once("dead", (why: string) => reject(new Error(`client line died: ${why}\n${logs.join("\n")}`)));
  });
  server.start();
  client.start();
  return {
    modem,
    server,
    client,
    masq: () => masq,
    logs,
    clientUp,
    async close() {
      masq?.close();
      await client.hangup();
      await server.hangup();
      modem.close();
    },
  };
}
