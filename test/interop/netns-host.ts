/**
 * test/interop/netns-host.ts — a "host on the outside network" for the
 * server-role interop tests: a network namespace joined to this machine by a
 * veth pair, with a tiny HTTP server inside and a name for it in the host's
 * /etc/hosts. The guest behind our masquerade resolves that name through the
 * DNS server pushed in IPCP (our DNS forwarder, which asks the host's
 * resolver) and reaches the namespace through the masquerade's ordinary host
 * sockets: internet sharing over the null-modem, on addresses that exist only
 * on the veth pair made here.
 *
 *   this machine (vppx<pid>a 10.201.P.1/30) ── veth ── namespace ppx-i-<pid> (10.201.P.2/30, HTTP :80)
 *
 * Needs root (CAP_NET_ADMIN, and /etc/hosts is root's) and iproute2's `ip`;
 * netnsSkip() says why not. Everything made here is undone by stop(), and the
 * /etc/hosts line also by a process 'exit' hook; namespaces left by a killed
 * earlier run (their pid is gone) are removed on the next start.
 *
 * Test-side helper only.
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LogWatch } from './log-watch.js';

const HOSTS = '/etc/hosts';
const NS_PREFIX = 'ppx-i-';
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function ip(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('ip', args, { timeout: 20_000 });
  return { ok: r.status === 0, out: `${r.stdout?.toString() ?? ''}${r.stderr?.toString() ?? ''}`.trim() };
}

function mustIp(args: string[]): void {
  const r = ip(args);
  if (!r.ok) throw new Error(`ip ${args.join(' ')} failed: ${r.out}`);
}

/** false when a namespace host can be made here, else the reason (printed loudly on stderr). */
export function netnsSkip(): string | false {
  let why: string | undefined;
  if (process.platform !== 'linux') why = `not Linux (${process.platform})`;
  else if (process.getuid?.() !== 0) why = 'not root: a network namespace, a veth pair and an /etc/hosts line need root';
  else if (!have('ip')) why = '`ip` (iproute2) is missing';
  else {
    const probe = `${NS_PREFIX}probe-${process.pid}`;
    const r = ip(['netns', 'add', probe]);
    ip(['netns', 'del', probe]);
    if (!r.ok) why = `cannot create a network namespace: ${r.out}`;
  }
  if (!why) return false;
  process.stderr.write(`\n*** NETWORK-NAMESPACE INTEROP CASES SKIPPED: ${why} ***\n\n`);
  return why;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Remove what runs killed before their cleanup (SIGKILL skips exit hooks)
 * left behind: namespaces (and so their veth pairs) and /etc/hosts lines.
 */
function reapStale(): void {
  for (const m of ip(['netns', 'list']).out.matchAll(/^ppx-i-(\d+)\b/gm)) {
    const pid = Number(m[1]);
    if (!alive(pid)) {
      ip(['netns', 'del', `${NS_PREFIX}${pid}`]);
      ip(['link', 'del', `vppx${pid}a`]);
    }
  }
  const hosts = readFileSync(HOSTS, 'latin1');
  const kept = hosts.split('\n').filter((l) => {
    const m = / # ppproxy interop test, pid (\d+)$/.exec(l);
    return !m || alive(Number(m[1]));
  });
  if (kept.length !== hosts.split('\n').length) writeFileSync(HOSTS, kept.join('\n'), 'latin1');
}

/** A /30 in 10.201.0.0/16 that no interface here uses yet. */
function freeSubnet(): number {
  const used = ip(['-4', '-o', 'addr', 'show']).out;
  for (let i = 0; i < 256; i++) {
    const third = (process.pid + i) % 256;
    if (!used.includes(`10.201.${third}.`)) return third;
  }
  throw new Error('no free 10.201.x.0/30 on this machine');
}

// ---------------------------------------------------------------------------
// /etc/hosts: one line added, the file put back as it was

let hostsRestore: (() => void) | undefined;

/**
 * Appends `addr name` to /etc/hosts and returns the function that undoes it:
 * the file is written back byte for byte as it was, unless someone else
 * changed it meanwhile, in which case only our line is taken out. Also undone
 * on process exit.
 */
export function addHostsEntry(addr: string, name: string): () => void {
  if (hostsRestore) throw new Error('addHostsEntry: one entry at a time');
  const original = readFileSync(HOSTS);
  const line = `${addr} ${name} # ppproxy interop test, pid ${process.pid}\n`;
  const sep = original.length > 0 && original[original.length - 1] !== 0x0a ? '\n' : '';
  const ours = Buffer.concat([original, Buffer.from(sep + line)]);
  writeFileSync(HOSTS, ours);
  let done = false;
  const restore = (): void => {
    if (done) return;
    done = true;
    hostsRestore = undefined;
    process.off('exit', restore);
    const now = readFileSync(HOSTS);
    if (now.equals(ours)) writeFileSync(HOSTS, original);
    else writeFileSync(HOSTS, now.toString('latin1').split(line).join(''), 'latin1');
  };
  hostsRestore = restore;
  process.on('exit', restore);
  return restore;
}

// ---------------------------------------------------------------------------
// the namespace host

export interface NetnsHost {
  /** Namespace name, `ppx-i-<pid>`. */
  readonly ns: string;
  /** This machine's end of the veth pair (10.201.P.1). */
  readonly hostAddr: string;
  /** The namespace's address (10.201.P.2): the "outside host". */
  readonly addr: string;
  /** The name given to `addr` in /etc/hosts. */
  readonly name: string;
  /** Requests the HTTP server answered, one line each ("GET /path 200"). */
  log(): string;
  /** Undoes everything (server, /etc/hosts line, namespace, veth); idempotent. */
  stop(): Promise<void>;
}

/** Node HTTP server run inside the namespace: serves files from a directory on port 80 of `addr`. */
const SERVER_JS = `
const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
const [dir, addr] = process.argv.slice(1);
http.createServer((req, res) => {
  const p = path.join(dir, path.basename(req.url.split('?')[0]));
  fs.readFile(p, (err, body) => {
    if (err) { res.writeHead(404).end(); console.log(req.method + ' ' + req.url + ' 404'); return; }
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
    res.end(body);
    console.log(req.method + ' ' + req.url + ' 200 ' + body.length);
  });
}).listen(80, addr, () => console.log('LISTENING ' + addr + ':80'));
`;

/**
 * Makes the namespace, the veth pair, the HTTP server (serving `files` by
 * name at http://<name>/<file>) and the /etc/hosts line. Throws with the
 * failing command's output; whatever was made before a failure is undone.
 */
export async function startNetnsHost(opts: { name: string; files: Record<string, Uint8Array> }): Promise<NetnsHost> {
  reapStale();
  const pid = process.pid;
  const ns = `${NS_PREFIX}${pid}`;
  const va = `vppx${pid}a`;
  const vb = `vppx${pid}b`;
  const third = freeSubnet();
  const hostAddr = `10.201.${third}.1`;
  const addr = `10.201.${third}.2`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ppproxy-netns-www-'));
  let server: ChildProcess | undefined;
  let restoreHosts: (() => void) | undefined;
  const log = new LogWatch(`HTTP server in ${ns}`);
  let stopped: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      restoreHosts?.();
      if (server && server.exitCode === null && server.signalCode === null) {
        const gone = new Promise((r) => server!.once('close', r));
        server.kill('SIGKILL');
        await gone;
      }
      ip(['netns', 'del', ns]); // takes vb with it, and so va
      ip(['link', 'del', va]);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    for (const [name, data] of Object.entries(opts.files)) await writeFile(path.join(dir, name), data);
    ip(['netns', 'del', ns]);
    ip(['link', 'del', va]);
    mustIp(['netns', 'add', ns]);
    mustIp(['link', 'add', va, 'type', 'veth', 'peer', 'name', vb]);
    mustIp(['link', 'set', vb, 'netns', ns]);
    mustIp(['addr', 'add', `${hostAddr}/30`, 'dev', va]);
    mustIp(['link', 'set', va, 'up']);
    mustIp(['-n', ns, 'addr', 'add', `${addr}/30`, 'dev', vb]);
    mustIp(['-n', ns, 'link', 'set', vb, 'up']);
    mustIp(['-n', ns, 'link', 'set', 'lo', 'up']);

    const node = ['ip', 'netns', 'exec', ns, process.execPath, '-e', SERVER_JS, dir, addr];
    const argv = SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...node] : node;
    server = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.setEncoding('utf8').on('data', (s: string) => log.append(s));
    server.stderr!.setEncoding('utf8').on('data', (s: string) => log.append(s));
    server.once('close', (code, sig) => log.end(`server exited (code ${code}, signal ${sig})`));
    process.once('exit', () => server?.kill('SIGKILL'));
    await log.waitFor(/^LISTENING /m, 30_000);

    restoreHosts = addHostsEntry(addr, opts.name);
  } catch (err) {
    await stop();
    throw err;
  }
  return { ns, hostAddr, addr, name: opts.name, log: () => log.text, stop };
}
