/**
 * test/interop/howto-scenarios.ts — the Serial Laplink HOWTO setups as interop
 * cases: the real pppd in a QEMU guest on one end, ppproxy on the other.
 *
 * Each case says what the guest runs (a GuestScenario), what ppproxy gets
 * (role, a ppp dir of pppd-format files, extra command-line words), and which
 * log lines each end must show. ppproxy promises to read pppd's files
 * unchanged and to log in pppd's words, so every case can also be run with a
 * second guest's pppd standing in for ppproxy ("twin"): ppp-interop.test.ts
 * does that first, which proves the case itself is right before ppproxy is
 * judged by it.
 *
 * Test-side data only.
 */

import type { GuestScenario } from './qemu-guest.js';

/** HOWTO addresses: server end 192.168.7.1, client end 192.168.7.2. */
export const SERVER_IP = '192.168.7.1';
export const CLIENT_IP = '192.168.7.2';
export const PAP_SECRETS = 'zaphod * gargleBlaster *\n';
export const WRONG_PAP_SECRETS = 'zaphod * notTheRightOne *\n';

export interface InteropCase {
  name: string;
  guest: GuestScenario;
  ppproxy: {
    /** `serve` answers (HOWTO server), `dial` calls (HOWTO client). */
    role: 'serve' | 'dial';
    /** Files for `--ppp-dir DIR`, by name: "options", "pap-secrets", "chap-secrets". */
    pppDir: Record<string, string>;
    /** pppd-style words after the device on the command line. */
    args: string[];
  };
  /** Lines the guest console must show, in any order. */
  expectGuest: RegExp[];
  /** Lines ppproxy (or the twin pppd) must print. */
  expectPeer: RegExp[];
  /** True when the link must come up (the guest pings the other end then). */
  linkUp: boolean;
}

/**
 * The guest's script: pppd on ttyS1 in the background, wait for IP-up (or
 * pppd's end), ping the peer 3 times, then optionally hang up after `holdS`
 * seconds. Console markers: @@IP-UP (ip-up), @@PING <status>, @@PPPD-EXIT <status>.
 */
export function pppdScript(o: { args: string; pingTarget?: string; holdS?: number }): string {
  const lines = [
    `pppd /dev/ttyS1 115200 nodetach debug local ${o.args} &`,
    'pid=$!',
    'if wait-file /run/ip-up.ppp0 100 $pid; then',
    '  :',
  ];
  if (o.pingTarget) lines.push(`  ping -c 3 -W 10 ${o.pingTarget}; echo "@@PING $?"`);
  if (o.holdS !== undefined) lines.push(`  sleep ${o.holdS}`, '  kill $pid');
  lines.push('fi', 'wait $pid; echo "@@PPPD-EXIT $?"');
  return lines.join('\n');
}

/** Client-side HOWTO files for a guest that dials with PAP. */
function papClientGuest(secrets: string): GuestScenario {
  return {
    name: 'guest-pap-client',
    files: { '/etc/ppp/pap-secrets': secrets, '/etc/ppp/options.ttyS1': 'user zaphod\n' },
    script: pppdScript({ args: 'noauth noipdefault', pingTarget: SERVER_IP, holdS: 2 }),
  };
}

/** The HOWTO server: options + options.ttyS1 + pap-secrets, verbatim apart from `local` (QEMU's UART has no modem lines worth watching). */
function howtoServerGuest(): GuestScenario {
  return {
    name: 'guest-howto-server',
    files: {
      '/etc/ppp/options': 'auth\nlock\ncrtscts\nasyncmap 0\nms-dns 10.0.0.1\n',
      '/etc/ppp/options.ttyS1': `${SERVER_IP}:${CLIENT_IP}\n`,
      '/etc/ppp/pap-secrets': PAP_SECRETS,
    },
    script: pppdScript({ args: '', pingTarget: CLIENT_IP, holdS: 2 }),
  };
}

export const CASES: InteropCase[] = [
  {
    name: 'guest dials us with PAP zaphod/gargleBlaster',
    guest: papClientGuest(PAP_SECRETS),
    ppproxy: {
      role: 'serve',
      pppDir: { options: `auth\nrequire-pap\n${SERVER_IP}:${CLIENT_IP}\nms-dns 10.0.0.1\n`, 'pap-secrets': PAP_SECRETS },
      args: [],
    },
    expectGuest: [/PAP authentication succeeded/, new RegExp(`@@IP-UP ppp0 ${CLIENT_IP} ${SERVER_IP}`), /@@PING 0/],
    expectPeer: [/PAP peer authentication succeeded for zaphod/, new RegExp(`local  IP address ${SERVER_IP}`)],
    linkUp: true,
  },
  {
    name: 'guest dials us with CHAP-MD5',
    guest: {
      name: 'guest-chap-client',
      files: { '/etc/ppp/chap-secrets': PAP_SECRETS, '/etc/ppp/options.ttyS1': 'user zaphod\n' },
      script: pppdScript({ args: 'noauth noipdefault', pingTarget: SERVER_IP, holdS: 2 }),
    },
    ppproxy: {
      role: 'serve',
      pppDir: { options: `auth\nrequire-chap\n${SERVER_IP}:${CLIENT_IP}\n`, 'chap-secrets': PAP_SECRETS },
      args: [],
    },
    expectGuest: [/CHAP authentication succeeded/, new RegExp(`@@IP-UP ppp0 ${CLIENT_IP} ${SERVER_IP}`), /@@PING 0/],
    // pppd 2.4.9 logs no "CHAP peer authentication succeeded" line (PAP only): the Success packet is the proof
    expectPeer: [/sent \[CHAP Success id=0x[0-9a-f]+/, new RegExp(`remote IP address ${CLIENT_IP}`)],
    linkUp: true,
  },
  {
    name: 'guest dials us with MS-CHAPv2',
    guest: {
      name: 'guest-mschapv2-client',
      files: { '/etc/ppp/chap-secrets': PAP_SECRETS, '/etc/ppp/options.ttyS1': 'user zaphod\n' },
      script: pppdScript({ args: 'noauth noipdefault', pingTarget: SERVER_IP, holdS: 2 }),
    },
    ppproxy: {
      role: 'serve',
      pppDir: { options: `auth\nrequire-mschap-v2\n${SERVER_IP}:${CLIENT_IP}\n`, 'chap-secrets': PAP_SECRETS },
      args: [],
    },
    // RFC 2759 §5: the Success message carries the authenticator response "S=<40 hex>"
    expectGuest: [/rcvd \[LCP ConfReq id=0x[0-9a-f]+ [^\]]*<auth chap MS-v2>/, /CHAP authentication succeeded/, new RegExp(`@@IP-UP ppp0 ${CLIENT_IP} ${SERVER_IP}`), /@@PING 0/],
    expectPeer: [/sent \[CHAP Success id=0x[0-9a-f]+ "S=[0-9A-F]{40}/, new RegExp(`remote IP address ${CLIENT_IP}`)],
    linkUp: true,
  },
  {
    name: 'guest watches us with LCP echo requests every second for 8 s',
    guest: {
      name: 'guest-echo-client',
      files: { '/etc/ppp/pap-secrets': PAP_SECRETS, '/etc/ppp/options.ttyS1': 'user zaphod\n' },
      script: pppdScript({ args: 'noauth noipdefault lcp-echo-interval 1 lcp-echo-failure 3', pingTarget: SERVER_IP, holdS: 8 }),
    },
    ppproxy: {
      role: 'serve',
      pppDir: { options: `auth\nrequire-pap\n${SERVER_IP}:${CLIENT_IP}\n`, 'pap-secrets': PAP_SECRETS },
      args: [],
    },
    // the hang-up must be the guest's own (kill -> exit 5), not "No response to 3 echo-requests"
    expectGuest: [/rcvd \[LCP EchoRep id=0x[0-9a-f]+ magic=0x[0-9a-f]+\]/, /@@PING 0/, /@@PPPD-EXIT 5/],
    expectPeer: [/PAP peer authentication succeeded for zaphod/],
    linkUp: true,
  },
  {
    name: 'guest dials us with the wrong PAP secret and is refused',
    guest: papClientGuest(WRONG_PAP_SECRETS),
    ppproxy: {
      role: 'serve',
      pppDir: { options: `auth\nrequire-pap\n${SERVER_IP}:${CLIENT_IP}\n`, 'pap-secrets': PAP_SECRETS },
      args: [],
    },
    // pppd exit status 19: EXIT_AUTH_TOPEER_FAILED
    expectGuest: [/PAP authentication failed/, /@@PPPD-EXIT 19/],
    expectPeer: [/PAP peer authentication failed for zaphod/],
    linkUp: false,
  },
  {
    name: 'we dial the HOWTO server guest (auth, pap-secrets, 192.168.7.1:192.168.7.2)',
    guest: howtoServerGuest(),
    ppproxy: {
      role: 'dial',
      pppDir: { options: 'user zaphod\nnoauth\nnoipdefault\n', 'pap-secrets': PAP_SECRETS },
      args: [],
    },
    expectGuest: [/PAP peer authentication succeeded for zaphod/, new RegExp(`@@IP-UP ppp0 ${SERVER_IP} ${CLIENT_IP}`), /@@PING 0/],
    expectPeer: [/PAP authentication succeeded/, new RegExp(`local  IP address ${CLIENT_IP}`), /primary   DNS address 10\.0\.0\.1/],
    linkUp: true,
  },
  {
    name: 'we dial the HOWTO server guest with the wrong secret and are refused',
    guest: howtoServerGuest(),
    ppproxy: {
      role: 'dial',
      pppDir: { options: 'user zaphod\nnoauth\nnoipdefault\n', 'pap-secrets': WRONG_PAP_SECRETS },
      args: [],
    },
    // pppd exit status 11: EXIT_PEER_AUTH_FAILED
    expectGuest: [/PAP peer authentication failed for zaphod/, /@@PPPD-EXIT 11/],
    expectPeer: [/PAP authentication failed/],
    linkUp: false,
  },
];

/**
 * pppd standing in for ppproxy: the same ppp-dir files as /etc/ppp/* and the
 * same words on pppd's command line. `serve` gets `auth` as ppproxy's serve
 * role implies it; `dial` asks for the peer's DNS like ppproxy's dial role.
 */
export function twinScenario(c: InteropCase): GuestScenario {
  const files: Record<string, string> = {};
  for (const [name, text] of Object.entries(c.ppproxy.pppDir)) files[`/etc/ppp/${name}`] = text;
  const roleWords = c.ppproxy.role === 'serve' ? 'auth' : 'usepeerdns';
  return {
    name: `twin-${c.ppproxy.role}`,
    files,
    // the twin does not ping or hang up: the case's guest drives the session
    script: pppdScript({ args: [roleWords, ...c.ppproxy.args].join(' ') }),
  };
}
