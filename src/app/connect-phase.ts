/**
 * Bringing a line up before PPP starts, in pppd's order: lock the device
 * (`lock`), open it, then run the `connect` script. A `connect` that runs
 * chat(8) is run in-process by our chat engine over the link; any other
 * command runs under /bin/sh with its stdin/stdout joined to the line, as
 * pppd does with the tty.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { CoreDriver } from "../link/core-driver.js";
import { ChatScript, parseChatCommand, type ChatEvent } from "../link/chat.js";
import { openLink, type Link } from "../link/link.js";
import { lockDevice, type DeviceLock } from "../link/lock.js";
import type { PppConfig } from "../config/load.js";
import type { Logger } from "./log.js";

export class ConnectError extends Error {
  readonly code = "ECONNECTSCRIPT";
}

export interface OpenedLine {
  link: Link;
  /** Releases the UUCP lock; call when the line is closed. */
  release(): void;
  /** Bytes the connect script read past its last expect; they belong to PPP. */
  leftover?: Uint8Array;
}

function isTtyPath(device: string): boolean {
  return device.startsWith("/");
}

/** Lock and open `cfg.device`, then run its connect script. */
export async function openLine(cfg: PppConfig, log: Logger, device = cfg.device): Promise<OpenedLine> {
  if (!device) throw new ConnectError("no device given: name a serial port, tcp://HOST:PORT or stdio");
  let lock: DeviceLock | undefined;
  if (cfg.lock && isTtyPath(device)) lock = lockDevice(device, { log: (l) => log("info", l) });
  let link: Link;
  try {
    link = await openLink({ device, speed: cfg.speed, crtscts: cfg.crtscts, xonxoff: cfg.xonxoff, local: cfg.local });
  } catch (err) {
    lock?.release();
    throw err;
  }
  const release = () => lock?.release();
  try {
    const leftover = cfg.connect ? await runConnect(cfg.connect, link, log) : undefined;
    return { link, release, leftover };
  } catch (err) {
    await link.close();
    release();
    throw err;
  }
}

/** Run a connect script over `link`; resolves with any bytes read past the script's end. */
export async function runConnect(connect: string, link: Link, log: Logger): Promise<Uint8Array | undefined> {
  const chat = parseChatCommand(connect, (p) => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return undefined;
    }
  });
  if (!chat) {
    await runShellConnect(connect, link, log);
    return undefined;
  }
  const script = new ChatScript(chat.script, chat.options);
  const driver = new CoreDriver<ChatEvent>(script, link);
  return new Promise((resolve, reject) => {
    driver.on("event", (e: ChatEvent | { type: "hangup"; reason?: string }) => {
      switch (e.type) {
        case "log":
          if (chat.options.verbose) log("info", e.text);
          break;
        case "say":
        case "report":
          log("info", e.text);
          break;
        case "done":
          driver.stop();
          log("info", "Serial connection established.");
          resolve(script.takeUnread());
          break;
        case "failed":
          driver.stop();
          reject(new ConnectError(`Connect script failed (chat exit ${e.exitCode}: ${e.reason})`));
          break;
        case "hangup":
          driver.stop();
          reject(new ConnectError("line hung up during the connect script"));
          break;
      }
    });
    driver.start();
    script.start(performance.now());
    driver.kick();
  });
}

function runShellConnect(command: string, link: Link, log: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", command], { stdio: ["pipe", "pipe", "inherit"] });
    const toChild = (d: Buffer) => child.stdin.write(d);
    link.on("data", toChild);
    child.stdout.on("data", (d: Buffer) => link.write(d));
    child.stdin.on("error", () => {});
    child.on("error", (err) => {
      link.off("data", toChild);
      reject(new ConnectError(`Connect script failed to start: ${err.message}`));
    });
    child.on("exit", (code, signal) => {
      link.off("data", toChild);
      if (code === 0) {
        log("info", "Serial connection established.");
        resolve();
      } else reject(new ConnectError(`Connect script failed (${signal ?? `exit ${code}`})`));
    });
  });
}
