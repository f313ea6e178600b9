/**
 * Test helpers for the proxy tests (test/unit/proxy): a byte-exact raw TCP
 * client, an echo server, an HTTP target, and curl as a real client.
 * Everything listens and connects on 127.0.0.1 only.
 */
import nodeNet from "node:net";
import http from "node:http";
import { execFile } from "node:child_process";
import { listenLoopback } from "./loopback-net.js";

/** A TCP client that reads exact byte counts; for byte-level protocol checks. */
export class RawClient {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  ended = false;
  readonly sock: nodeNet.Socket;
  readonly closed: Promise<void>;
  /** Resolves on the peer's FIN (or close). */
  readonly endSeen: Promise<void>;

  constructor(port: number) {
    this.sock = nodeNet.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    this.sock.on("data", (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.kick();
    });
    this.sock.on("error", () => {});
    this.closed = new Promise((res) =>
      this.sock.on("close", () => {
        this.ended = true;
        this.kick();
        res();
      }),
    );
    this.endSeen = new Promise((res) => {
      this.sock.on("end", () => {
        this.ended = true;
        this.kick();
        res();
      });
      void this.closed.then(res);
    });
  }
  private kick() {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
  send(bytes: number[] | Uint8Array | string): void {
    this.sock.write(typeof bytes === "string" ? bytes : Buffer.from(bytes as number[]));
  }
  /** Exactly n bytes, or fewer if the peer closed first. */
  async read(n: number, timeoutMs = 3000): Promise<Buffer> {
    const deadline = setTimeout(() => this.kick(), timeoutMs);
    const start = Date.now();
    try {
      while (this.buf.length < n && !this.ended && Date.now() - start < timeoutMs) await new Promise<void>((r) => (this.waiter = r));
    } finally {
      clearTimeout(deadline);
    }
    const out = this.buf.subarray(0, Math.min(n, this.buf.length));
    this.buf = this.buf.subarray(out.length);
    return out;
  }
  /** Everything until the peer ends. */
  async readToEnd(timeoutMs = 3000): Promise<Buffer> {
    return this.read(Number.MAX_SAFE_INTEGER, timeoutMs);
  }
  destroy() {
    this.sock.destroy();
  }
}

/** Echo server; after the client's FIN it writes "bye" and ends (tests half-close). */
export async function startEchoServer(): Promise<{ port: number; server: nodeNet.Server; seenPeers: { address: string; port: number }[] }> {
  const seenPeers: { address: string; port: number }[] = [];
  const server = nodeNet.createServer({ allowHalfOpen: true }, (s) => {
    seenPeers.push({ address: s.remoteAddress!, port: s.remotePort! });
    s.on("data", (d) => s.write(d));
    s.on("end", () => s.end("bye"));
    s.on("error", () => {});
  });
  const port = await listenLoopback(server);
  return { port, server, seenPeers };
}

/** HTTP target: echoes method, url, headers and body as JSON; /redirect sends an absolute Location. */
export async function startHttpTarget(): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer((req, res) => {
    if (req.url === "/redirect") {
      res.writeHead(302, { Location: `http://${req.headers.host}/landed?x=1` });
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      res.writeHead(200, { "content-type": "application/json", "x-target": "yes" });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
    });
  });
  const port = await listenLoopback(server);
  return { port, server };
}

export interface CurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

let curlChecked: boolean | undefined;
export async function haveCurl(): Promise<boolean> {
  if (curlChecked === undefined) curlChecked = (await curl(["--version"])).code === 0;
  return curlChecked;
}

/** Run curl asynchronously (the servers under test live in this process). */
export function curl(args: string[], stdin?: string): Promise<CurlResult> {
  return new Promise((resolve) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_proxy$/i.test(k)));
    const child = execFile("curl", ["-sS", "--max-time", "10", ...args], { env }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

export function collectLog(): { lines: string[]; log: (level: string, text: string) => void } {
  const lines: string[] = [];
  return { lines, log: (level, text) => lines.push(`${level}: ${text}`) };
}
