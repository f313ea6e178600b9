/**
 * pppd's address restrictions from a secrets line's IP column (auth.c
 * auth_ip_addr / ip_addr_check): may the authenticated peer use this remote
 * address? Patterns: "a.b.c.d", "a.b.c.d/n", "-a.b.c.d[/n]" (deny), "*".
 * Checked in order, first match wins; an empty list allows any address; a
 * non-empty list that matches nothing denies (pppd: "Peer is not authorized
 * to use remote address").
 */
import { parseIp4, type Ip4 } from "../../stack/util/addr.js";

export function addressAllowed(ip: Ip4, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true;
  for (const raw of patterns) {
    let p = raw.trim();
    if (p === "") continue;
    const deny = p.startsWith("-") || p.startsWith("!");
    if (deny) p = p.slice(1);
    if (p === "*") return !deny;
    const slash = p.indexOf("/");
    const addr = parseIp4(slash >= 0 ? p.slice(0, slash) : p);
    const bits = slash >= 0 ? Number(p.slice(slash + 1)) : 32;
    if (addr === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) continue; // pppd ignores bad entries
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if (((ip & mask) >>> 0) === ((addr & mask) >>> 0)) return !deny;
  }
  return false;
}
