/**
 * test/interop/ppproxy-process.ts — runs the ppproxy CLI (bin/ppproxy.ts) as
 * a child process for the interop tests, with its output captured in a
 * LogWatch and the process always killed (stop(), process exit, and the
 * parent-death signal via util-linux setpriv when present).
 *
 * Test-side helper only.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogWatch } from './log-watch.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(REPO_ROOT, 'bin', 'ppproxy.ts');

/** false when bin/ppproxy.ts exists, else the skip reason. */
export function cliSkip(): string | false {
  return existsSync(CLI) ? false : 'ppproxy CLI not built yet';
}

export interface PpproxyProcess {
  /** The words after `node --import tsx bin/ppproxy.ts`. */
  readonly args: readonly string[];
  output(): string;
  waitFor(re: RegExp, timeoutMs: number, from?: number): Promise<RegExpMatchArray>;
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
const live = new Set<ChildProcess>();
let hooked = false;

/** Writes `files` into a fresh temp dir (mode 0600, as pppd wants secrets) and returns its path. */
export async function makePppDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ppproxy-pppdir-'));
  for (const [name, text] of Object.entries(files)) {
    const p = path.join(dir, name);
    await writeFile(p, text);
    await chmod(p, 0o600);
  }
  return dir;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Starts `node --import tsx bin/ppproxy.ts ...args` in the repo root; stdout and stderr both go to output(). */
export function startPpproxy(args: string[], label = 'ppproxy'): PpproxyProcess {
  const node = [process.execPath, '--import', 'tsx', CLI, ...args];
  // as for QEMU: the kernel kills ppproxy if this test process dies, even by SIGKILL
  const argv = SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...node] : node;
  const child = spawn(argv[0], argv.slice(1), {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  const log = new LogWatch(`output of ${label} (${args.join(' ')})`);
  child.stdout!.setEncoding('utf8').on('data', (s: string) => log.append(s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => log.append(s));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      log.append(`[harness] spawn failed: ${err.message}\n`);
      exitCode = null;
      live.delete(child);
      resolve(null);
      log.end('ppproxy could not be started');
    });
    child.once('close', (code, signal) => {
      exitCode = code;
      live.delete(child);
      resolve(code);
      log.end(`ppproxy exited (code ${code}${signal ? `, signal ${signal}` : ''})`);
    });
  });
  let stopped: Promise<void> | undefined;
  return {
    args,
    output: () => log.text,
    waitFor: (re, ms, from) => log.waitFor(re, ms, from),
    exited,
    stop: () => {
      stopped ??= (async () => {
        if (exitCode !== undefined) return;
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      })();
      return stopped;
    },
  };
}
