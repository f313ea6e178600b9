/**
 * The two passes every list of HOWTO-style cases gets (ppp-interop.test.ts,
 * mschapv1-interop.test.ts):
 *  1. "twin": a second guest's pppd plays ppproxy's part with the same files
 *     and words. This checks the cases themselves (files, expected log lines).
 *  2. ppproxy: `node --import tsx bin/ppproxy.ts <serve|dial>
 *     tcp://127.0.0.1:PORT --ppp-dir DIR debug ...` on the guest's ttyS1.
 * Failures carry both sides' output.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { twinScenario, type InteropCase } from './howto-scenarios.js';
import { cliSkip, makePppDir, removeDir, startPpproxy, type PpproxyProcess } from './ppproxy-process.js';
import { interopSkip, joinSerials, startGuest, type Guest } from './qemu-guest.js';

/** One guest boot under TCG on a loaded 2-core machine, with room to spare. */
const BOOT_MS = 120_000;
/** From boot to the end of a case: LCP, auth, IPCP, 3 pings, hang-up. */
const SESSION_MS = 90_000;

/**
 * ppproxy's command line for a case: role, the guest's serial socket, the ppp
 * dir, then pppd words. `dial` would listen on 127.0.0.1:1080/8080 and a
 * control socket by default; the handshake cases need none of them, and fixed
 * ports would collide with other tests running at the same time.
 */
function ppproxyArgs(c: InteropCase, serialPort: number, pppDir: string): string[] {
  const own = c.ppproxy.role === 'dial' ? ['--socks', 'off', '--http', 'off', '--control', 'off'] : [];
  return [c.ppproxy.role, `tcp://127.0.0.1:${serialPort}`, '--ppp-dir', pppDir, ...own, 'debug', ...c.ppproxy.args];
}

async function expectAll(what: { waitFor: Guest['waitFor'] }, res: RegExp[], ms: number): Promise<void> {
  await Promise.all(res.map((re) => what.waitFor(re, ms)));
}

/** Declare both passes over `cases`, as "<title> cases with pppd on both ends (checks the cases)" and "<title> cases against ppproxy". */
export function describeCases(title: string, cases: InteropCase[]): void {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    await Promise.all(cleanups.map((f) => f()));
  });
  const boot = async (s: Parameters<typeof startGuest>[0]): Promise<Guest> => {
    const g = await startGuest(s);
    cleanups.push(() => g.stop());
    return g;
  };

  describe(`${title} cases with pppd on both ends (checks the cases)`, async () => {
    const skip = await interopSkip();
    for (const c of cases) {
      test(`twin: ${c.name}`, { skip, timeout: BOOT_MS + SESSION_MS + 30_000 }, async (t) => {
        const guest = await boot(c.guest);
        const twin = await boot(twinScenario(c));
        const cable = await joinSerials(guest, twin);
        t.after(() => cable.close());
        try {
          await guest.waitFor(/@@BOOTED/, BOOT_MS);
          await expectAll(guest, c.expectGuest, SESSION_MS);
          await expectAll(twin, c.expectPeer, SESSION_MS);
          await guest.waitFor(/@@DONE/, SESSION_MS);
          if (!c.linkUp) assert.doesNotMatch(guest.console(), /@@IP-UP/, 'the link must not come up');
          await twin.waitFor(/@@PPPD-EXIT/, 30_000);
        } catch (err) {
          // one side's console is in the error already; add both, labelled
          throw new Error(`${(err as Error).message}\n--- console of ${twin.name} ---\n${twin.console()}\n--- console of ${guest.name} ---\n${guest.console()}`);
        }
      });
    }
  });

  describe(`${title} cases against ppproxy`, async () => {
    const skip = (await interopSkip()) || cliSkip();
    for (const c of cases) {
      test(`ppproxy ${c.ppproxy.role}: ${c.name}`, { skip, timeout: BOOT_MS + SESSION_MS + 30_000 }, async () => {
        const guest = await boot(c.guest);
        const dir = await makePppDir(c.ppproxy.pppDir);
        cleanups.push(() => removeDir(dir));
        const p: PpproxyProcess = startPpproxy(ppproxyArgs(c, guest.serialPort, dir));
        cleanups.push(() => p.stop());
        try {
          await guest.waitFor(/@@BOOTED/, BOOT_MS);
          await expectAll(guest, c.expectGuest, SESSION_MS);
          await expectAll(p, c.expectPeer, SESSION_MS);
          await guest.waitFor(/@@DONE/, SESSION_MS);
          if (!c.linkUp) assert.doesNotMatch(guest.console(), /@@IP-UP/, 'the link must not come up');
        } catch (err) {
          // the guest's side is in the error already; add ppproxy's
          throw new Error(`${(err as Error).message}\n--- ppproxy output ---\n${p.output()}\n--- end of ppproxy output ---`);
        }
      });
    }
  });
}
