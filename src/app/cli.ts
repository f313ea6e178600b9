/**
 * The command line: `ppproxy dial | serve | demo | fetch | ping | help`,
 * and pppd's own form (`ppproxy /dev/ttyS1 115200 auth … nodetach`).
 * ppproxy's `--options` are parsed here; pppd's option words go to the
 * pppd-compatible loader (src/config) in order, with its files.
 */
import { hostname } from "node:os";
import { ConfigError } from "../config/config-error.js";
import { loadConfig, type PppConfig } from "../config/load.js";
import { isDeviceWord, optionHelp, type Role } from "../config/option-table.js";
import { AddressPool } from "./address-pool.js";
import { all, helpFor, intOption, listenOption, numberOption, one, parseOwn, UsageError, type OwnOption, type Parsed } from "./args.js";
import { Client, DEFAULT_HTTP, DEFAULT_SOCKS } from "./client.js";
import { ControlClient, defaultControlPath, startControlServer } from "./control.js";
import { startDemo } from "./demo.js";
import { FetchError, runFetch } from "./fetch-cmd.js";
import { createLogger, type Logger } from "./log.js";
import { runPing, type PingOnce } from "./ping-cmd.js";
import { Server } from "./server.js";
import { StatusLine } from "./status-line.js";
import { startPtyNullModem } from "../link/pty-null-modem.js";

const COMMON: OwnOption[] = [{ names: ["--help", "-h"], help: "this help" }];

export const CLIENT_OPTIONS: OwnOption[] = [
  { names: ["--socks"], value: "ADDR:PORT|off", help: "SOCKS5 proxy listen address (default 127.0.0.1:1080)" },
  { names: ["--socks-user"], value: "USER:PASS", repeat: true, help: "require SOCKS5 username/password (needed off loopback)" },
  { names: ["--http"], value: "ADDR:PORT|off", help: "HTTP proxy and /gw/ gateway listen address (default 127.0.0.1:8080)" },
  { names: ["--http-user"], value: "USER:PASS", repeat: true, help: "require HTTP Basic auth on the proxy, gateway and pages (needed off loopback)" },
  { names: ["--forward"], value: "[ADDR:]PORT=HOST:PORT", repeat: true, help: "listen locally, connect across the link (ssh -L)" },
  { names: ["--expose"], value: "PORT=LOCALHOST:PORT", repeat: true, help: "accept on our link address, hand to a local service (ssh -R)" },
  { names: ["--dns"], value: "ADDR", repeat: true, help: "DNS server at the far end, when the peer pushes none" },
  { names: ["--control"], value: "PATH|off", help: "control socket for `ppproxy ping/fetch` (default in $XDG_RUNTIME_DIR)" },
];

const SERVER_OPTIONS: OwnOption[] = [
  { names: ["--allow"], value: "CIDR[:PORTS]", repeat: true, help: "destinations a peer may reach (default: all)" },
  { names: ["--deny"], value: "CIDR[:PORTS]", repeat: true, help: "destinations a peer may not reach (wins over --allow)" },
  { names: ["--no-host-loopback"], help: "the server address does not lead to the host's own services" },
  { names: ["--redirect"], value: "tcp|udp:[ADDR:]HOSTPORT=PEERPORT", repeat: true, help: "expose a peer's port on the host (slirp redir)" },
  { names: ["--pool"], value: "FIRST-LAST", help: "remote addresses for lines that have none of their own" },
  { names: ["--max-connections"], value: "N", help: "TCP connections per peer (default 4096)" },
  { names: ["--max-half-open"], value: "N", help: "host connects in progress per peer (default 128)" },
  { names: ["--max-udp-flows"], value: "N", help: "UDP flows per peer (default 256)" },
];

const DEMO_OPTIONS: OwnOption[] = [
  { names: ["--speed"], value: "BPS", help: "emulated line rate, 8N1 (default 115200)" },
  { names: ["--socks"], value: "ADDR:PORT|off", help: "SOCKS5 proxy listen address (default 127.0.0.1:1080)" },
  { names: ["--http"], value: "ADDR:PORT|off", help: "HTTP proxy listen address (default 127.0.0.1:8080)" },
  { names: ["--site-port"], value: "PORT|off", help: "demo web site on the host's loopback (default 8081)" },
  { names: ["--no-status"], help: "no one-line status" },
];

const FETCH_OPTIONS: OwnOption[] = [
  { names: ["-o", "--output"], value: "FILE", help: "where to write (default: the URL's file name; - for stdout)" },
  { names: ["--sha256"], value: "HEX", help: "check the file's sha256" },
  { names: ["--no-resume"], help: "start again instead of resuming a partial FILE" },
  { names: ["--no-progress"], help: "no progress bar" },
  { names: ["--control"], value: "PATH", help: "the running client's control socket" },
];

const PING_OPTIONS: OwnOption[] = [
  { names: ["-c"], value: "COUNT", help: "stop after COUNT replies (default 4; 0 = until Ctrl-C)" },
  { names: ["-i"], value: "SECONDS", help: "wait between pings (default 1)" },
  { names: ["-s"], value: "SIZE", help: "payload bytes (default 56)" },
  { names: ["-W"], value: "SECONDS", help: "wait for each reply (default 2)" },
  { names: ["--control"], value: "PATH", help: "the running client's control socket" },
];

const NULLMODEM_OPTIONS: OwnOption[] = [
  { names: ["--speed"], value: "BPS", help: "line rate, 8N1: paced at BPS/10 bytes a second (default 115200)" },
  { names: ["--bit-errors"], value: "RATE", help: "flip each bit with this probability, e.g. 1e-6 (default 0)" },
  { names: ["--cut-ms"], value: "MS", help: "how long SIGUSR1 cuts the line (default 5000)" },
];

const USAGE = `ppproxy: PPP over a serial line without root — SOCKS5/HTTP proxies on one end, userspace masquerade on the other.

usage:
  ppproxy dial DEVICE [pppd options] [client options]   call out; proxies on 127.0.0.1:1080 (SOCKS5) and :8080 (HTTP)
  ppproxy serve DEVICE... [pppd options] [server options] answer calls and masquerade the peers' traffic
  ppproxy demo [--speed BPS]                             both ends over the built-in emulated null-modem (npm start)
  ppproxy fetch URL [-o FILE] [--sha256 HEX] [DEVICE pppd options]
  ppproxy ping [-c N] [-i SECONDS] HOST [DEVICE pppd options]
  ppproxy nullmodem [PATH_A PATH_B] [--speed BPS]        two ptys joined like a null-modem cable at BPS (SIGUSR1 cuts the line)
  ppproxy DEVICE [speed] [pppd options]                  pppd's own form: serves with 'auth' or a local:remote pair, else dials

DEVICE: /dev/ttyS0, /dev/ttyUSB0, tcp://HOST:PORT (ser2net, QEMU), tcp-listen://[HOST:]PORT, stdio
Option files are read as pppd reads them, from /etc/ppp or --ppp-dir DIR.

client options:
${helpFor(CLIENT_OPTIONS)}

server options:
${helpFor(SERVER_OPTIONS)}

demo options:
${helpFor(DEMO_OPTIONS)}

fetch options:
${helpFor(FETCH_OPTIONS)}

ping options:
${helpFor(PING_OPTIONS)}

nullmodem options:
${helpFor(NULLMODEM_OPTIONS)}
`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIo: CliIo = {
  out: (l) => process.stdout.write(l + "\n"),
  err: (l) => process.stderr.write(l + "\n"),
  env: process.env,
};

/** Run the command line; resolves with the exit code (long-running commands resolve when stopped). */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  try {
    const [cmd, ...rest] = argv;
    switch (cmd) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.out(USAGE + "\npppd options understood:\n" + optionHelp());
        return 0;
      case "--version":
        io.out("ppproxy 0.1.0");
        return 0;
      case "dial":
        return await dial(rest, io);
      case "serve":
        return await serve(rest, io);
      case "demo":
        return await demo(rest, io);
      case "fetch":
        return await fetch(rest, io);
      case "ping":
        return await ping(rest, io);
      case "nullmodem":
        return await nullmodem(rest, io);
      default:
        if (isDeviceWord(cmd)) return await (pppdFormServes(argv) ? serve(argv, io) : dial(argv, io));
        throw new UsageError(`unknown command '${cmd}' (see ppproxy --help)`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof FetchError) {
      io.err(`ppproxy: ${err.message}`);
      return "exitCode" in err && typeof err.exitCode === "number" ? err.exitCode : 2;
    }
    const e = err as NodeJS.ErrnoException;
    io.err(`ppproxy: ${e.code ? `${e.code}: ` : ""}${e.message}`);
    return 1;
  }
}

/** pppd's form serves when the command line asks for authentication or names our local address. */
function pppdFormServes(words: string[]): boolean {
  return words.some((w) => w === "auth" || w === "silent" || /^\d+\.\d+\.\d+\.\d+:/.test(w));
}

function withHelp(options: OwnOption[]): OwnOption[] {
  return [...COMMON, ...options];
}

function load(words: string[], role: Role, io: CliIo): PppConfig {
  const cfg = loadConfig(words, { role, env: io.env, hostname: hostname() });
  for (const w of cfg.warnings) io.err(`Warning - ${w.replace(/^Warning - /, "")}`);
  for (const n of cfg.notes) io.err(`note: ${n}`);
  return cfg;
}

function loggerFor(cfg: PppConfig | undefined, io: CliIo): Logger {
  return createLogger({ debug: cfg?.session.debug ?? false, logfile: cfg?.logfile, write: io.err });
}

/** Resolve when the user presses Ctrl-C (or the process gets SIGTERM). */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => {
      process.off("SIGINT", int);
      process.off("SIGTERM", term);
      resolve(sig);
    };
    const int = on("SIGINT");
    const term = on("SIGTERM");
    process.once("SIGINT", int);
    process.once("SIGTERM", term);
  });
}

/** `--socks-user` / `--http-user` USER:PASS values (repeatable) -> USER -> PASS, or undefined when none. */
export function parseUsers(p: Parsed, option: "--socks-user" | "--http-user"): Record<string, string> | undefined {
  const list = all(p, option);
  if (list.length === 0) return undefined;
  const users: Record<string, string> = {};
  for (const u of list) {
    const i = u.indexOf(":");
    // The message names the user at most: the value may hold a password.
    if (i <= 0) throw new UsageError(`${option}: expected USER:PASS (a user name, a colon, then the password)`);
    users[u.slice(0, i)] = u.slice(i + 1);
  }
  return users;
}

function clientFrom(p: Parsed, cfg: PppConfig, log: Logger): Client {
  const socks = listenOption(p, "--socks", DEFAULT_SOCKS);
  const http = listenOption(p, "--http", DEFAULT_HTTP);
  return new Client({
    config: cfg,
    log,
    socks: socks && { ...socks, users: parseUsers(p, "--socks-user") },
    http: http && { ...http, users: parseUsers(p, "--http-user") },
    forwards: all(p, "--forward"),
    exposes: all(p, "--expose"),
    dns: all(p, "--dns"),
  });
}

async function dial(argv: string[], io: CliIo): Promise<number> {
  const p = parseOwn(argv, withHelp(CLIENT_OPTIONS));
  if (p.own.has("--help")) return main(["help"], io);
  const cfg = load(p.rest, "dial", io);
  if (!cfg.device) throw new UsageError("dial: no device given (e.g. /dev/ttyS0, tcp://127.0.0.1:7000, stdio)");
  const log = loggerFor(cfg, io);
  const client = clientFrom(p, cfg, log);
  const controlPath = one(p, "--control") ?? defaultControlPath(io.env);
  await client.start();
  const control = controlPath === "off" ? undefined : await startControlServer(controlPath, controlHandler(client), log).catch((e: Error) => {
    log("warn", `no control socket: ${e.message}`);
    return undefined;
  });
  const exit = new Promise<string>((resolve) => client.once("exit", resolve));
  const why = await Promise.race([exit, untilSignal()]);
  await client.stop();
  control?.close();
  return why === "SIGINT" || why === "SIGTERM" || why === "stopped" ? 0 : 1;
}

function controlHandler(client: Client) {
  return async (req: Record<string, unknown>): Promise<Record<string, unknown>> => {
    if (req.cmd === "status") return { status: client.status, httpUser: client.httpProxyUser };
    if (req.cmd === "ping") {
      await client.net.waitUp();
      const address = await client.resolve(String(req.host));
      const r = await client.net.ping(address, { seq: Number(req.seq), size: Number(req.size), timeoutMs: Number(req.timeoutMs) });
      return { result: { ...r, address } };
    }
    throw Object.assign(new Error(`unknown control command '${String(req.cmd)}'`), { code: "EINVAL" });
  };
}

async function serve(argv: string[], io: CliIo): Promise<number> {
  const p = parseOwn(argv, withHelp(SERVER_OPTIONS));
  if (p.own.has("--help")) return main(["help"], io);
  const devices = p.rest.filter((w, i) => isDeviceWord(w) && p.rest[i - 1] !== "--ppp-dir" && !isArgOfPrevious(p.rest, i));
  const words = p.rest.filter((w) => !devices.includes(w));
  if (devices.length === 0) throw new UsageError("serve: no device given (e.g. /dev/ttyS1, tcp-listen://127.0.0.1:7000)");
  const lines = devices.map((d) => ({ config: load([d, ...words], "serve", io) }));
  const log = loggerFor(lines[0].config, io);
  const pool = one(p, "--pool");
  const server = new Server({
    lines,
    log,
    pool: pool ? AddressPool.parse(pool) : undefined,
    redirects: all(p, "--redirect"),
    masquerade: {
      policy: { allow: all(p, "--allow"), deny: all(p, "--deny"), hostLoopback: !p.own.has("--no-host-loopback") },
      limits: {
        maxConnections: intOption(p, "--max-connections", 1, 1_000_000),
        maxHalfOpen: intOption(p, "--max-half-open", 1, 100_000),
        maxFlows: intOption(p, "--max-udp-flows", 1, 100_000),
      },
    },
  });
  await server.start();
  await untilSignal();
  await server.stop();
  return 0;
}

/** pppd words whose argument could look like a device path (`file /x`, `connect /x`, `logfile /x` …). */
function isArgOfPrevious(words: string[], i: number): boolean {
  return ["file", "connect", "disconnect", "init", "logfile", "call", "welcome", "pty"].includes(words[i - 1] ?? "");
}

async function demo(argv: string[], io: CliIo): Promise<number> {
  const p = parseOwn(argv, withHelp(DEMO_OPTIONS));
  if (p.own.has("--help")) return main(["help"], io);
  const speed = intOption(p, "--speed", 300, 100_000_000) ?? 115200;
  const siteOpt = one(p, "--site-port");
  const debug = p.rest.includes("debug");
  const log = createLogger({ debug, write: io.err });
  const d = await startDemo({
    speed,
    log,
    debug,
    socks: listenOption(p, "--socks", DEFAULT_SOCKS),
    http: listenOption(p, "--http", DEFAULT_HTTP),
    sitePort: siteOpt === "off" ? null : siteOpt === undefined ? 8081 : Number(siteOpt),
    pppWords: p.rest.filter((w) => w !== "debug"),
  });
  const up = await Promise.race([new Promise((r) => d.client.once("up", r)), new Promise((r) => setTimeout(() => r(undefined), 60_000))]);
  const st = d.client.status;
  io.out(up ? `ppproxy demo: link up at ${speed} bit/s 8N1 over the emulated null-modem` : "ppproxy demo: the link did not come up within 60 s");
  if (st.socks) io.out(`  SOCKS5 proxy  ${st.socks}`);
  if (st.http) io.out(`  HTTP proxy    ${st.http}   (gateway: http://${st.http}/gw/HOST/PATH)`);
  if (d.sitePort) {
    io.out(`  try:  curl --socks5-hostname ${st.socks ?? "127.0.0.1:1080"} http://127.0.0.1:${d.sitePort}/`);
    io.out(`        curl -x http://${st.http ?? "127.0.0.1:8080"} -o 1m.bin http://127.0.0.1:${d.sitePort}/1m.bin   (sha256 ${d.siteSha256})`);
  }
  io.out("  Ctrl-C stops it.");
  const status = p.own.has("--no-status") ? undefined : new StatusLine(d, speed);
  status?.start();
  await untilSignal();
  status?.stop();
  io.out("ppproxy demo: stopping");
  await d.stop();
  return 0;
}

/** Where a client's HTTP proxy is: a running client's, or a client this command starts on the given device. */
async function withClient<T>(p: Parsed, io: CliIo, use: (http: string | undefined, ping: PingOnce, httpUser?: string) => Promise<T>): Promise<T> {
  const ctl = await ControlClient.connect(one(p, "--control") ?? defaultControlPath(io.env));
  if (ctl) {
    try {
      const reply = await ctl.call({ cmd: "status" });
      const st = reply.status as { http?: string };
      const ping: PingOnce = async (host, seq, size, timeoutMs) =>
        (await ctl.call({ cmd: "ping", host, seq, size, timeoutMs })).result as Awaited<ReturnType<PingOnce>>;
      return await use(st.http, ping, typeof reply.httpUser === "string" ? reply.httpUser : undefined);
    } finally {
      ctl.close();
    }
  }
  const words = p.rest;
  const device = words.find(isDeviceWord);
  if (!device) throw new UsageError("no running client (ppproxy dial) and no device to dial: add e.g. /dev/ttyS0 115200 user NAME");
  const cfg = load(words, "dial", io);
  const log = loggerFor(cfg, io);
  const client = new Client({ config: cfg, log, socks: null, http: { host: "127.0.0.1", port: 0 } });
  await client.start();
  try {
    await Promise.race([
      client.net.waitUp(),
      new Promise((_, reject) => client.once("exit", (why: string) => reject(new Error(`the link did not come up: ${why}`)))),
    ]);
    const handler = controlHandler(client);
    const ping: PingOnce = async (host, seq, size, timeoutMs) =>
      (await handler({ cmd: "ping", host, seq, size, timeoutMs })).result as Awaited<ReturnType<PingOnce>>;
    return await use(client.status.http!, ping);
  } finally {
    await client.stop();
  }
}

async function fetch(argv: string[], io: CliIo): Promise<number> {
  const p = parseOwn(argv, withHelp(FETCH_OPTIONS));
  if (p.own.has("--help")) return main(["help"], io);
  const url = p.rest.find((w) => /^[a-z]+:\/\//i.test(w) && !w.startsWith("tcp://") && !w.startsWith("tcp-listen://"));
  if (!url) throw new UsageError("fetch: no URL given");
  p.rest.splice(p.rest.indexOf(url), 1);
  await withClient(p, io, (http, _ping, httpUser) => {
    if (!http) throw new UsageError("the running client has its HTTP proxy off (--http off); fetch goes through it");
    return runFetch(
      {
        url,
        output: one(p, "-o"),
        sha256: one(p, "--sha256"),
        resume: !p.own.has("--no-resume"),
        progress: !p.own.has("--no-progress") && process.stderr.isTTY === true,
      },
      http,
      io.err,
      httpUser,
    );
  });
  return 0;
}

async function ping(argv: string[], io: CliIo): Promise<number> {
  const p = parseOwn(argv, withHelp(PING_OPTIONS));
  if (p.own.has("--help")) return main(["help"], io);
  const host = p.rest.find((w) => !isDeviceWord(w));
  if (!host) throw new UsageError("ping: no HOST given");
  p.rest.splice(p.rest.indexOf(host), 1);
  const args = {
    host,
    count: intOption(p, "-c", 0, 1_000_000) ?? 4,
    intervalS: numberOption(p, "-i", 0.01) ?? 1,
    size: intOption(p, "-s", 0, 65507) ?? 56,
    timeoutS: numberOption(p, "-W", 0.1) ?? 2,
  };
  const abort = new AbortController();
  void untilSignal().then(() => abort.abort());
  return withClient(p, io, (_http, once) => runPing(args, once, io.out, abort.signal));
}

async function nullmodem(argv: string[], io: CliIo): Promise<number> {
  const p = parseOwn(argv, withHelp(NULLMODEM_OPTIONS));
  if (p.own.has("--help")) return main(["help"], io);
  if (p.rest.length !== 0 && p.rest.length !== 2) throw new UsageError("nullmodem: give two paths for the ptys, or none");
  const paths: [string, string] = p.rest.length === 2 ? [p.rest[0], p.rest[1]] : ["/tmp/ttyNM0", "/tmp/ttyNM1"];
  const speed = intOption(p, "--speed", 50, 100_000_000) ?? 115200;
  const bitErrorRate = numberOption(p, "--bit-errors", 0) ?? 0;
  const cutMs = intOption(p, "--cut-ms", 1, 3_600_000) ?? 5000;
  const modem = await startPtyNullModem({ paths, baud: speed, bitErrorRate });
  io.out(`ppproxy nullmodem: ${paths[0]} (${modem.devices[0]}) <-> ${paths[1]} (${modem.devices[1]}) at ${speed} bit/s 8N1`);
  io.out(`  e.g.  ppproxy serve ${paths[0]} noauth   and   ppproxy dial ${paths[1]}`);
  io.out(`  kill -USR1 ${process.pid} cuts the line for ${cutMs} ms; Ctrl-C stops it.`);
  const onCut = () => {
    io.err(`nullmodem: line cut for ${cutMs} ms`);
    modem.cut(cutMs);
  };
  process.on("SIGUSR1", onCut);
  await Promise.race([untilSignal(), new Promise((r) => modem.once("close", r))]);
  process.off("SIGUSR1", onCut);
  const st = modem.stats();
  io.err(`nullmodem: ${st.ab.bytesDelivered} bytes ${paths[0]} -> ${paths[1]}, ${st.ba.bytesDelivered} bytes back, ${st.ab.bitsFlipped + st.ba.bitsFlipped} bits flipped`);
  await modem.close();
  return 0;
}
