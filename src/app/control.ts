/**
 * The client's control socket: a Unix socket only its user can open
 * (directory 0700, socket 0600), through which `ppproxy ping` and
 * `ppproxy fetch` use a running client instead of dialling themselves.
 * One JSON object per line each way.
 *
 *   {"cmd":"status"}                                  -> {"ok":true,"status":{...}}
 *   {"cmd":"ping","host":"H","seq":1,"size":56,"timeoutMs":2000}
 *                                                     -> {"ok":true,"result":{"seq":1,"rtt":35.2,"ttl":64,"bytes":64,"address":"…"}}
 *   errors                                            -> {"ok":false,"code":"ETIMEDOUT","message":"…"}
 */
import net from "node:net";
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Logger } from "./log.js";

export function defaultControlPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_RUNTIME_DIR || tmpdir();
  return join(base, `ppproxy-${userInfo().uid}`, "control.sock");
}

export type ControlHandler = (req: Record<string, unknown>) => Promise<Record<string, unknown>>;

export async function startControlServer(path: string, handler: ControlHandler, log: Logger): Promise<{ close(): void }> {
  const dir = join(path, "..");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  // A socket left by a client that died: connecting to it fails, so it is ours to replace.
  if (await isLive(path)) throw Object.assign(new Error(`another ppproxy client is running (control socket ${path})`), { code: "EADDRINUSE" });
  rmSync(path, { force: true });
  const server = net.createServer((sock) => {
    const lines = createInterface({ input: sock });
    lines.on("line", (line) => {
      let req: Record<string, unknown>;
      try {
        req = JSON.parse(line) as Record<string, unknown>;
      } catch {
        sock.write(JSON.stringify({ ok: false, code: "EINVAL", message: "malformed request" }) + "\n");
        return;
      }
      handler(req)
        .then((res) => sock.write(JSON.stringify({ ok: true, ...res }) + "\n"))
        .catch((err: NodeJS.ErrnoException) =>
          sock.write(JSON.stringify({ ok: false, code: err.code ?? "EFAIL", message: err.message }) + "\n"),
        );
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  log("debug", `control socket ${path}`);
  return {
    close: () => {
      server.close();
      rmSync(path, { force: true });
    },
  };
}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** A connection to a running client's control socket. */
export class ControlClient {
  private constructor(
    private readonly sock: net.Socket,
    private readonly lines: AsyncIterator<string>,
  ) {}

  /** Connect, or undefined when no client is running there. */
  static async connect(path: string): Promise<ControlClient | undefined> {
    return new Promise((resolve) => {
      const sock = net.connect(path);
      sock.once("connect", () => resolve(new ControlClient(sock, createInterface({ input: sock })[Symbol.asyncIterator]())));
      sock.once("error", () => resolve(undefined));
    });
  }

  async call(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.sock.write(JSON.stringify(req) + "\n");
    const { value, done } = await this.lines.next();
    if (done) throw Object.assign(new Error("the running client closed the control socket"), { code: "ECONNRESET" });
    const res = JSON.parse(value) as Record<string, unknown>;
    if (res.ok !== true) throw Object.assign(new Error(String(res.message)), { code: String(res.code) });
    return res;
  }

  close(): void {
    this.sock.destroy();
  }
}
