/**
 * Reaching a destination across the link, shared by SOCKS, the HTTP proxy
 * and the port forwards (proxy/). Three steps, each with a Node-style error:
 *
 *  1. `waitForLink`: the link is up, or we wait for it (bounded); a link that
 *     will not come back is ENETDOWN, a wait that times out ENETUNREACH.
 *  2. `resolveTarget`: a host name/literal -> IPv4 text. Loopback (127/8,
 *     `localhost`, ::1) means the far end's own host (`LinkNet.peerAddress`),
 *     as with `ssh -D`: loopback never goes on the wire. IPv6 other than
 *     v4-mapped is EAFNOSUPPORT (the link is IPv4 only). Names go to the
 *     resolver (DNS at the far end).
 *  3. `connectLink`: `LinkNet.connect()` that settles on 'connect' / 'error'
 *     or a timeout (ETIMEDOUT).
 */
import { isIPv6 } from "node:net";
import type { LinkNet, LinkSocket } from "./link-net.js";
import type { Resolver } from "./dns-client.js";
import { codedError, errorCode } from "./log.js";
import { isLoopback, parseIp4 } from "../stack/util/addr.js";
import { v4MappedToIp4 } from "./socks5-codec.js";

export async function waitForLink(net: LinkNet, timeoutMs: number): Promise<void> {
  if (net.up) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      net.waitUp(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(codedError("ENETUNREACH", `the link is down and did not come up within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    const code = errorCode(err);
    if (code === "ENETUNREACH") throw err;
    throw codedError(code ?? "ENETDOWN", `the link is down: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

function peerOf(net: LinkNet, what: string): string {
  const peer = net.peerAddress;
  if (!peer) throw codedError("ENETUNREACH", `${what} means the far end's host, and the link has no peer address`);
  return peer;
}

/** RFC 4291 §2.2 text -> 16 bytes (with "::" and a trailing dotted quad), or undefined. */
export function parseIp6(text: string): Uint8Array | undefined {
  if (!isIPv6(text)) return undefined;
  let t = text.toLowerCase();
  const out = new Uint8Array(16);
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (dotted) {
    const v4 = parseIp4(dotted[1]);
    if (v4 === undefined) return undefined;
    const hi = (v4 >>> 16).toString(16);
    const lo = (v4 & 0xffff).toString(16);
    t = t.slice(0, dotted.index) + `${hi}:${lo}`;
  }
  const [head, tail] = t.includes("::") ? t.split("::") : [t, undefined];
  const hs = head ? head.split(":") : [];
  const ts = tail ? tail.split(":") : [];
  const groups = tail === undefined ? hs : [...hs, ...Array(8 - hs.length - ts.length).fill("0"), ...ts];
  if (groups.length !== 8) return undefined;
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** ::1 (RFC 4291 §2.5.3). */
function isIp6Loopback(b: Uint8Array): boolean {
  for (let i = 0; i < 15; i++) if (b[i] !== 0) return false;
  return b[15] === 1;
}

/** A host name or literal -> the IPv4 address to connect to over the link. */
export async function resolveTarget(host: string, net: LinkNet, resolver: Resolver): Promise<string> {
  let h = host.trim();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  const v4 = parseIp4(h);
  if (v4 !== undefined) return isLoopback(v4) ? peerOf(net, h) : h;
  const lower = h.toLowerCase().replace(/\.$/, "");
  if (lower === "localhost" || lower.endsWith(".localhost")) return peerOf(net, h);
  const v6 = parseIp6(h);
  if (v6) {
    if (isIp6Loopback(v6)) return peerOf(net, h);
    const mapped = v4MappedToIp4(v6);
    if (mapped === undefined)
      throw codedError("EAFNOSUPPORT", `${h} is an IPv6 address and the link is IPv4 only`);
    return resolveTarget(mapped, net, resolver);
  }
  return resolver.resolve4(h);
}

/** Proxies relay half-close: the far side's FIN must not end our sending side (net.Socket semantics otherwise). */
export function allowHalfOpen(sock: LinkSocket): void {
  (sock as LinkSocket & { allowHalfOpen: boolean }).allowHalfOpen = true;
}

/** Connect over the link; resolves once connected. On timeout the socket is destroyed. */
export function connectLink(net: LinkNet, ip: string, port: number, timeoutMs: number): Promise<LinkSocket> {
  return new Promise((resolve, reject) => {
    let sock: LinkSocket;
    try {
      sock = net.connect(ip, port);
    } catch (err) {
      reject(err);
      return;
    }
    const timer = setTimeout(() => {
      cleanup();
      sock.destroy();
      reject(codedError("ETIMEDOUT", `connect to ${ip}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onConnect = () => {
      cleanup();
      allowHalfOpen(sock);
      resolve(sock);
    };
    const onError = (err: Error) => {
      cleanup();
      sock.destroy();
      reject(err);
    };
    const cleanup = () => {
      clearTimeout(timer);
      sock.off("connect", onConnect);
      sock.off("error", onError);
    };
    sock.once("connect", onConnect);
    sock.once("error", onError);
  });
}

export interface DialOptions {
  linkWaitMs: number;
  connectTimeoutMs: number;
}

/** waitForLink + resolveTarget + connectLink. */
export async function dial(net: LinkNet, resolver: Resolver, host: string, port: number, o: DialOptions): Promise<LinkSocket> {
  await waitForLink(net, o.linkWaitMs);
  const ip = await resolveTarget(host, net, resolver);
  return connectLink(net, ip, port, o.connectTimeoutMs);
}
