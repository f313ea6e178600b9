/**
 * test/interop/harness.test.ts — self-test of the QEMU interop harness: proves
 * the guest boots, its pppd talks valid PPP on ttyS1, and two guests' pppd
 * reach each other, before any ppproxy test is trusted to run against them.
 *
 * Run: npm run test:interop (needs .ci/interop-setup.sh once; skips loudly
 * when the harness cannot run, fails instead with PPPROXY_INTEROP_REQUIRED=1).
 */

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { buildCpio } from './cpio.js';
import { fcs16, scanFrames } from './hdlc-scan.js';
import { LogWatch } from './log-watch.js';
import { connectSerial, interopSkip, joinSerials, startGuest, type Guest } from './qemu-guest.js';

/** Generous: one boot under TCG on a loaded 2-core machine. */
const BOOT_MS = 120_000;

const guests: Guest[] = [];
after(async () => {
  await Promise.all(guests.map((g) => g.stop()));
});

async function boot(...args: Parameters<typeof startGuest>): Promise<Guest> {
  const g = await startGuest(args[0]);
  guests.push(g);
  return g;
}

describe('harness helpers (no QEMU)', () => {
  test('fcs16 matches the CRC-16/X-25 check value of "123456789"', () => {
    // CRC-16/X-25 is RFC 1662's FCS-16 with the final complement: check 0x906e
    assert.equal(fcs16(new TextEncoder().encode('123456789')) ^ 0xffff, 0x906e);
  });

  test('scanFrames unescapes, reads the protocol and checks the FCS', () => {
    const body = Uint8Array.from([0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04]);
    const fcs = fcs16(body) ^ 0xffff;
    const frame = [...body, fcs & 0xff, fcs >> 8];
    const wire: number[] = [0x7e];
    for (const b of frame) {
      if (b < 0x20 || b === 0x7e || b === 0x7d) wire.push(0x7d, b ^ 0x20);
      else wire.push(b);
    }
    wire.push(0x7e);
    const good = scanFrames(Uint8Array.from(wire));
    assert.equal(good.length, 1);
    assert.equal(good[0].fcsOk, true);
    assert.equal(good[0].protocol, 0xc021);
    assert.deepEqual([...good[0].body], [...body]);
    wire[6] ^= 0x01; // corrupt one information octet
    assert.equal(scanFrames(Uint8Array.from(wire))[0].fcsOk, false);
  });

  test('LogWatch matches complete lines only, so a capture is never cut at a chunk boundary', async () => {
    const log = new LogWatch('test log');
    log.append('@@IP-UP ppp0 192.168.7.1 192.168');
    const p = log.waitFor(/@@IP-UP (\S+) (\S+) (\S+)/, 5_000);
    let settled = false;
    void p.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'half a line must not match');
    log.append('.7.2\nmore');
    assert.deepEqual((await p).slice(1), ['ppp0', '192.168.7.1', '192.168.7.2']);
    const never = log.waitFor(/@@DONE/, 5_000);
    log.end('producer gone');
    await assert.rejects(never, (err: Error) => /never appeared: producer gone/.test(err.message) && err.message.includes('192.168.7.2\nmore'));
    // the unterminated tail is searched once the producer has ended
    assert.equal((await log.waitFor(/^more$/m, 1_000))[0], 'more');
  });

  test('buildCpio writes newc entries with parents, 4-byte aligned, and a trailer', () => {
    const out = buildCpio([{ path: '/etc/ppp/x', data: new TextEncoder().encode('hi'), mode: 0o600 }]);
    const text = new TextDecoder('latin1').decode(out);
    assert.equal(out.length % 4, 0);
    assert.ok(text.startsWith('070701'));
    for (const name of ['etc\0', 'etc/ppp\0', 'etc/ppp/x\0', 'TRAILER!!!\0']) assert.ok(text.includes(name), name);
    assert.throws(() => buildCpio([{ path: 'relative', data: new Uint8Array(), mode: 0 }]), /absolute/);
    assert.throws(() => buildCpio([{ path: '/a/../b', data: new Uint8Array(), mode: 0 }]), /\.\./);
  });
});

describe('QEMU guest', async () => {
  const skip = await interopSkip();

  test('(a) boots, runs the scenario script, powers off', { skip, timeout: BOOT_MS + 30_000 }, async (t) => {
    const t0 = Date.now();
    const g = await boot({
      name: 'hello',
      files: { '/etc/motd': 'scenario file\n' },
      script: 'echo @@HELLO; cat /etc/motd; pppd --version',
    });
    await g.waitFor(/@@HELLO/, BOOT_MS);
    t.diagnostic(`@@HELLO after ${Date.now() - t0} ms (guest ${/@@BOOTED (\S+)/.exec(g.console())?.[1]} s)`);
    await g.waitFor(/^scenario file$/m, 10_000);
    await g.waitFor(/pppd version 2\.4\.9/, 10_000);
    await g.waitFor(/@@DONE 0/, 10_000);
    assert.doesNotMatch(g.console(), /@@INSMOD-FAIL/);
    assert.equal(await g.exited, 0, 'poweroff -f ends QEMU with status 0');
    t.diagnostic(`QEMU exited after ${Date.now() - t0} ms`);
  });

  test('(b) guest pppd sends LCP Configure-Requests with a valid FCS on ttyS1', { skip, timeout: BOOT_MS + 30_000 }, async (t) => {
    const g = await boot({
      name: 'lcp',
      files: {},
      script: 'pppd /dev/ttyS1 115200 nodetach debug noauth local 192.168.7.1:192.168.7.2; echo @@PPPD-EXIT $?',
    });
    const sock = await connectSerial(g);
    t.after(() => sock.destroy());
    const chunks: Buffer[] = [];
    const frame = await new Promise<ReturnType<typeof scanFrames>[number]>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no valid LCP ConfReq within ${BOOT_MS} ms; ${Buffer.concat(chunks).length} bytes read\n${g.console()}`));
      }, BOOT_MS);
      sock.on('data', (c: Buffer) => {
        chunks.push(c);
        const found = scanFrames(Buffer.concat(chunks)).find((f) => f.fcsOk && f.protocol === 0xc021);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        }
      });
    });
    // ff 03 c0 21, then the LCP header: code 1 = Configure-Request (RFC 1661 §5.1)
    assert.deepEqual([...frame.body.subarray(0, 4)], [0xff, 0x03, 0xc0, 0x21]);
    assert.equal(frame.body[4], 1, 'LCP code is Configure-Request');
    const lcpLength = (frame.body[6] << 8) | frame.body[7];
    assert.equal(lcpLength, frame.body.length - 4, 'LCP length covers the packet');
    await g.waitFor(/sent \[LCP ConfReq id=0x1 /, 10_000);
    t.diagnostic(`first LCP frame: ${Buffer.from(frame.body).toString('hex')}`);
  });

  test('(c) two guests joined by a relayed null-modem cable reach IP-up, ping each other and move 256 KiB over HTTP', { skip, timeout: 2 * BOOT_MS + 90_000 }, async (t) => {
    const server = await boot({
      name: 'pppd-server',
      files: {},
      script: [
        'mkdir -p /www && head -c 262144 /dev/urandom > /www/blob',
        'echo "@@SHA256 $(sha256sum /www/blob | cut -d" " -f1)"',
        'pppd /dev/ttyS1 115200 nodetach debug local noauth 192.168.7.1:192.168.7.2 &',
        'pid=$!',
        'if wait-file /run/ip-up.ppp0 100 $pid; then',
        '  httpd -p 192.168.7.1:80 -h /www',
        '  ping -c 3 -W 10 192.168.7.2; echo "@@PING $?"',
        'fi',
        // the client hangs up when it has the file
        'wait $pid; echo "@@PPPD-EXIT $?"',
      ].join('\n'),
    });
    const client = await boot({
      name: 'pppd-client',
      files: {},
      script: [
        'pppd /dev/ttyS1 115200 nodetach debug local noauth noipdefault &',
        'pid=$!',
        'if wait-file /run/ip-up.ppp0 100 $pid; then',
        '  ping -c 3 -W 10 192.168.7.1; echo "@@PING $?"',
        '  t0=$(cut -d" " -f1 /proc/uptime)',
        '  wget -q -O /tmp/blob http://192.168.7.1/blob; echo "@@WGET $?"',
        '  echo "@@WGET-SECONDS $t0 $(cut -d" " -f1 /proc/uptime)"',
        '  echo "@@SHA256 $(sha256sum /tmp/blob | cut -d" " -f1)"',
        '  kill $pid',
        'fi',
        'wait $pid; echo "@@PPPD-EXIT $?"',
      ].join('\n'),
    });
    const cable = await joinSerials(server, client);
    t.after(() => cable.close());

    const [upS, upC] = await Promise.all([
      server.waitFor(/@@IP-UP (\S+) (\S+) (\S+)/, BOOT_MS),
      client.waitFor(/@@IP-UP (\S+) (\S+) (\S+)/, BOOT_MS),
    ]);
    assert.deepEqual(upS.slice(1), ['ppp0', '192.168.7.1', '192.168.7.2']);
    assert.deepEqual(upC.slice(1), ['ppp0', '192.168.7.2', '192.168.7.1']);
    await Promise.all([server.waitFor(/@@PING 0/, 60_000), client.waitFor(/@@PING 0/, 60_000)]);
    await client.waitFor(/@@WGET 0/, 60_000);
    const [sumS, sumC] = await Promise.all([
      server.waitFor(/@@SHA256 ([0-9a-f]{64})/, 1_000),
      client.waitFor(/@@SHA256 ([0-9a-f]{64})/, 10_000),
    ]);
    assert.equal(sumC[1], sumS[1], 'the file arrived intact');
    await Promise.all([server.waitFor(/@@DONE/, 60_000), client.waitFor(/@@DONE/, 60_000)]);
    assert.match(client.console(), /sent \[LCP TermReq/);
    assert.match(server.console(), /rcvd \[LCP TermReq/);
    const w = /@@WGET-SECONDS (\S+) (\S+)/.exec(client.console());
    const secs = w ? Number(w[2]) - Number(w[1]) : NaN;
    t.diagnostic(`256 KiB in ${secs.toFixed(2)} s guest time (${(256 / secs).toFixed(1)} KiB/s); relay carried ${cable.bytes.aToB} bytes server->client, ${cable.bytes.bToA} client->server`);
  });
});
