/**
 * HTTP Basic authentication for the HTTP proxy, the /gw/ gateway and the
 * status pages (proxy/, used by http-proxy.ts and web.ts), like squid's
 * basic auth:
 *
 *  - proxy requests and CONNECT: `Proxy-Authorization: Basic ...`, refused
 *    with 407 + `Proxy-Authenticate` (RFC 9110 §11.7.1, §11.7.2);
 *  - the gateway and pages, hit by a browser directly: `Authorization:
 *    Basic ...`, refused with 401 + `WWW-Authenticate` (RFC 9110 §11.6.1).
 *
 * Credentials are RFC 7617 `base64(user ":" pass)`. The check hashes the
 * decoded "user:pass" and compares it with every configured entry's hash
 * (timingSafeEqual on equal-length digests, no early exit), so neither the
 * password's length nor its first wrong byte shows in the timing. Malformed
 * headers are refused with a reason, never thrown. Reasons name the user at
 * most, never the password.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** RFC 7617 §2 realm of our challenges. */
export const AUTH_REALM = "ppproxy";
/** RFC 7617 §2 challenge value for Proxy-Authenticate / WWW-Authenticate. */
export const BASIC_CHALLENGE = `Basic realm="${AUTH_REALM}"`;

/** Which header pair a request uses: proxy (407, Proxy-*) or origin (401, WWW-Authenticate/Authorization). */
export type AuthKind = "proxy" | "origin";

export interface AuthChallenge {
  status: 401 | 407;
  /** Response header carrying the challenge, lower-case. */
  header: "proxy-authenticate" | "www-authenticate";
}

/** RFC 9110 §11.7.1 (407 Proxy-Authenticate) and §11.6.1 (401 WWW-Authenticate). */
export function challengeFor(kind: AuthKind): AuthChallenge {
  return kind === "proxy" ? { status: 407, header: "proxy-authenticate" } : { status: 401, header: "www-authenticate" };
}

/** The request header a client answers with, lower-case as node:http keys it. */
export function credentialsHeader(kind: AuthKind): "proxy-authorization" | "authorization" {
  return kind === "proxy" ? "proxy-authorization" : "authorization";
}

export type AuthVerdict = { ok: true; user: string } | { ok: false; reason: string };

/** RFC 7617 §2 `credentials = "Basic" 1*SP token68`, decoded to "user:pass", or why not. */
export function decodeBasic(header: string | string[] | undefined): { userPass: string } | { reason: string } {
  if (header === undefined) return { reason: "no credentials" };
  const value = Array.isArray(header) ? header[0] : header;
  const m = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s+(\S+)\s*$/.exec(value ?? "");
  if (!m) return { reason: "malformed credentials" };
  if (m[1].toLowerCase() !== "basic") return { reason: `unsupported scheme ${JSON.stringify(m[1].slice(0, 20))}` };
  const b64 = m[2];
  // RFC 4648 §4 alphabet; padding optional (some clients drop it), but a 4n+1 length is never valid.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.replace(/=+$/, "").length % 4 === 1) return { reason: "credentials are not base64" };
  const userPass = Buffer.from(b64, "base64").toString("utf8");
  if (userPass.indexOf(":") < 0) return { reason: "credentials have no ':' between user and password" };
  return { userPass };
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** A set of USER:PASS accounts; empty means no authentication. */
export class BasicAuth {
  private readonly entries: { user: string; hash: Buffer }[];

  constructor(users: Record<string, string> = {}) {
    this.entries = Object.entries(users).map(([user, pass]) => ({ user, hash: digest(`${user}:${pass}`) }));
  }

  /** True when credentials are required. */
  get enabled(): boolean {
    return this.entries.length > 0;
  }

  /** Check a Proxy-Authorization / Authorization header value. Always ok when no users are configured. */
  check(header: string | string[] | undefined): AuthVerdict {
    if (!this.enabled) return { ok: true, user: "" };
    const d = decodeBasic(header);
    if ("reason" in d) return { ok: false, reason: d.reason };
    const user = d.userPass.slice(0, d.userPass.indexOf(":"));
    const got = digest(d.userPass);
    let match = false;
    for (const e of this.entries) match = timingSafeEqual(got, e.hash) || match; // every entry, no early exit
    if (match) return { ok: true, user };
    const known = this.entries.some((e) => e.user === user);
    return { ok: false, reason: `${known ? "wrong password for" : "unknown"} user ${JSON.stringify(user.slice(0, 64))}` };
  }
}
