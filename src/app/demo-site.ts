/**
 * A small web site the demo serves on the host's loopback, so that a new user
 * has something to fetch through the link at once: a page, a text file that
 * compresses well, and 1 MiB of seeded random bytes whose sha256 the page shows.
 */
import http from "node:http";
import { createHash } from "node:crypto";
import { SeededRng } from "../../stack/util/rng.js";

export interface DemoSite {
  port: number;
  sha256: string;
  close(): Promise<void>;
}

function foxText(bytes: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const l = `${String(i).padStart(6, "0")} the quick brown fox jumps over the lazy dog\n`;
    lines.push(l);
    n += l.length;
  }
  return Buffer.from(lines.join("")).subarray(0, bytes);
}

export async function startDemoSite(host: string, port: number): Promise<DemoSite> {
  const random = Buffer.from(new SeededRng(1).fill(new Uint8Array(1 << 20)));
  const fox = foxText(262_144);
  const sha256 = createHash("sha256").update(random).digest("hex");
  const files: Record<string, { body: Buffer; type: string }> = {
    "/1m.bin": { body: random, type: "application/octet-stream" },
    "/fox.txt": { body: fox, type: "text/plain" },
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const file = files[path];
    if (file) {
      res.writeHead(200, { "content-type": file.type, "content-length": file.body.length, "x-sha256": createHash("sha256").update(file.body).digest("hex") });
      res.end(req.method === "HEAD" ? undefined : file.body);
      return;
    }
    if (path !== "/") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(
      `<!doctype html><title>ppproxy demo</title><h1>Hello from the far end of the null-modem</h1>` +
        `<p>This page came through SOCKS or the HTTP proxy, our TCP/IP stack, PPP, an emulated serial line and the server's masquerade.</p>` +
        `<ul><li><a href="/1m.bin">1m.bin</a> (1 MiB, sha256 ${sha256})</li><li><a href="/fox.txt">fox.txt</a> (256 KiB of text)</li></ul>\n`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    sha256,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
