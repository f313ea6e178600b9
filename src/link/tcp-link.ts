/**
 * TCP links: a client (`tcp://host:port`, e.g. ser2net or a QEMU
 * `-chardev socket,server=on`) and a listener (`tcp-listen://[host:]port`)
 * that yields one Link per accepted connection (a server answering QEMU
 * `-chardev socket,host=…,port=…` or ser2net in connect mode). Sockets get
 * setNoDelay: PPP frames are small and latency matters more than packing.
 * The Link behaviour (hangup on EOF / reset / close) is StreamLink's.
 */
import * as net from "node:net";
import { StreamLink } from "./stream-link.js";
import { codedError, parseDevice, LinkSpecError, type Link, type LinkSpec } from "./link.js";

/** How long close() lets queued bytes drain before resetting the connection. */
export const CLOSE_GRACE_MS = 2000;
/** Default time to wait for a TCP connect before failing with ETIMEDOUT. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** `bitsPerSecond`: the rate of the serial line behind the socket (pppd's speed word), so the driver can pace; unknown when absent. */
function socketLink(sock: net.Socket, name: string, bitsPerSecond?: number): StreamLink {
  sock.setNoDelay(true);
  return new StreamLink({
    name,
    bitsPerSecond,
    input: sock,
    output: sock,
    closeImpl: () =>
      new Promise<void>((resolve) => {
        if (sock.destroyed) return resolve();
        // FIN after what is queued has gone; then let go without waiting for the peer's FIN.
        // A peer that stops reading would hold the queue (and close()) forever: give it CLOSE_GRACE_MS.
        const grace = setTimeout(() => sock.destroy(), CLOSE_GRACE_MS);
        sock.once("close", () => {
          clearTimeout(grace);
          resolve();
        });
        sock.end(() => sock.destroy());
      }),
  });
}

/** Connect to host:port. Rejects with a Node-style coded error (ECONNREFUSED, ETIMEDOUT, ENOTFOUND, …) naming the device. */
export function connectTcpLink(host: string, port: number, opts: { timeoutMs?: number; bitsPerSecond?: number } = {}): Promise<Link> {
  const name = `tcp://${hostForUrl(host)}:${port}`;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(codedError("ETIMEDOUT", `${name}: connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      const code = err.code ?? "ECONNREFUSED";
      reject(codedError(code, `${name}: connect failed: ${code}${err.code ? "" : ` (${err.message})`}`, err));
    };
    sock.once("error", onError);
    sock.once("connect", () => {
      clearTimeout(timer);
      sock.off("error", onError);
      resolve(socketLink(sock, name, opts.bitsPerSecond));
    });
  });
}

export interface LinkListener {
  /** The bound address and port (port is the real one when 0 was asked). */
  address: string;
  port: number;
  /** Stop accepting. Links already handed out stay open; their owners close them. */
  close(): Promise<void>;
}

function listenSpec(spec: string | LinkSpec): { host: string; port: number } {
  const device = typeof spec === "string" ? spec : spec.device;
  const d = parseDevice(device);
  if (d.kind !== "tcp-listen") throw new LinkSpecError(`listenLinks: device "${device}" is not tcp-listen://[host:]port`);
  return { host: d.host, port: d.port };
}

/**
 * Listen on `tcp-listen://[host:]port` (host defaults to 127.0.0.1) and hand
 * each accepted connection to `onLink` as a Link named `tcp://peer:port`.
 * Rejects with a coded error (EADDRINUSE, EACCES, …) if it cannot bind.
 */
export function listenLinks(spec: string | LinkSpec, onLink: (link: Link) => void): Promise<LinkListener> {
  const { host, port } = listenSpec(spec);
  const bps = typeof spec === "string" ? undefined : spec.speed;
  return new Promise((resolve, reject) => {
    const server = net.createServer((sock) => {
      const name = `tcp://${hostForUrl(sock.remoteAddress ?? "?")}:${sock.remotePort ?? 0}`;
      onLink(socketLink(sock, name, bps));
    });
    const onError = (err: NodeJS.ErrnoException): void => {
      const code = err.code ?? "EINVAL";
      reject(codedError(code, `tcp-listen://${hostForUrl(host)}:${port}: listen failed: ${code}`, err));
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      server.on("error", () => undefined); // errors after bind (EMFILE on accept) must not crash; accept simply fails
      const addr = server.address() as net.AddressInfo;
      resolve({
        address: addr.address,
        port: addr.port,
        // server.close()'s callback waits for every accepted connection to end; the listening socket itself is gone at once.
        close: () => new Promise<void>((r) => {
          server.close();
          setImmediate(r);
        }),
      });
    });
  });
}

/** Listen, take the first connection, stop listening. For `openLink({ device: "tcp-listen://…" })`. Bind errors reject. */
export async function acceptOneTcpLink(host: string, port: number, bitsPerSecond?: number): Promise<Link> {
  let resolveLink!: (link: Link) => void;
  const first = new Promise<Link>((r) => (resolveLink = r));
  let taken = false;
  const listener = await listenLinks({ device: `tcp-listen://${hostForUrl(host)}:${port}`, speed: bitsPerSecond }, (link) => {
    if (taken) return void link.close(); // a second caller raced in before we stopped listening
    taken = true;
    resolveLink(link);
  });
  const link = await first;
  await listener.close();
  return link;
}
