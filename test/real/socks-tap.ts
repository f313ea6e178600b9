/**
 * A transparent TCP relay in front of a SOCKS5 server that records what each
 * client asked for, parsed from the client's own bytes (RFC 1928 §3 greeting,
 * §4 request, §5 addressing). test/real/ uses it to check, independently of
 * the server's logs, that a browser sent a *name* (ATYP 3) to the proxy and
 * not an address it resolved itself. Loopback only; a Node edge of the tests.
 */
import net, { type AddressInfo } from "node:net";
import { pipeline } from "node:stream";
import { once } from "node:events";

/** RFC 1928 §5 address types. */
const ATYP_IPV4 = 1;
const ATYP_DOMAIN = 3;
const ATYP_IPV6 = 4;
/** RFC 1929 username/password method: a sub-negotiation comes between greeting and request. */
const METHOD_USERPASS = 2;
/** Enough of each client stream to hold a greeting, RFC 1929 auth and a request. */
const KEEP = 1024;

export interface TappedRequest {
  cmd: number;
  atyp: number;
  host: string;
  port: number;
}

export interface SocksTap {
  /** host:port to give clients instead of the real proxy. */
  readonly address: string;
  /** Requests parsed so far, one per client connection that got that far. */
  requests(): TappedRequest[];
  /** Connections whose first bytes did not parse as a SOCKS5 greeting + request. */
  unparsed(): number;
  close(): Promise<void>;
}

/** Parse greeting + (no-auth or user/pass) + request from a client's first bytes; undefined if incomplete or not SOCKS5. */
export function parseClientHello(b: Uint8Array): TappedRequest | undefined {
  if (b.length < 2 || b[0] !== 5) return undefined;
  let off = 2 + b[1];
  if (b.subarray(2, off).includes(METHOD_USERPASS) && b[off] === 1) {
    // RFC 1929: VER ULEN UNAME PLEN PASSWD. (If the server chose no-auth instead, b[off] is 5, not 1.)
    const ulen = b[off + 1];
    const plen = b[off + 2 + ulen];
    if (plen === undefined) return undefined;
    off += 3 + ulen + plen;
  }
  if (b.length < off + 5 || b[off] !== 5) return undefined;
  const cmd = b[off + 1];
  const atyp = b[off + 3];
  let p = off + 4;
  let host: string;
  if (atyp === ATYP_IPV4) {
    host = Array.from(b.subarray(p, p + 4)).join(".");
    p += 4;
  } else if (atyp === ATYP_DOMAIN) {
    host = Buffer.from(b.subarray(p + 1, p + 1 + b[p])).toString("latin1");
    p += 1 + b[p];
  } else if (atyp === ATYP_IPV6) {
    host = Buffer.from(b.subarray(p, p + 16)).toString("hex");
    p += 16;
  } else return undefined;
  if (b.length < p + 2) return undefined;
  return { cmd, atyp, host, port: (b[p] << 8) | b[p + 1] };
}

export async function startSocksTap(upstream: string): Promise<SocksTap> {
  const [upHost, upPort] = [upstream.slice(0, upstream.lastIndexOf(":")), Number(upstream.slice(upstream.lastIndexOf(":") + 1))];
  const firstBytes: Uint8Array[] = [];
  const socks = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const up = net.connect(upPort, upHost);
    socks.add(client).add(up);
    client.on("close", () => socks.delete(client));
    up.on("close", () => socks.delete(up));
    const slot = firstBytes.push(new Uint8Array(0)) - 1;
    client.on("data", (d: Buffer) => {
      const have = firstBytes[slot];
      if (have.length >= KEEP) return;
      const next = new Uint8Array(Math.min(KEEP, have.length + d.length));
      next.set(have);
      next.set(d.subarray(0, next.length - have.length), have.length);
      firstBytes[slot] = next;
    });
    pipeline(client, up, () => {});
    pipeline(up, client, () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    requests: () => firstBytes.map(parseClientHello).filter((r): r is TappedRequest => r !== undefined),
    unparsed: () => firstBytes.filter((b) => b.length > 0 && !parseClientHello(b)).length,
    async close() {
      for (const s of socks) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
