/**
 * What one PPP session needs to know, already validated. `src/config` turns
 * pppd-style option words and files into this; `src/ppp` consumes it and
 * never parses option words itself.
 */
import type { Ip4 } from "../../stack/util/addr.js";
import type { CcpConfig } from "./compress/ccp.js";

/** "mschap" is MS-CHAP version 1 (RFC 2433, CHAP algorithm 0x80). */
export type AuthMethod = "pap" | "chap-md5" | "mschap" | "mschapv2";

/** One line of pap-secrets / chap-secrets, as parsed by src/ppp/auth/secrets.ts. */
export interface SecretEntry {
  client: string; // "*" matches anyone
  server: string; // "*" matches anyone
  secret: string; // never printed; logs show <hidden>
  /** Remote addresses this client may take; empty = any. Patterns as pppd: "a.b.c.d", "a.b.c.d/n", "-a.b.c.d" (deny), "*". */
  addresses: string[];
  /** Where it came from, for messages ("/etc/ppp/pap-secrets:3"). */
  origin: string;
}

export interface SessionConfig {
  /** Interface name in logs ("ppp0"). */
  ifname: string;
  /** Device name in logs ("/dev/ttyS1"). */
  devname: string;

  // --- LCP ---
  /** Our MRU (pppd `mru`), default 1500. */
  mru: number;
  /** Our MTU cap (pppd `mtu`), default 1500. */
  mtu: number;
  /** Characters we ask the peer to escape (pppd `asyncmap`), default 0. */
  asyncmap: number;
  /** Extra bytes we always escape on send (pppd `escape`). */
  escape: number[];
  /** LCP echo interval seconds (0 = off) and failures before hang-up. */
  lcpEchoInterval: number;
  lcpEchoFailure: number;
  /** pppd `lcp-restart` (here in ms; default 3000) and `lcp-max-configure` (default 10). */
  lcpRestartMs?: number;
  lcpMaxConfigure?: number;
  /** pppd `passive`: after Max-Configure with no answer, keep listening. */
  passive: boolean;
  /** pppd `silent`: send nothing until a valid LCP packet arrives. */
  silent: boolean;
  /** Refuse PFC/ACFC (pppd `nopcomp` / `noaccomp`), and magic (`nomagic`). */
  pcomp: boolean;
  accomp: boolean;
  magic: boolean;

  // --- authentication ---
  /** As authenticator: methods we will ask the peer for, in preference order; empty = noauth. */
  requireAuth: AuthMethod[];
  /** As peer: methods we refuse when the authenticator asks (pppd `refuse-pap` …). */
  refuseAuth: AuthMethod[];
  /** Our name (pppd `name`, default hostname) and, as peer, `user` and its secret (looked up or given by `password`). */
  name: string;
  user: string;
  /** Secrets from pap-secrets / chap-secrets; the session matches them itself. */
  papSecrets: SecretEntry[];
  chapSecrets: SecretEntry[];
  /** pppd `remotename`: the name we assume for the authenticator when looking up our secret. */
  remoteName?: string;
  /** Literal `password` option, used as our secret when no file entry matches. */
  password?: string;
  /** pppd `login`: PAP users must also pass the system password database (src/config/login.ts). */
  checkLogin?: (user: string, password: string) => { ok: true } | { ok: false; reason: string };

  // --- IPCP ---
  /** Our address and the one we give the peer; undefined = negotiate (noipdefault / let the peer choose). */
  localIp?: Ip4;
  remoteIp?: Ip4;
  /** pppd `ipcp-accept-local` / `ipcp-accept-remote`. */
  acceptLocal: boolean;
  acceptRemote: boolean;
  /** DNS servers we push to the peer (pppd `ms-dns`, up to two). */
  msDns: Ip4[];
  /** Ask the peer for DNS (pppd `usepeerdns`); the calling side does by default. */
  usePeerDns: boolean;
  /** VJ compression (pppd `novj` = false). Rejected until the compression work lands. */
  vj: boolean;
  /** CCP (pppd `noccp`, `nodeflate`, `deflate R[,T]`; see compress/ccp.ts); absent = not run, as `noccp`. */
  ccp?: CcpConfig;

  /** Windows DCC handshake; see DccMode. */
  dcc: DccMode;

  // --- logging ---
  /** pppd `debug`: print every packet in pppd's format. */
  debug: boolean;
}

export function defaultSessionConfig(overrides: Partial<SessionConfig> = {}): SessionConfig {
  return {
    ifname: "ppp0",
    devname: "/dev/null",
    mru: 1500,
    mtu: 1500,
    asyncmap: 0,
    escape: [],
    lcpEchoInterval: 0,
    lcpEchoFailure: 0,
    passive: false,
    silent: false,
    pcomp: true,
    accomp: true,
    magic: true,
    requireAuth: [],
    refuseAuth: [],
    name: "ppproxy",
    user: "",
    papSecrets: [],
    chapSecrets: [],
    localIp: undefined,
    remoteIp: undefined,
    acceptLocal: false,
    acceptRemote: false,
    msDns: [],
    usePeerDns: true,
    vj: false,
    dcc: "off",
    debug: false,
    ...overrides,
  };
}

/**
 * Windows Direct Cable Connection handshake (src/ppp/dcc.ts): the guest sends
 * "CLIENT", the host answers "CLIENTSERVER". "answer" replies whenever
 * "CLIENT" arrives before the first PPP frame (pppd has no such thing; `nodcc`
 * turns it off); "call" sends "CLIENT" first (`dcc`).
 */
export type DccMode = "answer" | "call" | "off";
