/**
 * test/interop/bsd-interop.test.ts — BSD-Compress (RFC 1977) between
 * ppproxy and the real pppd 2.4.9 + Linux kernel bsd_comp module in a QEMU
 * guest. The guest runs `nodeflate bsdcomp 15`, so BSD-Compress is the only
 * method CCP can pick; ppproxy runs with `bsdcomp 15`.
 *
 * In each test the guest dials us and moves 256 KiB of the fox text
 * (`%06d the quick brown fox jumps over the lazy dog` lines) through our
 * masquerade to an HTTP server on the host's loopback: first UP (the
 * guest's kernel compresses, we decompress), then DOWN (we compress, the
 * guest's kernel decompresses). Both are checked by SHA-256; a counting
 * relay on the serial line shows whether each direction was compressed.
 *
 * 1. ppproxy `bsdcomp 15,0`: we ask the guest to compress toward us but do
 *    not compress toward it. The upload must be compressed on the line and
 *    intact: our decompressor against the kernel's compressor.
 * 2. ppproxy `bsdcomp 15`: both ways. What DOWN does depends on the guest's
 *    kernel: bsd_comp.c's decompressor keeps its bit accumulator in an
 *    `unsigned long` and relies on it being 32 bits wide ("relying on the
 *    32-bit, unsigned accm to mask the result"); on x86_64 it is 64, so
 *    earlier codes leak into later ones and the kernel reports
 *    DECOMP_FATALERROR on the first packet of two codes or more,
 *    after which pppd takes CCP down ("Lost compression sync: disabling
 *    compression") and everything flows uncompressed. The test accepts
 *    either a compressed download or that exact guest message, and says
 *    which it saw. (Our packets decode with the kernel's own
 *    bsd_decompress built with a 32-bit accumulator; see bsd-comp.test.ts
 *    for golden packets from its compressor.)
 *
 * Skipped (loudly) when the harness cannot run, or when the guest image has
 * no bsd_comp module.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { CLIENT_IP, PAP_SECRETS, SERVER_IP } from './howto-scenarios.js';
import { cliSkip, makePppDir, removeDir, startPpproxy } from './ppproxy-process.js';
import { interopSkip, startGuest, type Guest } from './qemu-guest.js';
import { countingRelay, sha256, withLogs } from './interop-util.js';

const BOOT_MS = 120_000;
const SESSION_MS = 240_000;
const BYTES = 256 * 1024;
/** A direction counts as compressed when the serial line carried less than this share of the payload. */
const COMPRESSED_SHARE = 0.6;

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const f of cleanups.reverse()) await f();
});

/** The fox file, as the guest's awk writes it. */
function fox(n: number): Buffer {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `${String(i).padStart(6, '0')} the quick brown fox jumps over the lazy dog\n`;
  return Buffer.from(s.slice(0, n), 'latin1');
}

/** Is bsd_comp among the modules build-initramfs.sh puts in the guest? */
function bsdModuleSkip(): string | false {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'build-initramfs.sh');
  const m = /^MODULES=\(([^)]*)\)/m.exec(readFileSync(script, 'utf8'));
  if (m && m[1].split(/\s+/).includes('bsd_comp')) return false;
  const why = 'the guest initramfs has no bsd_comp module: build-initramfs.sh must add bsd_comp to MODULES (after ppp_generic) and guest/init.sh must insmod it';
  process.stderr.write(`\n*** BSD-COMPRESS INTEROP SKIPPED: ${why} ***\n\n`);
  return why;
}

interface RunResult {
  upShare: number;
  downShare: number;
  ours: string;
  console: string;
}

/** One guest session: boot, dial, upload then download; throws with every log on a failure. */
async function runSession(t: { diagnostic(s: string): void; skip(s: string): void }, ourBsd: string, name: string): Promise<RunResult | undefined> {
  const down = fox(BYTES);
  let uploaded: string | undefined;
  const web = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/fox') {
      res.writeHead(200, { 'content-length': down.length, 'content-type': 'text/plain' });
      res.end(down);
    } else if (req.method === 'POST' && req.url === '/upload') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        uploaded = sha256(Buffer.concat(chunks));
        res.end('ok\n');
      });
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => web.close(() => r())));
  const webPort = (web.address() as net.AddressInfo).port;

  const guest: Guest = await startGuest({
    name,
    files: { '/etc/ppp/pap-secrets': PAP_SECRETS, '/etc/ppp/options.ttyS1': 'user zaphod\n' },
    script: [
      `awk 'BEGIN { for (i = 0; i < 6000; i++) printf "%06d the quick brown fox jumps over the lazy dog\\n", i }' | head -c ${BYTES} > /tmp/up`,
      'echo "@@UP-SHA256 $(sha256sum /tmp/up | cut -d" " -f1)"',
      'pppd /dev/ttyS1 115200 nodetach debug local noauth noipdefault nodeflate bsdcomp 15 &',
      'pid=$!',
      'if wait-file /run/ip-up.ppp0 100 $pid; then',
      `  wget -q -O /tmp/reply --post-file /tmp/up http://${SERVER_IP}:${webPort}/upload; echo "@@POST $?"`,
      `  wget -q -O /tmp/fox http://${SERVER_IP}:${webPort}/fox; echo "@@WGET $?"`,
      '  echo "@@SHA256 $(sha256sum /tmp/fox | cut -d" " -f1)"',
      '  sleep 2',
      '  kill $pid',
      'fi',
      'wait $pid; echo "@@PPPD-EXIT $?"',
    ].join('\n'),
  });
  cleanups.push(() => guest.stop());
  const relay = await countingRelay(guest.serialPort);
  cleanups.push(() => relay.close());
  const dir = await makePppDir({
    options: `auth\nrequire-pap\ndebug\nbsdcomp ${ourBsd}\n${SERVER_IP}:${CLIENT_IP}\n`,
    'pap-secrets': PAP_SECRETS,
  });
  cleanups.push(() => removeDir(dir));
  const p = startPpproxy(['serve', `tcp://127.0.0.1:${relay.port}`, '--ppp-dir', dir]);
  cleanups.push(() => p.stop());
  try {
    const booted = await guest.waitFor(/@@BOOTED|@@INSMOD-FAIL bsd_comp/, BOOT_MS);
    if (booted[0].includes('INSMOD-FAIL')) {
      const why = 'the guest could not insmod bsd_comp (see its console)';
      process.stderr.write(`\n*** BSD-COMPRESS INTEROP SKIPPED: ${why} ***\n\n`);
      t.skip(why);
      return undefined;
    }
    await guest.waitFor(/@@IP-UP ppp0/, BOOT_MS);
    const beforeUp = { ...relay.bytes };
    await guest.waitFor(/@@POST 0/, SESSION_MS);
    const sent = await guest.waitFor(/@@UP-SHA256 ([0-9a-f]{64})/, 1_000);
    assert.equal(sent[1], sha256(fox(BYTES)), 'the guest wrote the same fox file we expect');
    assert.equal(uploaded, sent[1], 'upload intact');
    const afterUp = { ...relay.bytes };
    await guest.waitFor(/@@WGET 0/, SESSION_MS);
    const got = await guest.waitFor(/@@SHA256 ([0-9a-f]{64})/, 10_000);
    assert.equal(got[1], sha256(down), 'download intact');
    const downLine = relay.bytes.toTarget - afterUp.toTarget;
    const upLine = afterUp.fromTarget - beforeUp.fromTarget;
    await guest.waitFor(/@@PPPD-EXIT/, 30_000);
    const r = { upShare: upLine / BYTES, downShare: downLine / BYTES, ours: p.output(), console: guest.console() };
    t.diagnostic(`UP (kernel compresses, we decompress): ${upLine} line bytes for ${BYTES} (${r.upShare.toFixed(3)})`);
    t.diagnostic(`DOWN (we compress, kernel decompresses): ${downLine} line bytes for ${BYTES} (${r.downShare.toFixed(3)})`);
    return r;
  } catch (err) {
    throw withLogs(err, { 'ppproxy output': p.output(), 'guest console': guest.console() });
  }
}

describe('BSD-Compress against the real pppd and Linux bsd_comp', async () => {
  const skip = (await interopSkip()) || cliSkip() || bsdModuleSkip();

  test('bsdcomp 15,0 (guest compresses to us only): 256 KiB of text up compressed on the line and intact, 256 KiB down intact', { skip, timeout: BOOT_MS + 2 * SESSION_MS }, async (t) => {
    const r = await runSession(t, '15,0', 'guest-bsd-up');
    if (!r) return;
    const logs = { 'ppproxy output': r.ours, 'guest console': r.console };
    try {
      assert.match(r.ours, /BSD-Compress \(15\) receive compression enabled/, 'our pppd line');
      assert.match(r.console, /BSD-Compress \(15\) transmit compression enabled/, "the guest pppd's line");
      assert.ok(r.upShare < COMPRESSED_SHARE, `the upload was BSD-compressed on the line (${r.upShare.toFixed(3)} of the payload), so we decoded the kernel's codes`);
      assert.doesNotMatch(r.ours, /decompression failed/, 'no decompression failure on our side');
      assert.ok(r.downShare > 0.9, `nothing compressed toward the guest (${r.downShare.toFixed(3)})`);
    } catch (err) {
      throw withLogs(err, logs);
    }
  });

  test('bsdcomp 15 both ways: data intact; the download compressed, or the x86_64 kernel reports "Lost compression sync"', { skip, timeout: BOOT_MS + 2 * SESSION_MS }, async (t) => {
    const r = await runSession(t, '15', 'guest-bsd-both');
    if (!r) return;
    const logs = { 'ppproxy output': r.ours, 'guest console': r.console };
    try {
      assert.match(r.ours, /BSD-Compress \(15\) compression enabled/, 'our pppd line');
      assert.match(r.console, /BSD-Compress \(15\) compression enabled/, "the guest pppd's line");
      const lost = /Lost compression sync: disabling compression/.test(r.console);
      if (r.downShare < COMPRESSED_SHARE) {
        assert.ok(!lost, 'compressed download and no "Lost compression sync"');
        t.diagnostic('DOWN: the guest kernel decompressed our BSD-Compress packets');
      } else {
        assert.ok(lost, `the download went uncompressed (${r.downShare.toFixed(3)}) without the guest's "Lost compression sync" explanation`);
        t.diagnostic('DOWN: the guest kernel failed to decompress our packets (DECOMP_FATALERROR, pppd: "Lost compression sync: disabling compression"): the 64-bit accm of bsd_decompress');
        process.stderr.write('\n*** BSD-COMPRESS: the x86_64 guest kernel cannot decompress BSD-Compress (bsd_decompress\'s 64-bit accm); pppd took CCP down and the data went uncompressed, intact ***\n\n');
      }
    } catch (err) {
      throw withLogs(err, logs);
    }
  });
});
