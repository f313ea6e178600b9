/**
 * test/interop/client-interop.test.ts — ppproxy as the HOWTO's client
 * (`dial`, issue 4) calling the real pppd 2.4.9 and Linux kernel in a QEMU
 * guest set up as the HOWTO's server: `auth`, pap-secrets zaphod/gargleBlaster,
 * options.ttyS1 `192.168.7.1:192.168.7.2`, and busybox httpd serving a 1 MiB
 * file on 192.168.7.1. The guest's pppd offers VJ and CCP (deflate, bsd) by
 * default, and ppproxy negotiates VJ and Deflate 15 by default.
 *
 * One session, checked step by step:
 *  1. the link comes up (PAP, 192.168.7.2 for us);
 *  2. `curl --socks5-hostname` through our SOCKS5 fetches the file, SHA-256 checked, timed;
 *  3. `ppproxy ping -c 3 192.168.7.1 --control PATH` through the running client;
 *  4. `ppproxy fetch http://192.168.7.1/file -o F --sha256 HEX --control PATH`;
 *  5. what compression ran, from both logs (Deflate and VJ), asserted.
 *
 * PPPROXY_INTEROP_EXTRA / PPPROXY_INTEROP_GUEST_EXTRA add words to ppproxy's
 * and the guest pppd's command lines (e.g. "novj", "noccp", "nobsdcomp") to
 * find which compression is at fault when a transfer is damaged.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLIENT_IP, PAP_SECRETS, SERVER_IP } from './howto-scenarios.js';
import { assertNoCcpResets, countingRelay, extraWords, freePort, guestExtraWords, withLogs, type CountingRelay } from './interop-util.js';
import { CLI, REPO_ROOT, cliSkip, makePppDir, removeDir, startPpproxy, type PpproxyProcess } from './ppproxy-process.js';
import { interopSkip, startGuest, type Guest } from './qemu-guest.js';

const BOOT_MS = 120_000;
/** 1 MiB guest -> host; measured below, the deadline is generous for a loaded machine. */
const BIG_MS = 180_000;
const STEP_MS = 60_000;
const FILE_BYTES = 1024 * 1024;

const skipAll = (await interopSkip()) || cliSkip() || (await haveCurl());

async function haveCurl(): Promise<string | false> {
  return new Promise((resolve) =>
    execFile('curl', ['--version'], (err) => {
      if (!err) return resolve(false);
      const why = 'curl is missing (install curl)';
      process.stderr.write(`\n*** CLIENT INTEROP TESTS SKIPPED: ${why} ***\n\n`);
      resolve(why);
    }),
  );
}

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const f of cleanups.reverse()) await f();
});

let guest: Guest | undefined;
let pp: PpproxyProcess | undefined;
let socksPort = 0;
let relay: CountingRelay | undefined;
/** Line bytes from the guest during the curl download (undefined until it succeeded). */
let wireFromGuestForCurl: number | undefined;
/** Did `ppproxy ping` get its replies? When not, the transfers get short deadlines (the link carries nothing). */
let pingOk = false;
let controlPath = '';
let tmp = '';
let wantSha = '';
let setupError: unknown;
const subLogs: Record<string, string> = {};

function logs(): Record<string, string> {
  const l: Record<string, string> = {};
  if (guest) l[`console of ${guest.name}`] = guest.console();
  if (pp) l['ppproxy dial output'] = pp.output();
  return { ...l, ...subLogs };
}

async function step(f: () => Promise<void>): Promise<void> {
  if (setupError) throw withLogs(setupError, logs());
  try {
    await f();
  } catch (err) {
    throw withLogs(err, logs());
  }
}

/** Runs a command with a deadline; resolves with its exit code and output (never rejects). */
function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | undefined) ?? null : 0;
      const killed = err && (err as { killed?: boolean }).killed ? `\n[test] killed after ${timeoutMs} ms\n` : '';
      resolve({ code: typeof code === 'number' ? code : null, out: `${stdout}${stderr}${killed}`, ms: performance.now() - t0 });
    });
  });
}

async function fileSha256(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
}

describe('client role: our dial calls the HOWTO server guest', { skip: skipAll }, () => {
  before(async () => {
    try {
      tmp = await mkdtemp(path.join(os.tmpdir(), 'ppproxy-client-interop-'));
      cleanups.push(() => rm(tmp, { recursive: true, force: true }));
      controlPath = path.join(tmp, 'control.sock');
      guest = await startGuest({
        name: 'guest-howto-server',
        files: {
          '/etc/ppp/options': 'auth\nlock\nasyncmap 0\nms-dns 10.0.0.1\n',
          '/etc/ppp/options.ttyS1': `${SERVER_IP}:${CLIENT_IP}\n`,
          '/etc/ppp/pap-secrets': PAP_SECRETS,
        },
        script: [
          // 8 KiB blocks alternating random and text: Deflate sends both stored and compressed packets
          'mkdir -p /www; i=0',
          'while [ $i -lt 64 ]; do head -c 8192 /dev/urandom; seq $((i * 2000)) $((i * 2000 + 1999)) | head -c 8192; i=$((i + 1)); done > /www/file',
          'echo "@@FILE $(sha256sum /www/file | cut -d" " -f1) $(wc -c < /www/file)"',
          'httpd -p 0.0.0.0:80 -h /www',
          `pppd /dev/ttyS1 115200 nodetach debug local ${guestExtraWords().join(' ')} &`,
          'pid=$!',
          'wait $pid; echo "@@PPPD-EXIT $?"',
        ].join('\n'),
        timeoutMs: 600_000,
      });
      cleanups.push(() => guest!.stop());
      const dir = await makePppDir({ options: 'user zaphod\nnoauth\nnoipdefault\n', 'pap-secrets': PAP_SECRETS });
      cleanups.push(() => removeDir(dir));
      socksPort = await freePort();
      // `ppproxy fetch` goes through the running client's HTTP proxy, so it stays on (on a free port)
      const httpPort = await freePort();
      // the line's bytes are counted on their way, to see what compression did
      relay = await countingRelay(guest.serialPort);
      cleanups.push(() => relay!.close());
      pp = startPpproxy(
        ['dial', `tcp://127.0.0.1:${relay.port}`, '--ppp-dir', dir, '--socks', `127.0.0.1:${socksPort}`, '--http', `127.0.0.1:${httpPort}`, '--control', controlPath, 'debug', ...extraWords()],
        'ppproxy dial',
      );
      cleanups.push(() => pp!.stop());
    } catch (err) {
      setupError = err;
    }
  });

  test(`the link comes up: PAP zaphod, we get ${CLIENT_IP}`, { timeout: BOOT_MS + 10_000 }, () =>
    step(async () => {
      const f = await guest!.waitFor(/@@FILE ([0-9a-f]{64}) (\d+)/, BOOT_MS);
      assert.equal(Number(f[2]), FILE_BYTES, 'the guest made a 1 MiB file');
      wantSha = f[1];
      await guest!.waitFor(new RegExp(`@@IP-UP ppp0 ${SERVER_IP} ${CLIENT_IP}`), BOOT_MS);
      await guest!.waitFor(/PAP peer authentication succeeded for zaphod/, 1_000);
      await pp!.waitFor(new RegExp(`local  IP address ${CLIENT_IP}`), 10_000);
    }));

  test(`ppproxy ping -c 3 ${SERVER_IP} --control PATH`, { timeout: STEP_MS + 10_000 }, () =>
    step(async () => {
      const r = await run(process.execPath, ['--import', 'tsx', CLI, 'ping', '-c', '3', SERVER_IP, '--control', controlPath], STEP_MS);
      subLogs['ppproxy ping output'] = r.out;
      assert.equal(r.code, 0, 'ppproxy ping exit status');
      const replies = r.out.match(/icmp_seq=\d+ ttl=\d+ time=[\d.]+ ms/g) ?? [];
      assert.equal(replies.length, 3, 'three echo replies printed');
      assert.match(r.out, /3 packets transmitted, 3 received/);
      pingOk = true;
    }));

  test(`curl --socks5-hostname 127.0.0.1:PORT http://${SERVER_IP}/file: 1 MiB, SHA-256 intact`, { timeout: BIG_MS + 10_000 }, (t) =>
    step(async () => {
      assert.ok(wantSha, 'the link step found the file');
      const out = path.join(tmp, 'curl.bin');
      const before = relay!.bytes.fromTarget;
      const maxS = pingOk ? BIG_MS / 1000 - 5 : 40;
      const r = await run('curl', ['-sS', '--connect-timeout', '30', '--max-time', String(maxS), '--socks5-hostname', `127.0.0.1:${socksPort}`, `http://${SERVER_IP}/file`, '-o', out, '-w', '%{http_code} %{size_download} %{time_total}\n'], maxS * 1000 + 5_000);
      subLogs['curl output'] = r.out;
      assert.equal(r.code, 0, `curl exit status; output: ${r.out}`);
      assert.match(r.out, /^200 /m, 'HTTP 200');
      assert.equal((await stat(out)).size, FILE_BYTES, 'size');
      assert.equal(await fileSha256(out), wantSha, '1 MiB through SOCKS5 intact');
      wireFromGuestForCurl = relay!.bytes.fromTarget - before;
      const secs = r.ms / 1000;
      t.diagnostic(`1 MiB guest -> host through SOCKS5 in ${secs.toFixed(1)} s, ${(FILE_BYTES / 1024 / secs).toFixed(1)} KiB/s; the line carried ${wireFromGuestForCurl} bytes from the guest meanwhile`);
    }));

  test(`ppproxy fetch http://${SERVER_IP}/file -o F --sha256 HEX --control PATH`, { timeout: BIG_MS + 10_000 }, (t) =>
    step(async () => {
      assert.ok(wantSha, 'the link step found the file');
      const out = path.join(tmp, 'fetch.bin');
      const r = await run(process.execPath, ['--import', 'tsx', CLI, 'fetch', `http://${SERVER_IP}/file`, '-o', out, '--sha256', wantSha, '--no-progress', '--control', controlPath], pingOk ? BIG_MS : 40_000);
      subLogs['ppproxy fetch output'] = r.out;
      assert.equal(r.code, 0, 'ppproxy fetch exit status');
      assert.match(r.out, /sha256 OK/);
      assert.equal(await fileSha256(out), wantSha, 'the file on disk (checked by us too)');
      t.diagnostic(`ppproxy fetch of 1 MiB in ${(r.ms / 1000).toFixed(1)} s (incl. ~1-2 s CLI start)`);
    }));

  test('compression with the kernel: CCP Deflate 15 and VJ on, no Reset-Requests, and the curl download shrank on the line', { timeout: 20_000 }, (t) =>
    step(async () => {
      const extra = extraWords();
      if (extra.length > 0) t.diagnostic(`ppproxy ran with extra words: ${extra.join(' ')}`);
      const out = pp!.output();
      t.diagnostic(`ppproxy: ${/^.*compression enabled.*$/m.exec(out)?.[0] ?? '(no "compression enabled" line)'}`);
      t.diagnostic(`guest pppd: ${/^.*compression enabled.*$/m.exec(guest!.console())?.[0] ?? '(none)'}`);
      const deflate = !extra.includes('noccp') && !extra.includes('nodeflate');
      if (deflate) assert.match(out, /Deflate \(15\) compression enabled/, 'CCP Deflate 15 negotiated with ppp_deflate');
      if (!extra.includes('novj')) assert.match(out, /sent \[IPCP ConfAck id=0x[0-9a-f]+ [^\]]*<compress VJ 0f 01>/, 'we acked the kernel\'s VJ');
      assertNoCcpResets((d) => t.diagnostic(d), out, guest!.console());
      assert.ok(wireFromGuestForCurl !== undefined, 'the curl download above did not succeed');
      // half of the file is text: with Deflate on, the line carries well under the payload; without, more (headers, escapes)
      const ratio = wireFromGuestForCurl / FILE_BYTES;
      t.diagnostic(`line bytes from the guest during curl / 1 MiB payload = ${ratio.toFixed(3)}`);
      if (deflate) assert.ok(ratio < 0.9, `Deflate did not shrink the download: ratio ${ratio.toFixed(3)}`);
    }));

  test('we hang up and the guest\'s pppd sees it', { timeout: STEP_MS + 10_000 }, () =>
    step(async () => {
      await pp!.stop();
      await guest!.waitFor(/@@PPPD-EXIT \d+/, STEP_MS);
      await guest!.waitFor(/LCP terminated by peer|Connection terminated|Modem hangup/, 1_000);
    }));
});
