/**
 * pppd's address restrictions from a secrets line's IP column (auth.c
 * auth_ip_addr): may the authenticated peer use this remote address?
 * Patterns "a.b.c.d", "a.b.c.d/n", "-a.b.c.d[/n]" (deny), "*"; first match
 * wins, an empty list allows any address, no match denies.
 *
 * One implementation serves the project: the auth module's secrets matching
 * (src/ppp/auth/secrets-match.ts) already implements it with pppd's edge
 * cases (a lone "-" ends the list, "/0" is pppd's "invalid address length");
 * this module is the name IPCP and the session import it by.
 */
export { addressAllowed } from "./auth/secrets-match.js";
