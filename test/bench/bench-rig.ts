/**
 * Benchmark rig (not a test): a ppproxy Server and Client (src/app roles)
 * joined by a pair of Links of the caller's choice (the emulated null-modem,
 * an unpaced in-process pair, or two real ptys), the client's SOCKS5 proxy on
 * an ephemeral loopback port, and a plain HTTP file server on the host's
 * 127.0.0.1 that the client reaches through the server address (192.168.7.1)
 * and the masquerade. Used by test/bench/run.ts; same approach as
 * test/unit/app/roles.ts.
 */
import { createServer, type Server as HttpServer } from "node:http";
import { EventEmitter } from "node:events";
import type { AddressInfo } from "node:net";
import { SocksClient } from "socks";
import { loadConfig, type PppConfig } from "../../src/config/load.js";
import { Client } from "../../src/app/client.js";
import { Server } from "../../src/app/server.js";
import type { LineUp } from "../../src/app/ppp-line.js";
import type { Link } from "../../src/link/link.js";

/** The server's address on the link; the masquerade maps it to the host's 127.0.0.1. */
export const SERVER_ADDR = "192.168.7.1";

function config(role: "dial" | "serve", words: string[], pap: string): PppConfig {
  const files: Record<string, string> = { "/etc/ppp/pap-secrets": pap };
  return loadConfig(words, { role, readFile: (p) => files[p], statMode: () => 0o600, hostname: role });
}

export interface Rig {
  server: Server;
  client: Client;
  logs: string[];
  /** Resolves with the client's LineUp and the ms from start to IPCP Opened. */
  up: Promise<{ up: LineUp; ms: number }>;
  socksPort: number;
  stop(): Promise<void>;
}

/** Start a server on `links.a` and a client on `links.b`; `pppWords` go to both ends. */
export async function startRig(links: { a: Link; b: Link }, pppWords: string[] = []): Promise<Rig> {
  const logs: string[] = [];
  const serverCfg = config("serve", ["192.168.7.1:192.168.7.2", "auth", "require-pap", ...pppWords], "bench * benchSecret *\n");
  const clientCfg = config("dial", ["user", "bench", "password", "benchSecret", ...pppWords], "");
  const server = new Server({
    lines: [{ config: serverCfg }],
    log: (l, t) => logs.push(`S ${l}: ${t}`),
    openLine: async () => ({ link: links.a, release: () => {} }),
  });
  const client = new Client({
    config: clientCfg,
    log: (l, t) => logs.push(`C ${l}: ${t}`),
    socks: { host: "127.0.0.1", port: 0 },
    http: null,
    openLine: async () => ({ link: links.b, release: () => {} }),
  });
  const t0 = performance.now();
  const up = new Promise<{ up: LineUp; ms: number }>((resolve) => client.once("up", (u: LineUp) => resolve({ up: u, ms: performance.now() - t0 })));
  await server.start();
  await client.start();
  const socks = client.status.socks!;
  return {
    server,
    client,
    logs,
    up,
    socksPort: Number(socks.slice(socks.lastIndexOf(":") + 1)),
    async stop() {
      await Promise.race([
        (async () => {
          await client.stop();
          await server.stop();
        })(),
        new Promise((r) => setTimeout(r, 5000)),
      ]);
    },
  };
}

/** Two in-process Links joined with no pacing and no FIFO limit: a write arrives at the other end on the next macrotask. */
export function directLinkPair(): { a: Link; b: Link; close(): void } {
  /** Bytes written in one tick are gathered into chunks of this size, each delivered as one 'data' (one copy per write). */
  const CHUNK = 256 * 1024;
  class End extends EventEmitter implements Link {
    peer!: End;
    closed = false;
    /** Full chunks waiting for the next tick, and the one being filled. */
    private full: Buffer[] = [];
    private chunk = Buffer.allocUnsafe(CHUNK);
    private used = 0;
    private scheduled = false;
    constructor(readonly name: string) {
      super();
    }
    write(bytes: Uint8Array): boolean {
      if (this.closed) return false;
      // Copy: the writer may reuse its buffer once write() returns.
      if (this.used + bytes.length > this.chunk.length) {
        if (this.used > 0) this.full.push(this.chunk.subarray(0, this.used));
        this.chunk = Buffer.allocUnsafe(Math.max(CHUNK, bytes.length));
        this.used = 0;
      }
      this.chunk.set(bytes, this.used);
      this.used += bytes.length;
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.deliver());
      }
      return true;
    }
    private deliver(): void {
      this.scheduled = false;
      const out = this.full;
      if (this.used > 0) out.push(this.chunk.subarray(0, this.used));
      this.full = [];
      this.chunk = this.chunk.subarray(this.used); // the rest of this chunk is still free
      this.used = 0;
      for (const c of out) if (!this.peer.closed) this.peer.emit("data", c);
    }
    async close(): Promise<void> {
      this.closed = true;
    }
  }
  const a = new End("direct:a");
  const b = new End("direct:b");
  a.peer = b;
  b.peer = a;
  return { a, b, close: () => void ((a.closed = true), (b.closed = true)) };
}

/** A loopback HTTP server serving fixed bodies by path ("/bulk" → files.bulk). */
export async function startFileServer(files: Map<string, Uint8Array>): Promise<{ port: number; close(): Promise<void> }> {
  const srv: HttpServer = createServer((req, res) => {
    const body = files.get((req.url ?? "/").slice(1));
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length });
    res.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });
  srv.keepAliveTimeout = 1000;
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

export interface FetchResult {
  /** Body bytes received. */
  bytes: number;
  /** ms from the SOCKS connect call to the last body byte. */
  totalMs: number;
  /** ms from the first to the last response byte. */
  transferMs: number;
}

/**
 * GET http://SERVER_ADDR:port/path through the SOCKS5 proxy on 127.0.0.1:socksPort
 * (a real SOCKS client, the `socks` package), counting body bytes. Rejects on
 * a short body or after `timeoutMs`.
 */
export async function socksFetch(socksPort: number, httpPort: number, path: string, expectBytes: number, timeoutMs: number): Promise<FetchResult> {
  const t0 = performance.now();
  const { socket } = await SocksClient.createConnection({
    proxy: { host: "127.0.0.1", port: socksPort, type: 5 },
    command: "connect",
    destination: { host: SERVER_ADDR, port: httpPort },
    timeout: timeoutMs,
  });
  return new Promise<FetchResult>((resolve, reject) => {
    let first = 0;
    let last = 0;
    let got = 0;
    let headerDone = false;
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timeout after ${timeoutMs} ms (${got} of ${expectBytes} bytes)`));
    }, timeoutMs);
    socket.on("data", (d: Buffer) => {
      last = performance.now();
      if (!first) first = last;
      if (headerDone) {
        got += d.length;
        return;
      }
      head = Buffer.concat([head, d]);
      const end = head.indexOf("\r\n\r\n");
      if (end >= 0) {
        headerDone = true;
        got += head.length - end - 4;
      }
    });
    socket.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      if (got !== expectBytes) reject(new Error(`short body: ${got} of ${expectBytes} bytes`));
      else resolve({ bytes: got, totalMs: last - t0, transferMs: last - first });
    });
    socket.write(`GET /${path} HTTP/1.1\r\nHost: ${SERVER_ADDR}:${httpPort}\r\nConnection: close\r\n\r\n`);
  });
}
