/**
 * pppd's secrets-file semantics (auth.c scan_authfile, set_allowed_addrs /
 * ip_addr_check), over entries already parsed by src/config:
 *  - lookupSecret: which pap-secrets / chap-secrets line applies to a
 *    (client, server) pair;
 *  - addressAllowed: whether the line's IP-address column lets the peer use
 *    an address.
 * Pure functions; no file access here.
 */
import { parseIp4, type Ip4 } from "../../../stack/util/addr.js";
import type { SecretEntry } from "../session-config.js";

/** pppd auth.c: a literal "*" column matches anyone. */
const WILDCARD = "*";
/** pppd auth.c scan_authfile scores: an exact client beats an exact server. */
const NONWILD_SERVER = 1;
const NONWILD_CLIENT = 2;

/**
 * The entry for `client` authenticating to `server`: each column must equal
 * the name or be "*"; among matches the most specific wins (exact client
 * outranks exact server, both outrank neither), and the first line wins a tie.
 */
export function lookupSecret(entries: SecretEntry[], client: string, server: string): SecretEntry | undefined {
  let best: SecretEntry | undefined;
  let bestScore = -1;
  for (const e of entries) {
    let score = 0;
    if (e.client !== WILDCARD) {
      if (e.client !== client) continue;
      score |= NONWILD_CLIENT;
    }
    if (e.server !== WILDCARD) {
      if (e.server !== server) continue;
      score |= NONWILD_SERVER;
    }
    if (score > bestScore) {
      best = e;
      bestScore = score;
    }
  }
  return best;
}

/**
 * The `secretFor` of AuthPeerOptions, pppd's way (auth.c get_secret /
 * get_pap_passwd as the authenticated side): a non-empty `password` option
 * wins; otherwise the secrets line for (user, authenticator name). PAP
 * carries no authenticator name, so the PAP peer asks with "" and only
 * lines whose server column is "*" (or "") can match.
 */
export function peerSecretFor(
  entries: SecretEntry[],
  user: string,
  password?: string,
): (authenticatorName: string) => string | undefined {
  return (authenticatorName) =>
    password !== undefined && password !== "" ? password : lookupSecret(entries, user, authenticatorName)?.secret;
}

/** One parsed address pattern: permit or deny addresses whose masked value equals base. */
interface AddressRule {
  permit: boolean;
  base: number;
  mask: number;
}

/** "a.b.c.d" or "a.b.c.d/n" (after any deny prefix); undefined when malformed. */
function parseRule(word: string, permit: boolean): AddressRule | undefined {
  const slash = word.indexOf("/");
  let mask = 0xffffffff;
  let addrText = word;
  if (slash >= 0) {
    const bitsText = word.slice(slash + 1);
    if (!/^\d{1,2}$/.test(bitsText)) return undefined;
    const bits = Number(bitsText);
    // pppd: "invalid address length" unless 1..32.
    if (bits < 1 || bits > 32) return undefined;
    mask = bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
    addrText = word.slice(0, slash);
  }
  const a = parseIp4(addrText);
  if (a === undefined) return undefined;
  return { permit, base: (a & mask) >>> 0, mask };
}

/**
 * Whether the secrets line's address column allows `ip`, pppd-style:
 *  - empty list: any address (no restriction);
 *  - patterns are tried in order, the first that matches decides;
 *  - "a.b.c.d" or "a.b.c.d/n" permits, "-a.b.c.d[/n]" (pppd spells it
 *    "!a.b.c.d", also accepted) denies;
 *  - "*" permits anything not denied before it; a lone "-" ends the list;
 *  - nothing matched: denied (pppd appends a deny-all rule).
 * Malformed patterns are skipped, as pppd skips them with a warning.
 */
export function addressAllowed(ip: Ip4, patterns: string[]): boolean {
  if (patterns.length === 0) return true;
  const addr = ip >>> 0;
  for (const raw of patterns) {
    const word = raw.trim();
    if (word === "-") return false;
    if (word === WILDCARD) return true;
    const deny = word.startsWith("-") || word.startsWith("!");
    const rule = parseRule(deny ? word.slice(1) : word, !deny);
    if (rule === undefined) continue;
    if (((addr & rule.mask) >>> 0) === rule.base) return rule.permit;
  }
  return false;
}
