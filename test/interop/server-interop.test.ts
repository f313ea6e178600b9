/**
 * test/interop/server-interop.test.ts — ppproxy as the HOWTO's server
 * (`serve`, issue 5) with the real pppd 2.4.9 and Linux kernel in a QEMU
 * guest dialling in: PAP zaphod/gargleBlaster, 192.168.7.1:192.168.7.2.
 *
 * One guest session, one script, checked step by step by the tests below:
 *  1. IP-up with 192.168.7.2 (PAP, and IPCP with VJ; CCP Deflate with the kernel's ppp_deflate);
 *  2. `ping -c 3 192.168.7.1` answered by our stack;
 *  3. `wget` of 1 MiB from an HTTP server on the host's loopback through
 *     192.168.7.1 (our masquerade leads there), SHA-256 checked;
 *  4. internet sharing: `wget http://web.ppproxy-test/…`, a name that exists
 *     only in the host's /etc/hosts, for a host in a network namespace behind
 *     a veth pair (netns-host.ts). The guest resolves it through the DNS
 *     server pushed in IPCP (our DNS forwarder) and fetches through the
 *     masquerade's host sockets;
 *  5. the guest pings the namespace host: our masquerade runs the system ping.
 * Steps 4–5 skip, saying why, when not root or `ip` is missing.
 *
 * PPPROXY_INTEROP_EXTRA="novj" / "noccp" adds words to ppproxy's command line
 * (to tell VJ from Deflate when a transfer is damaged).
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CLIENT_IP, PAP_SECRETS, SERVER_IP } from './howto-scenarios.js';
import { UPTIME, assertNoCcpResets, countingRelay, extraWords, type CountingRelay, guestExtraWords, mixedBytes, sha256, withLogs } from './interop-util.js';
import { netnsSkip, startNetnsHost, type NetnsHost } from './netns-host.js';
import { cliSkip, makePppDir, removeDir, startPpproxy, type PpproxyProcess } from './ppproxy-process.js';
import { interopSkip, startGuest, type Guest } from './qemu-guest.js';

const BOOT_MS = 120_000;
/** 1 MiB toward the guest at ~50–60 KiB/s is ~20 s; allow for a loaded machine. */
const BIG_MS = 150_000;
const STEP_MS = 60_000;
const BIG_BYTES = 1024 * 1024;
const NAMED_BYTES = 64 * 1024;
const WEB_NAME = 'web.ppproxy-test';

const skipAll = (await interopSkip()) || cliSkip();
const skipNetns = skipAll || netnsSkip();

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const f of cleanups.reverse()) await f();
});

let guest: Guest | undefined;
let pp: PpproxyProcess | undefined;
let nsHost: NetnsHost | undefined;
const seed = randomBytes(8).toString('hex');
let relay: CountingRelay | undefined;
const big = mixedBytes(`big-${seed}`, BIG_BYTES);
const named = mixedBytes(`named-${seed}`, NAMED_BYTES);
let setupError: unknown;
/** Bytes the line carried toward the guest up to the end of the 1 MiB download (undefined until it succeeded). */
let wireToGuestAfterBig: number | undefined;

function logs(): Record<string, string> {
  const l: Record<string, string> = {};
  if (guest) l[`console of ${guest.name}`] = guest.console();
  if (pp) l['ppproxy output'] = pp.output();
  if (nsHost) l[`HTTP server in ${nsHost.ns}`] = nsHost.log();
  return l;
}

/** Runs a check; a failure carries the guest console, ppproxy's output and the seed. */
async function step(f: () => Promise<void>): Promise<void> {
  if (setupError) throw withLogs(setupError, logs());
  try {
    await f();
  } catch (err) {
    throw withLogs(err, { ...logs(), seed });
  }
}

function guestScript(webPort: number): string {
  const lines = [
    `pppd /dev/ttyS1 115200 nodetach debug local noauth noipdefault usepeerdns defaultroute ${guestExtraWords().join(' ')} &`,
    'pid=$!',
    'if wait-file /run/ip-up.ppp0 100 $pid; then',
    `  ping -c 3 -W 10 ${SERVER_IP}; rc=$?; echo "@@PING-SERVER $rc"`,
    // no point in waiting minutes for transfers over a link that carries no data
    '  if [ $rc != 0 ]; then echo "@@WGET-BIG no-data"; echo "@@NSLOOKUP-A no-data"; echo "@@NSLOOKUP-AAAA no-data"; echo "@@WGET-NAME no-data"; echo "@@PING-NS no-data"; kill $pid; fi',
    '  if [ $rc = 0 ]; then',
    `  echo "@@T big-start ${UPTIME}"`,
    `  timeout 120 wget -q -O /tmp/big http://${SERVER_IP}:${webPort}/big; echo "@@WGET-BIG $?"`,
    `  echo "@@T big-end ${UPTIME}"`,
    '  echo "@@SHA-BIG $(sha256sum /tmp/big | cut -d" " -f1) $(wc -c < /tmp/big)"',
  ];
  if (nsHost) {
    lines.push(
      // pppd wrote the IPCP-pushed DNS servers there (usepeerdns) before ip-up
      '  cat /etc/ppp/resolv.conf; cp /etc/ppp/resolv.conf /etc/resolv.conf',
      `  nslookup -type=a ${WEB_NAME}; echo "@@NSLOOKUP-A $?"`,
      `  nslookup -type=aaaa ${WEB_NAME}; echo "@@NSLOOKUP-AAAA $?"`,
      `  timeout 60 wget -q -O /tmp/named http://${WEB_NAME}/named; echo "@@WGET-NAME $?"`,
      '  echo "@@SHA-NAME $(sha256sum /tmp/named | cut -d" " -f1) $(wc -c < /tmp/named)"',
      `  ping -c 3 -W 10 ${nsHost.addr}; echo "@@PING-NS $?"`,
    );
  }
  lines.push('  kill $pid', '  fi', 'fi', 'wait $pid; echo "@@PPPD-EXIT $?"');
  return lines.join('\n');
}

describe('server role: the guest\'s pppd dials our serve (HOWTO settings)', { skip: skipAll }, () => {
  before(async () => {
    try {
      const web = http.createServer((req, res) => {
        if (req.method === 'GET' && req.url === '/big') {
          res.writeHead(200, { 'content-length': big.length, 'content-type': 'application/octet-stream' });
          res.end(big);
        } else res.writeHead(404).end();
      });
      await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
      cleanups.push(() => new Promise<void>((r) => web.close(() => r())));
      const webPort = (web.address() as net.AddressInfo).port;

      if (!skipNetns) {
        nsHost = await startNetnsHost({ name: WEB_NAME, files: { named } });
        cleanups.push(() => nsHost!.stop());
      }

      guest = await startGuest({
        name: 'guest-pap-client',
        files: { '/etc/ppp/pap-secrets': PAP_SECRETS, '/etc/ppp/options.ttyS1': 'user zaphod\n' },
        script: guestScript(webPort),
        timeoutMs: 400_000,
      });
      cleanups.push(() => guest!.stop());
      const dir = await makePppDir({ options: `auth\nrequire-pap\n${SERVER_IP}:${CLIENT_IP}\n`, 'pap-secrets': PAP_SECRETS });
      cleanups.push(() => removeDir(dir));
      // the line's bytes are counted on their way, to see what compression did
      relay = await countingRelay(guest.serialPort);
      cleanups.push(() => relay!.close());
      pp = startPpproxy(['serve', `tcp://127.0.0.1:${relay.port}`, '--ppp-dir', dir, 'debug', ...extraWords()], 'ppproxy serve');
      cleanups.push(() => pp!.stop());
    } catch (err) {
      setupError = err;
    }
  });

  test(`the guest authenticates with PAP zaphod and gets ${CLIENT_IP}`, { timeout: BOOT_MS + 10_000 }, () =>
    step(async () => {
      await guest!.waitFor(new RegExp(`@@IP-UP ppp0 ${CLIENT_IP} ${SERVER_IP}`), BOOT_MS);
      await guest!.waitFor(/PAP authentication succeeded/, 1_000);
      await pp!.waitFor(/PAP peer authentication succeeded for zaphod/, 5_000);
      await pp!.waitFor(new RegExp(`remote IP address ${CLIENT_IP}`), 5_000);
    }));

  test(`guest: ping -c 3 ${SERVER_IP} (answered by our stack)`, { timeout: STEP_MS + 10_000 }, (t) =>
    step(async () => {
      const m = await guest!.waitFor(/@@PING-SERVER (\d+)/, STEP_MS);
      assert.equal(m[1], '0', 'busybox ping exit status');
      const head = await guest!.waitFor(new RegExp(`--- ${SERVER_IP.replace(/\./g, '\\.')} ping statistics ---`), 1_000);
      const stats = await guest!.waitFor(/(\d+) packets transmitted, (\d+) packets received/, 1_000, head.index);
      assert.equal(stats[2], '3', stats[0]);
      const rtt = await guest!.waitFor(/round-trip min\/avg\/max = (\S+) ms/, 1_000);
      t.diagnostic(`rtt min/avg/max ${rtt[1]} ms`);
    }));

  test('guest: wget 1 MiB from the host\'s loopback web server through 192.168.7.1, SHA-256 intact', { timeout: BIG_MS + 10_000 }, (t) =>
    step(async () => {
      const m = await guest!.waitFor(/@@WGET-BIG (\S+)/, BIG_MS);
      assert.equal(m[1], '0', 'busybox wget exit status ("no-data": the ping before it failed, nothing tried)');
      const got = await guest!.waitFor(/@@SHA-BIG ([0-9a-f]{64}) (\d+)/, 10_000);
      assert.equal(Number(got[2]), BIG_BYTES, 'size');
      assert.equal(got[1], sha256(big), `1 MiB download intact (payload seed ${seed})`);
      const t0 = Number((await guest!.waitFor(/@@T big-start ([\d.]+)/, 1_000))[1]);
      const t1 = Number((await guest!.waitFor(/@@T big-end ([\d.]+)/, 1_000))[1]);
      wireToGuestAfterBig = relay!.bytes.toTarget;
      t.diagnostic(`1 MiB host -> guest in ${(t1 - t0).toFixed(1)} s guest time, ${(BIG_BYTES / 1024 / (t1 - t0)).toFixed(1)} KiB/s; the line carried ${wireToGuestAfterBig} bytes toward the guest so far`);
    }));

  test('compression with the kernel: VJ in IPCP and CCP Deflate 15 both ways, and the transfer above exact with them', { timeout: 20_000 }, (t) =>
    step(async () => {
      const extra = extraWords();
      if (extra.length > 0) t.diagnostic(`ppproxy ran with extra words: ${extra.join(' ')}`);
      const out = pp!.output();
      const ccp = /^.*compression enabled.*$/m.exec(out)?.[0] ?? '(no "compression enabled" line)';
      const vj = /^.*sent \[IPCP ConfAck[^\]]*<compress VJ[^\]]*\].*$/m.exec(out)?.[0] ?? '(no IPCP ConfAck with VJ sent)';
      t.diagnostic(`ppproxy: ${ccp}`);
      t.diagnostic(`ppproxy: ${vj}`);
      const guestCcp = /^.*compression enabled.*$/m.exec(guest!.console())?.[0] ?? '(none)';
      t.diagnostic(`guest pppd: ${guestCcp}`);
      if (!extra.includes('noccp') && !extra.includes('nodeflate')) assert.match(out, /Deflate \(15\) compression enabled/, 'CCP Deflate 15 negotiated with ppp_deflate');
      if (!extra.includes('novj')) assert.match(out, /sent \[IPCP ConfAck id=0x[0-9a-f]+ [^\]]*<compress VJ 0f 01>/, 'we acked the kernel\'s VJ');
      assertNoCcpResets((d) => t.diagnostic(d), out, guest!.console());
      assert.ok(wireToGuestAfterBig !== undefined, 'the 1 MiB download above did not succeed');
      // half of the payload is text: with Deflate on, the line carries well under the payload; without, more (headers, escapes)
      const ratio = wireToGuestAfterBig / BIG_BYTES;
      t.diagnostic(`line bytes toward the guest / 1 MiB payload = ${ratio.toFixed(3)}`);
      if (!extra.includes('noccp') && !extra.includes('nodeflate')) assert.ok(ratio < 0.9, `Deflate did not shrink the download: ratio ${ratio.toFixed(3)}`);
    }));

  test(`guest: wget http://${WEB_NAME}/named — a name from the host's /etc/hosts, via the DNS pushed in IPCP, to a namespace host through the masquerade`, { skip: skipNetns, timeout: STEP_MS * 2 + 10_000 }, (t) =>
    step(async () => {
      const ns = await guest!.waitFor(/@@NSLOOKUP-A (\S+)/, STEP_MS * 2);
      assert.equal(ns[1], '0', `busybox nslookup -type=a ${WEB_NAME} via the pushed DNS`);
      await guest!.waitFor(new RegExp(`Address:?\\s+${nsHost!.addr.replace(/\./g, '\\.')}`), 1_000);
      const m = await guest!.waitFor(/@@WGET-NAME (\S+)/, STEP_MS);
      assert.equal(m[1], '0', 'busybox wget exit status');
      const got = await guest!.waitFor(/@@SHA-NAME ([0-9a-f]{64}) (\d+)/, 10_000);
      assert.equal(Number(got[2]), NAMED_BYTES, 'size');
      assert.equal(got[1], sha256(named), `download from the namespace host intact (payload seed ${seed})`);
      assert.match(nsHost!.log(), /GET \/named 200/, 'the namespace host served it');
      t.diagnostic(`${WEB_NAME} = ${nsHost!.addr} (namespace ${nsHost!.ns})`);
    }));

  test(`DNS: AAAA for ${WEB_NAME} (IPv4 only, in /etc/hosts) is an empty NOERROR answer, not NXDOMAIN`, { skip: skipNetns, timeout: STEP_MS + 10_000 }, () =>
    step(async () => {
      // RFC 2308 §2.2 NODATA: the name exists, it has no record of this type. NXDOMAIN (§2.1)
      // would tell the guest's resolver the name does not exist at all.
      const from = (await guest!.waitFor(/@@NSLOOKUP-A \S+/, STEP_MS)).index ?? 0;
      const m = await guest!.waitFor(/@@NSLOOKUP-AAAA (\S+)/, STEP_MS);
      assert.notEqual(m[1], 'no-data', 'not tried: the link carried no data');
      const between = guest!.console().slice(from, guest!.console().indexOf(m[0], from));
      assert.doesNotMatch(between, /NXDOMAIN/, `our DNS forwarder answered the AAAA question with NXDOMAIN:\n${between}`);
    }));

  test('guest: ping -c 3 the namespace host (ICMP echo forwarded by the masquerade through the system ping)', { skip: skipNetns, timeout: STEP_MS + 10_000 }, () =>
    step(async () => {
      const m = await guest!.waitFor(/@@PING-NS (\S+)/, STEP_MS);
      assert.notEqual(m[1], 'no-data', 'not tried: the link carried no data');
      // the summary after this ping's header (other console lines may come in between)
      const head = await guest!.waitFor(new RegExp(`--- ${nsHost!.addr.replace(/\./g, '\\.')} ping statistics ---`), 1_000);
      const stats = await guest!.waitFor(/(\d+) packets transmitted, (\d+) packets received/, 1_000, head.index);
      assert.equal(stats[2], '3', stats[0]);
      assert.equal(m[1], '0', 'busybox ping exit status');
    }));

  test('the guest hangs up and pppd exits cleanly', { timeout: STEP_MS + 10_000 }, () =>
    step(async () => {
      // kill -> pppd exits 5 (EXIT_USER_REQUEST)
      const m = await guest!.waitFor(/@@PPPD-EXIT (\d+)/, STEP_MS);
      assert.equal(m[1], '5');
      await guest!.waitFor(/@@DONE 0/, 30_000);
    }));
});
