/**
 * test/interop/qemu-guest.ts — the QEMU interop harness: boots a tiny Linux
 * guest (Debian kernel + busybox + Debian's pppd 2.4.9) under QEMU/TCG so a
 * test can talk PPP to the real pppd.
 *
 * Sits in test/ only: tests import it, the product never does.
 *
 * The guest has no network. Its ttyS0 is the console (QEMU stdio, read here);
 * its ttyS1 is a QEMU chardev socket in SERVER mode listening on
 * 127.0.0.1:`serialPort` (server=on, wait=off): the TEST side connects, e.g.
 * ppproxy with `tcp://127.0.0.1:<serialPort>`. QEMU accepts one client at a
 * time; bytes the guest sends while no client is connected are dropped.
 *
 * The guest runs a scenario: files placed in its filesystem plus a shell
 * script (/scenario/run.sh) started once userspace is up. It reports on the
 * console with "@@" lines (see guest/init.sh): @@BOOTED, @@IP-UP, @@DONE.
 *
 * Images come from test/interop/build-initramfs.sh (cached by content in
 * test/interop/.work/); host packages from .ci/interop-setup.sh.
 *
 * QEMU is always killed: stop(), a per-guest watchdog (timeoutMs), a
 * process 'exit' hook, and — when util-linux `setpriv` exists — the kernel's
 * parent-death signal, which also covers a test process killed with SIGKILL.
 */

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCpio, type CpioFile } from './cpio.js';
import { LogWatch } from './log-watch.js';

export interface GuestScenario {
  /** Files to place in the guest, by absolute path, e.g. {"/etc/ppp/pap-secrets": "zaphod * gargleBlaster *\n"}. */
  files: Record<string, string>;
  /** Shell (busybox sh) run as root in the guest after boot, from /scenario. */
  script: string;
  /** Guest RAM, default 256. */
  memoryMb?: number;
  /** QEMU is killed this long after start, default 240 000 ms. */
  timeoutMs?: number;
  /** A label for error messages, default "guest". */
  name?: string;
}

export interface Guest {
  /** 127.0.0.1 TCP port of the guest's ttyS1; QEMU listens, the test connects. */
  readonly serialPort: number;
  /** The label given in the scenario. */
  readonly name: string;
  /** Everything the guest (and QEMU on stderr, as "[qemu] " lines) printed so far. */
  console(): string;
  /**
   * Resolves with the first match of `re` in the console's complete lines
   * (searched from character `from`, default 0). Rejects after `timeoutMs`, or as soon as
   * QEMU exits without a match, with an error that includes the whole console.
   */
  waitFor(re: RegExp, timeoutMs: number, from?: number): Promise<RegExpMatchArray>;
  /** Resolves when QEMU has exited (code, or null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Kills QEMU and removes its temp files; always safe, idempotent. */
  stop(): Promise<void>;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BUILD_SCRIPT = path.join(HERE, 'build-initramfs.sh');
const QEMU = process.env.PPPROXY_QEMU ?? 'qemu-system-x86_64';
const DEFAULT_TIMEOUT_MS = 240_000;
/** QEMU creates its listening socket within a second or two; under heavy load allow more. */
const LISTEN_DEADLINE_MS = 30_000;
const KERNEL_ARGS = [
  'console=ttyS0',
  'panic=-1', // PID 1 dying reboots at once, and -no-reboot turns that into QEMU exiting
  'loglevel=4', // kernel warnings and errors reach the console, chatter does not
  '8250.nr_uarts=2',
  'no_timer_check',
  'mitigations=off',
  'i8042.noaux',
  'i8042.nokbd',
].join(' ');

interface GuestImage {
  vmlinux: string;
  initramfs: string;
}

let imagePromise: Promise<GuestImage> | undefined;

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException;
        reject(new Error(`${cmd} ${args.join(' ')} failed (${e.code ?? e.message})\n${stderr}${stdout}`));
      } else resolve({ stdout, stderr });
    });
  });
}

/** Builds (or finds cached) the kernel and base initramfs; once per process. */
export function buildGuestImage(): Promise<GuestImage> {
  imagePromise ??= run('bash', [BUILD_SCRIPT], 600_000).then(({ stdout }) => {
    const m = /^OUT=(.+)$/m.exec(stdout);
    if (!m) throw new Error(`build-initramfs.sh printed no OUT= line:\n${stdout}`);
    return { vmlinux: path.join(m[1], 'vmlinux'), initramfs: path.join(m[1], 'initramfs.cpio') };
  });
  imagePromise.catch(() => (imagePromise = undefined));
  return imagePromise;
}

/**
 * Says whether the harness can run here, and if not, exactly what is missing.
 * Builds the guest image as a side effect (seconds when cached).
 */
export async function interopAvailable(): Promise<{ ok: true } | { ok: false; why: string }> {
  const fix = 'run `sudo bash .ci/interop-setup.sh` (needs root and a Debian mirror)';
  if (process.platform !== 'linux') return { ok: false, why: `interop harness needs Linux, not ${process.platform}` };
  try {
    await run(QEMU, ['--version'], 30_000);
  } catch {
    return { ok: false, why: `no ${QEMU} on PATH: ${fix}` };
  }
  try {
    await buildGuestImage();
  } catch (err) {
    return { ok: false, why: `cannot build the guest image: ${(err as Error).message.trim()}\n${fix}` };
  }
  return { ok: true };
}

/**
 * For `test(name, { skip: await interopSkip() }, ...)`: false when the harness
 * can run, else the reason (also printed loudly on stderr). With
 * PPPROXY_INTEROP_REQUIRED=1 (CI) an unavailable harness throws instead of
 * skipping.
 */
export async function interopSkip(): Promise<string | false> {
  const a = await interopAvailable();
  if (a.ok) return false;
  if (process.env.PPPROXY_INTEROP_REQUIRED === '1') {
    throw new Error(`INTEROP TESTS CANNOT RUN (PPPROXY_INTEROP_REQUIRED=1): ${a.why}`);
  }
  process.stderr.write(`\n*** INTEROP TESTS SKIPPED: ${a.why} ***\n\n`);
  return a.why;
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** True when some socket LISTENs on 127.0.0.1:port (read from /proc, so nothing connects to it). */
async function isListening(port: number): Promise<boolean> {
  const want = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const table = await readFile('/proc/net/tcp', 'utf8');
  // columns: sl local_address rem_address st ...; st 0A = LISTEN
  return table.split('\n').some((line) => {
    const cols = line.trim().split(/\s+/);
    return cols[1] === want && cols[3] === '0A';
  });
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

const hasSetpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

function scenarioFiles(s: GuestScenario): CpioFile[] {
  const enc = new TextEncoder();
  const files: CpioFile[] = Object.entries(s.files).map(([p, text]) => ({
    path: p,
    data: enc.encode(text),
    // scripts (ip-up, ...) must be executable; everything else, secrets
    // included, private to root as pppd prefers
    mode: text.startsWith('#!') ? 0o755 : 0o600,
  }));
  files.push({ path: '/scenario/run.sh', data: enc.encode(s.script + '\n'), mode: 0o755 });
  return files;
}

/** Boots a guest running scenario `s`. Resolves once its ttyS1 socket listens. */
export async function startGuest(s: GuestScenario): Promise<Guest> {
  const image = await buildGuestImage();
  const name = s.name ?? 'guest';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ppproxy-guest-'));
  try {
    const initrd = path.join(dir, 'initrd.cpio');
    const base = await readFile(image.initramfs);
    await writeFile(initrd, Buffer.concat([base, buildCpio(scenarioFiles(s))]));
    // The port is chosen free and then handed to QEMU: someone may take it in
    // between, so a failed bind is retried with another port.
    let lastErr: Error | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freeLoopbackPort();
      try {
        return await launch(s, name, image, initrd, port, dir);
      } catch (err) {
        lastErr = err as Error;
        if (!/Address already in use|Failed to bind/i.test(lastErr.message)) break;
      }
    }
    throw lastErr ?? new Error('startGuest failed');
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function launch(
  s: GuestScenario,
  name: string,
  image: GuestImage,
  initrd: string,
  port: number,
  dir: string,
): Promise<Guest> {
  const qemuArgs = [
    '-nodefaults',
    '-no-user-config',
    '-accel', 'tcg',
    '-M', 'pc',
    '-m', String(s.memoryMb ?? 256),
    '-smp', '1',
    '-display', 'none',
    '-no-reboot',
    // the uncompressed vmlinux boots through PVH (the bzImage would too, ~3 s later)
    '-kernel', image.vmlinux,
    '-initrd', initrd,
    '-append', KERNEL_ARGS,
    '-chardev', 'stdio,id=con,signal=off',
    '-serial', 'chardev:con',
    '-chardev', `socket,id=ppp,host=127.0.0.1,port=${port},server=on,wait=off,nodelay=on`,
    '-serial', 'chardev:ppp',
  ];
  const [cmd, args] = hasSetpriv
    ? [hasSetpriv, ['--pdeathsig', 'KILL', '--', QEMU, ...qemuArgs]]
    : [QEMU, qemuArgs];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  installExitHook();

  const log = new LogWatch(`console of ${name}`);
  child.stdout!.setEncoding('latin1');
  // CRLF -> LF, also when a chunk ends between the CR and the LF (a stray CR
  // would make multi-line patterns like /statistics ---\n3 packets/ miss)
  let heldCr = false;
  child.stdout!.on('data', (chunk: string) => {
    let text = heldCr ? `\r${chunk}` : chunk;
    heldCr = text.endsWith('\r');
    if (heldCr) text = text.slice(0, -1);
    log.append(text.replace(/\r\n/g, '\n'));
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    log.append(
      chunk
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => `[qemu] ${l}\n`)
        .join(''),
    );
  });

  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      log.append(`[qemu] spawn failed: ${err.message}\n`);
      exitCode = null;
      live.delete(child);
      resolve(null);
      log.end('QEMU could not be started');
    });
    child.once('close', (code, signal) => {
      exitCode = code;
      live.delete(child);
      resolve(code);
      log.end(`QEMU exited (code ${code}${signal ? `, signal ${signal}` : ''})`);
    });
  });

  const timeoutMs = s.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const watchdog = setTimeout(() => {
    log.append(`[harness] ${name}: killing QEMU after its ${timeoutMs} ms timeout\n`);
    child.kill('SIGKILL');
  }, timeoutMs);
  watchdog.unref();

  /** Ends QEMU (SIGTERM, SIGKILL after 2 s) and waits for it. */
  const halt = async (): Promise<void> => {
    clearTimeout(watchdog);
    if (exitCode === undefined) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    }
  };
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= halt().then(() => rm(dir, { recursive: true, force: true }));
    return stopped;
  };

  // Wait for the chardev socket to listen (or QEMU to die trying).
  const deadline = Date.now() + LISTEN_DEADLINE_MS;
  for (;;) {
    if (exitCode !== undefined) {
      await halt();
      throw new Error(`${name}: QEMU exited (code ${exitCode}) before its serial socket listened\n${log.dump()}`);
    }
    if (await isListening(port)) break;
    if (Date.now() > deadline) {
      await halt();
      throw new Error(`${name}: QEMU's serial socket 127.0.0.1:${port} not listening after ${LISTEN_DEADLINE_MS} ms\n${log.dump()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }

  return {
    serialPort: port,
    name,
    console: () => log.text,
    waitFor: (re, ms, from) => log.waitFor(re, ms, from),
    exited,
    stop,
  };
}

/**
 * Connects to a guest's ttyS1. Resolves with the open socket. Connect early:
 * QEMU drops what the guest sends while nobody is connected.
 */
export function connectSerial(g: Guest): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port: g.serialPort, noDelay: true });
    sock.once('connect', () => {
      sock.off('error', reject);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}

/** A null-modem cable between two guests' ttyS1, run by the test process. */
export interface SerialCable {
  /** Bytes carried a -> b and b -> a so far. */
  readonly bytes: { aToB: number; bToA: number };
  close(): void;
}

/** Joins the ttyS1 of `a` and `b` with a relay over loopback, with backpressure (pipe()). */
export async function joinSerials(a: Guest, b: Guest): Promise<SerialCable> {
  const [sa, sb] = await Promise.all([connectSerial(a), connectSerial(b)]);
  const bytes = { aToB: 0, bToA: 0 };
  sa.on('data', (c: Buffer) => (bytes.aToB += c.length));
  sb.on('data', (c: Buffer) => (bytes.bToA += c.length));
  sa.pipe(sb);
  sb.pipe(sa);
  // A guest going away must not crash the test process.
  sa.on('error', () => sb.destroy());
  sb.on('error', () => sa.destroy());
  return {
    bytes,
    close: () => {
      sa.destroy();
      sb.destroy();
    },
  };
}
