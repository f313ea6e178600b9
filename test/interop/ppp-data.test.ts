/**
 * test/interop/ppp-data.test.ts — data through ppproxy against the real pppd
 * and Linux kernel TCP in a QEMU guest, checked by SHA-256:
 *  - serve: the guest dials us (PAP), downloads from and uploads to an HTTP
 *    server on the host's loopback through our masquerade (192.168.7.1 leads
 *    to the host's own services);
 *  - dial: we call the HOWTO server guest and fetch from its busybox httpd
 *    through our SOCKS5 proxy.
 *
 * Sizes stay small: the emulated 16550 moves ~50 KiB/s towards the guest.
 * Skipped while bin/ppproxy.ts does not exist or the harness cannot run.
 */

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { SocksClient } from 'socks';
import { CLIENT_IP, PAP_SECRETS, SERVER_IP, pppdScript } from './howto-scenarios.js';
import { cliSkip, makePppDir, removeDir, startPpproxy } from './ppproxy-process.js';
import { interopSkip, startGuest, type Guest } from './qemu-guest.js';
import { freePort } from './interop-util.js';

const BOOT_MS = 120_000;
const SESSION_MS = 120_000;
const DOWN_BYTES = 256 * 1024;
const UP_BYTES = 128 * 1024;

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(cleanups.map((f) => f()));
});

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Deterministic bytes from a seed (SHA-256 in counter mode), so a failure can be replayed. */
function seededBytes(seed: string, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0, off = 0; off < n; i++, off += 32) {
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  }
  return out;
}


async function boot(s: Parameters<typeof startGuest>[0]): Promise<Guest> {
  const g = await startGuest(s);
  cleanups.push(() => g.stop());
  return g;
}

function withOutput(err: unknown, out: string): Error {
  return new Error(`${(err as Error).message}\n--- ppproxy output ---\n${out}\n--- end of ppproxy output ---`);
}

describe('data through ppproxy and the real pppd', async () => {
  const skip = (await interopSkip()) || cliSkip();

  test('serve: guest downloads 256 KiB from and uploads 128 KiB to a host web server through our masquerade', { skip, timeout: BOOT_MS + SESSION_MS + 30_000 }, async (t) => {
    const seed = randomBytes(8).toString('hex');
    const blob = seededBytes(seed, DOWN_BYTES);
    let uploaded: string | undefined;
    const web = http.createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/blob') {
        res.writeHead(200, { 'content-length': blob.length, 'content-type': 'application/octet-stream' });
        res.end(blob);
      } else if (req.method === 'POST' && req.url === '/upload') {
        const h = createHash('sha256');
        req.on('data', (c: Buffer) => h.update(c));
        req.on('end', () => {
          uploaded = h.digest('hex');
          res.end('ok\n');
        });
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => web.close(() => r())));
    const webPort = (web.address() as net.AddressInfo).port;

    const guest = await boot({
      name: 'guest-data-client',
      files: { '/etc/ppp/pap-secrets': PAP_SECRETS, '/etc/ppp/options.ttyS1': 'user zaphod\n' },
      script: [
        // busybox wget sends --post-file with "%s": text only, no NUL bytes
        `head -c ${(UP_BYTES / 4) * 3} /dev/urandom | base64 > /tmp/up`,
        'echo "@@UP-SHA256 $(sha256sum /tmp/up | cut -d" " -f1)"',
        'pppd /dev/ttyS1 115200 nodetach debug local noauth noipdefault &',
        'pid=$!',
        'if wait-file /run/ip-up.ppp0 100 $pid; then',
        `  wget -q -O /tmp/blob http://${SERVER_IP}:${webPort}/blob; echo "@@WGET $?"`,
        '  echo "@@SHA256 $(sha256sum /tmp/blob | cut -d" " -f1)"',
        `  wget -q -O /tmp/reply --post-file /tmp/up http://${SERVER_IP}:${webPort}/upload; echo "@@POST $?"`,
        '  kill $pid',
        'fi',
        'wait $pid; echo "@@PPPD-EXIT $?"',
      ].join('\n'),
    });
    const dir = await makePppDir({ options: `auth\nrequire-pap\n${SERVER_IP}:${CLIENT_IP}\n`, 'pap-secrets': PAP_SECRETS });
    cleanups.push(() => removeDir(dir));
    const p = startPpproxy(['serve', `tcp://127.0.0.1:${guest.serialPort}`, '--ppp-dir', dir]);
    cleanups.push(() => p.stop());
    try {
      await guest.waitFor(/@@IP-UP ppp0/, BOOT_MS);
      await guest.waitFor(/@@WGET 0/, SESSION_MS);
      const got = await guest.waitFor(/@@SHA256 ([0-9a-f]{64})/, 10_000);
      assert.equal(got[1], sha256(blob), `download intact (seed ${seed})`);
      await guest.waitFor(/@@POST 0/, SESSION_MS);
      const sent = await guest.waitFor(/@@UP-SHA256 ([0-9a-f]{64})/, 1_000);
      assert.equal(uploaded, sent[1], 'upload intact');
      await guest.waitFor(/@@DONE/, 30_000);
    } catch (err) {
      throw withOutput(err, p.output());
    }
    t.diagnostic(`seed ${seed}`);
  });

  test('dial: we fetch 256 KiB from the HOWTO server guest\'s httpd through our SOCKS5 proxy', { skip, timeout: BOOT_MS + SESSION_MS + 30_000 }, async () => {
    const guest = await boot({
      name: 'guest-data-server',
      files: {
        '/etc/ppp/options': 'auth\nlock\nasyncmap 0\nms-dns 10.0.0.1\n',
        '/etc/ppp/options.ttyS1': `${SERVER_IP}:${CLIENT_IP}\n`,
        '/etc/ppp/pap-secrets': PAP_SECRETS,
      },
      script: [
        `mkdir -p /www && head -c ${DOWN_BYTES} /dev/urandom > /www/blob`,
        'echo "@@SHA256 $(sha256sum /www/blob | cut -d" " -f1)"',
        `httpd -p 0.0.0.0:80 -h /www`,
        // stays up until we hang up
        pppdScript({ args: '' }),
      ].join('\n'),
    });
    const dir = await makePppDir({ options: 'user zaphod\nnoauth\nnoipdefault\n', 'pap-secrets': PAP_SECRETS });
    cleanups.push(() => removeDir(dir));
    const socksPort = await freePort();
    const p = startPpproxy(['dial', `tcp://127.0.0.1:${guest.serialPort}`, '--ppp-dir', dir, '--socks', `127.0.0.1:${socksPort}`, '--http', 'off', '--control', 'off']);
    cleanups.push(() => p.stop());
    try {
      const want = (await guest.waitFor(/@@SHA256 ([0-9a-f]{64})/, BOOT_MS))[1];
      await guest.waitFor(/@@IP-UP ppp0/, BOOT_MS);
      const { socket } = await SocksClient.createConnection({
        proxy: { host: '127.0.0.1', port: socksPort, type: 5 },
        command: 'connect',
        destination: { host: SERVER_IP, port: 80 },
        timeout: 30_000,
      });
      // HTTP/1.0 by hand: the server sends the body and closes
      socket.write(`GET /blob HTTP/1.0\r\nHost: ${SERVER_IP}\r\n\r\n`);
      const reply = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.once('end', () => resolve(Buffer.concat(chunks)));
        socket.once('error', reject);
        socket.setTimeout(SESSION_MS, () => socket.destroy(new Error(`no end of the reply within ${SESSION_MS} ms`)));
      });
      const headEnd = reply.indexOf('\r\n\r\n');
      assert.ok(headEnd > 0, `an HTTP reply head; got ${reply.length} bytes: ${reply.subarray(0, 200).toString('latin1')}`);
      const head = reply.subarray(0, headEnd).toString('latin1');
      assert.match(head, /^HTTP\/1\.[01] 200/, head);
      const body = reply.subarray(headEnd + 4);
      assert.equal(body.length, DOWN_BYTES);
      assert.equal(sha256(body), want, 'download through SOCKS5 intact');
    } catch (err) {
      throw withOutput(err, p.output());
    }
  });
});
