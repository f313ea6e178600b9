/**
 * The web-server fixture the HTTP proxy tests share: a LoopbackNet standing
 * in for the link (with "web.test" → 127.0.0.1 in its DNS zone), an HTTP
 * target and an echo server on 127.0.0.1, and our web server (HTTP proxy,
 * gateway, pages) on an ephemeral loopback port, optionally with
 * --http-user accounts.
 */
import { LoopbackNet } from "./loopback-net.js";
import { startEchoServer, startHttpTarget, haveCurl } from "./helpers.js";
import { startWebServer, type WebServer } from "../../../proxy/web.js";
import { createDnsClient } from "../../../proxy/dns-client.js";

export interface WebFixture {
  net: LoopbackNet;
  web: WebServer;
  target: Awaited<ReturnType<typeof startHttpTarget>>;
  echo: Awaited<ReturnType<typeof startEchoServer>>;
  curlOk: boolean;
}

export async function startWebFixture(opts: { log: (level: string, text: string) => void; users?: Record<string, string> }): Promise<WebFixture> {
  const net = await LoopbackNet.create();
  const target = await startHttpTarget();
  const echo = await startEchoServer();
  net.zone.set("web.test", "127.0.0.1");
  const resolver = createDnsClient(net, { port: net.dnsPort, timeoutMs: 300, attempts: 1 });
  const web = await startWebServer(net, { port: 0, resolver, users: opts.users, log: opts.log, linkWaitMs: 300, status: () => ({ line: "test" }) });
  return { net, web, target, echo, curlOk: await haveCurl() };
}

export async function closeWebFixture(f: WebFixture): Promise<void> {
  await f.web.close();
  f.target.server.close();
  f.echo.server.close();
  f.net.close();
}
