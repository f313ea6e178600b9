/**
 * test/interop/interop-util.ts — small helpers shared by the client- and
 * server-role interop tests (client-interop.test.ts, server-interop.test.ts):
 * free loopback ports, SHA-256, reproducible test payloads, and failure
 * messages that carry every log involved.
 *
 * Test-side helper only.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * `n` bytes from `seed`, reproducible: 8 KiB blocks alternating between
 * incompressible ones (SHA-256 in counter mode) and text ("<seed> line <k>\n"
 * lines), so that Deflate on the link has both stored and compressed packets
 * and its history window spans both kinds.
 */
export function mixedBytes(seed: string, n: number): Buffer {
  const out = Buffer.alloc(n);
  const BLOCK = 8192;
  let off = 0;
  let ctr = 0;
  let line = 0;
  for (let block = 0; off < n; block++) {
    const end = Math.min(n, off + BLOCK);
    if (block % 2 === 0) {
      while (off < end) off += createHash('sha256').update(`${seed}:${ctr++}`).digest().copy(out, off, 0, Math.min(32, end - off));
    } else {
      while (off < end) off += out.write(`${seed} line ${line++}\n`, off, end - off, 'latin1');
    }
  }
  return out;
}

/** An error whose message is `err`'s plus each labelled log in full. */
export function withLogs(err: unknown, logs: Record<string, string>): Error {
  let msg = err instanceof Error ? err.message : String(err);
  for (const [label, text] of Object.entries(logs)) {
    // a log already in the message (a LogWatch dump) is not repeated
    if (text.length > 0 && msg.includes(text)) continue;
    msg += `\n--- ${label} (${text.length} chars) ---\n${text}\n--- end of ${label} ---`;
  }
  const e = new Error(msg);
  if (err instanceof Error && err.stack) e.stack = `${msg}\n${err.stack.split('\n').slice(1).join('\n')}`;
  return e;
}

/** Guest-side: seconds since boot, for throughput markers (`@@T name <uptime>`). */
export const UPTIME = `$(cut -d' ' -f1 /proc/uptime)`;

/** Extra pppd words for ppproxy from the environment (e.g. PPPROXY_INTEROP_EXTRA="novj noccp" to find which compression is at fault). */
export function extraWords(): string[] {
  return (process.env.PPPROXY_INTEROP_EXTRA ?? '').split(/\s+/).filter((w) => w !== '');
}

/** Extra words for the guest's pppd (PPPROXY_INTEROP_GUEST_EXTRA, e.g. "nobsdcomp"), for diagnosis. */
export function guestExtraWords(): string[] {
  return (process.env.PPPROXY_INTEROP_GUEST_EXTRA ?? '').split(/\s+/).filter((w) => w !== '');
}

/** A TCP relay that counts the bytes it carries: the serial line's bytes, for compression ratios. */
export interface CountingRelay {
  /** 127.0.0.1 port to connect to instead of the target. */
  readonly port: number;
  /** Bytes carried so far toward the target (the guest) and back from it. */
  readonly bytes: { toTarget: number; fromTarget: number };
  close(): Promise<void>;
}

/**
 * Listens on a free loopback port; each connection is joined to
 * 127.0.0.1:`targetPort` (with pipe()'s backpressure), counting bytes.
 * Put between ppproxy and a guest's ttyS1 to see what the line carried.
 */
export async function countingRelay(targetPort: number): Promise<CountingRelay> {
  const bytes = { toTarget: 0, fromTarget: 0 };
  const socks = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (a) => {
    const b = net.connect({ host: '127.0.0.1', port: targetPort, noDelay: true });
    socks.add(a).add(b);
    a.on('data', (c: Buffer) => (bytes.toTarget += c.length));
    b.on('data', (c: Buffer) => (bytes.fromTarget += c.length));
    a.pipe(b);
    b.pipe(a);
    a.on('error', () => b.destroy());
    b.on('error', () => a.destroy());
    a.on('close', () => b.destroy());
    b.on('close', () => a.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    bytes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of socks) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * On a lossless line any CCP Reset-Request means a decompressor (ours or the
 * kernel's) rejected a packet: report both counts, and fail on either.
 * `ours` is ppproxy's debug output, `guest` the guest's console.
 */
export function assertNoCcpResets(diagnostic: (text: string) => void, ours: string, guest: string): void {
  const ourResets = (ours.match(/sent \[CCP ResetReq/g) ?? []).length;
  const kernelResets = (guest.match(/sent \[CCP ResetReq/g) ?? []).length;
  diagnostic(`CCP Reset-Requests sent: by ppproxy ${ourResets}, by the guest ${kernelResets}`);
  const hint = 'rerun with PPPROXY_INTEROP_EXTRA=noccp or =novj to tell Deflate from VJ';
  assert.equal(ourResets, 0, `ppproxy could not decompress some of the kernel's packets (it sent CCP Reset-Requests); ${hint}`);
  assert.equal(kernelResets, 0, `the kernel could not decompress some of our packets (the guest sent CCP Reset-Requests); ${hint}`);
}
