/**
 * The client-side proxies' public API (proxy/): what src/app uses. Every
 * server takes a `LinkNet` (link-net.ts) and a `Logger`; none sees PPP.
 * proxy/masquerade/ (the server side) has its own index.
 */
export type { LinkNet, LinkSocket, LinkServer, LinkUdpSocket } from "./link-net.js";
export { type Logger, type LogLevel, type CodedError, Counters, codedError, silentLogger } from "./log.js";
export { createDnsClient, type DnsClient, type DnsClientOptions, type DnsAnswer, type Resolver } from "./dns-client.js";
export { resolveTarget, waitForLink, connectLink, dial } from "./dial.js";
export { join } from "./join.js";
export {
  startSocksServer,
  createSocksHandler,
  repForError,
  type SocksServer,
  type SocksHandler,
  type SocksServerOptions,
} from "./socks5-server.js";
export { createHttpProxy, startHttpProxy, type HttpProxy, type HttpProxyOptions, type HttpProxyServer } from "./http-proxy.js";
export { startWebServer, createWebServer, type WebServer, type WebServerOptions } from "./web.js";
export { startSharedPort, type SharedPortOptions, type SharedPortServer } from "./shared-port.js";
export {
  parseForwardSpec,
  parseExposeSpec,
  startForward,
  startExpose,
  type ForwardSpec,
  type ExposeSpec,
  type ForwardHandle,
  type ForwardOptions,
  type ExposeOptions,
} from "./forward.js";
