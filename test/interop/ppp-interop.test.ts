/**
 * test/interop/ppp-interop.test.ts — ppproxy against the real pppd 2.4.9 in a
 * QEMU guest, on the Serial Laplink HOWTO setups (howto-scenarios.ts).
 *
 * Two passes over the same cases (case-suites.ts): "twin", a second guest's
 * pppd in ppproxy's part, which checks the cases themselves; then ppproxy
 * itself on the guest's ttyS1.
 *
 * Run: npm run test:interop.
 */

import { CASES } from './howto-scenarios.js';
import { describeCases } from './case-suites.js';

describeCases('HOWTO', CASES);
