/**
 * test/interop/mschapv1-interop.test.ts — MS-CHAP version 1 (RFC 2433, CHAP
 * algorithm 0x80) between ppproxy and Debian's pppd 2.4.9 (built with CHAPMS,
 * without MSLANMAN) in a QEMU guest, both ways and with a wrong secret.
 *
 * The same two passes as ppp-interop.test.ts (case-suites.ts: a twin guest's
 * pppd in ppproxy's part, proving the cases against pppd itself, then
 * ppproxy), on cases of its own (the shared list in howto-scenarios.ts is
 * left alone).
 * The expected lines pin pppd's own wording on both ends: its response value
 * (24 zero LM octets, the NT-Response, Flags 01), "Access granted", and its
 * Failure text "E=691 R=1 C=<16 hex> V=0".
 *
 * Run alone: node --import tsx --test test/interop/mschapv1-interop.test.ts
 */

import { CLIENT_IP, PAP_SECRETS, SERVER_IP, WRONG_PAP_SECRETS, pppdScript, type InteropCase } from './howto-scenarios.js';
import { describeCases } from './case-suites.js';

/** pppd's MS-CHAP Response value as pppd prints it: LM-Response zero (no MSLANMAN), NT-Response, Flags 1. */
const V1_RESPONSE = /CHAP Response id=0x[0-9a-f]+ <0{48}[0-9a-f]{48}01>, name = "zaphod"/;
/** pppd chap_ms.c chapms_verify_response's Failure for MS-CHAP v1. */
const V1_FAILURE = /sent \[CHAP Failure id=0x[0-9a-f]+ "E=691 R=1 C=[0-9a-f]{16} V=0"\]/;
/** The authenticated side's reason (pppd chapms_handle_failure), the same words in pppd and ppproxy. */
const V1_FAILED = /MS-CHAP authentication failed: E=691 Authentication failure/;

/** A guest that dials with `user zaphod` and a chap-secrets line, accepting whatever CHAP digest it is asked for. */
function chapClientGuest(secrets: string): InteropCase['guest'] {
  return {
    name: 'guest-mschap-client',
    files: { '/etc/ppp/chap-secrets': secrets, '/etc/ppp/options.ttyS1': 'user zaphod\n' },
    script: pppdScript({ args: 'noauth noipdefault', pingTarget: SERVER_IP, holdS: 2 }),
  };
}

/** The HOWTO server, asking for MS-CHAP instead of PAP. */
function mschapServerGuest(): InteropCase['guest'] {
  return {
    name: 'guest-mschap-server',
    files: {
      '/etc/ppp/options': 'auth\nrequire-mschap\nlock\nasyncmap 0\nms-dns 10.0.0.1\n',
      '/etc/ppp/options.ttyS1': `${SERVER_IP}:${CLIENT_IP}\n`,
      '/etc/ppp/chap-secrets': PAP_SECRETS,
    },
    script: pppdScript({ args: '', pingTarget: CLIENT_IP, holdS: 2 }),
  };
}

const SERVE_DIR = { options: `auth\nrequire-mschap\n${SERVER_IP}:${CLIENT_IP}\n`, 'chap-secrets': PAP_SECRETS };

const CASES: InteropCase[] = [
  {
    name: 'guest dials us, we require MS-CHAP (v1)',
    guest: chapClientGuest(PAP_SECRETS),
    ppproxy: { role: 'serve', pppDir: SERVE_DIR, args: [] },
    expectGuest: [
      /rcvd \[LCP ConfReq id=0x[0-9a-f]+ [^\]]*<auth chap MS>/,
      new RegExp(`sent \\[${V1_RESPONSE.source}\\]`),
      /rcvd \[CHAP Success id=0x[0-9a-f]+ "Access granted"\]/,
      /CHAP authentication succeeded/,
      new RegExp(`@@IP-UP ppp0 ${CLIENT_IP} ${SERVER_IP}`),
      /@@PING 0/,
    ],
    // pppd 2.4.9 logs no "CHAP peer authentication succeeded" line: the Success packet is the proof
    expectPeer: [/sent \[CHAP Success id=0x[0-9a-f]+ "Access granted"\]/, new RegExp(`remote IP address ${CLIENT_IP}`)],
    linkUp: true,
  },
  {
    name: 'guest dials us with the wrong MS-CHAP secret and is refused',
    guest: chapClientGuest(WRONG_PAP_SECRETS),
    ppproxy: { role: 'serve', pppDir: SERVE_DIR, args: [] },
    // pppd exit status 19: EXIT_AUTH_TOPEER_FAILED
    expectGuest: [/rcvd \[CHAP Failure id=0x[0-9a-f]+ "E=691 R=1 C=[0-9a-f]{16} V=0"\]/, V1_FAILED, /@@PPPD-EXIT 19/],
    expectPeer: [V1_FAILURE],
    linkUp: false,
  },
  {
    name: 'we dial the guest, which requires MS-CHAP (v1)',
    guest: mschapServerGuest(),
    ppproxy: { role: 'dial', pppDir: { options: 'user zaphod\nnoauth\nnoipdefault\n', 'chap-secrets': PAP_SECRETS }, args: [] },
    expectGuest: [
      new RegExp(`rcvd \\[${V1_RESPONSE.source}\\]`),
      /sent \[CHAP Success id=0x[0-9a-f]+ "Access granted"\]/,
      new RegExp(`@@IP-UP ppp0 ${SERVER_IP} ${CLIENT_IP}`),
      /@@PING 0/,
    ],
    expectPeer: [
      /rcvd \[LCP ConfReq id=0x[0-9a-f]+ [^\]]*<auth chap MS>/,
      /rcvd \[CHAP Challenge id=0x[0-9a-f]+ <[0-9a-f]{16}>, name = "[^"]*"\]/,
      /CHAP authentication succeeded/,
      new RegExp(`local  IP address ${CLIENT_IP}`),
    ],
    linkUp: true,
  },
  {
    name: 'we dial the MS-CHAP guest with the wrong secret and are refused',
    guest: mschapServerGuest(),
    ppproxy: { role: 'dial', pppDir: { options: 'user zaphod\nnoauth\nnoipdefault\n', 'chap-secrets': WRONG_PAP_SECRETS }, args: [] },
    // pppd exit status 11: EXIT_PEER_AUTH_FAILED
    expectGuest: [V1_FAILURE, /@@PPPD-EXIT 11/],
    expectPeer: [V1_FAILED],
    linkUp: false,
  },
];

describeCases('MS-CHAP v1', CASES);
