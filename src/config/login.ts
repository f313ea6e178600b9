/**
 * pppd's `login` option: check a PAP user name and password against the
 * system password database (/etc/shadow, or /etc/passwd's password field
 * when it is not "x"), as pppd's auth.c plogin() does.
 *
 * Hashes are verified with SHA-crypt ($5$ SHA-256, $6$ SHA-512, with
 * optional rounds=), implemented from Ulrich Drepper's "Unix crypt using
 * SHA-256 and SHA-512" specification on top of node:crypto's digests.
 * MD5-crypt ($1$) is accepted too, for older systems. Locked accounts ("!"
 * or "*" prefixes) and empty or too-short fields fail, as in pppd. Other
 * schemes (yescrypt $y$, bcrypt $2b$, DES) are reported as unsupported and
 * fail closed.
 *
 * Sits in src/config; file reading is injected so tests need no /etc.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { ConfigError } from "./config-error.js";

// ---- SHA-crypt (Drepper) --------------------------------------------------

/** Drepper §"rounds": default 5000, clamped to [1000, 999999999]. */
export const SHA_CRYPT_ROUNDS_DEFAULT = 5000;
export const SHA_CRYPT_ROUNDS_MIN = 1000;
export const SHA_CRYPT_ROUNDS_MAX = 999_999_999;
/** Drepper: at most 16 salt characters are used. */
export const SHA_CRYPT_SALT_MAX = 16;

const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

type Algo = "sha256" | "sha512" | "md5";

function digest(algo: Algo, ...parts: Uint8Array[]): Buffer {
  const h = createHash(algo);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `len` bytes made of `block` repeated (Drepper steps 11/16/20). */
function repeatTo(block: Uint8Array, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let off = 0; off < len; off += block.length) out.set(block.subarray(0, Math.min(block.length, len - off)), off);
  return out;
}

/** The byte permutation of the final base-64 encoding (Drepper step 22). */
function encode(algo: Algo, r: Uint8Array): string {
  let out = "";
  const b64 = (b2: number, b1: number, b0: number, n: number): void => {
    let w = (b2 << 16) | (b1 << 8) | b0;
    for (let i = 0; i < n; i++) {
      out += ITOA64[w & 0x3f];
      w >>>= 6;
    }
  };
  const third = algo === "sha256" ? 10 : 21; // 32 = 3*10+2, 64 = 3*21+1
  for (let i = 0; i < third; i++) {
    const a = r[i], b = r[i + third], c = r[i + 2 * third];
    if (i % 3 === 0) b64(a, b, c, 4);
    else if (algo === "sha256" ? i % 3 === 1 : i % 3 === 2) b64(c, a, b, 4);
    else b64(b, c, a, 4);
  }
  if (algo === "sha256") b64(0, r[31], r[30], 3);
  else b64(0, 0, r[63], 2);
  return out;
}

/**
 * crypt(3) for $5$ / $6$ settings: `setting` is "$5$[rounds=N$]salt[$...]"
 * (a full hash works too: everything after the salt is ignored). Returns
 * the full crypt string, or undefined when `setting` is not SHA-crypt.
 */
export function shaCrypt(password: string, setting: string): string | undefined {
  const m = /^\$([56])\$(?:rounds=(\d+)\$)?([^$]*)/.exec(setting);
  if (!m) return undefined;
  const algo: Algo = m[1] === "5" ? "sha256" : "sha512";
  const customRounds = m[2] !== undefined;
  let rounds = customRounds ? Number(m[2]) : SHA_CRYPT_ROUNDS_DEFAULT;
  rounds = Math.max(SHA_CRYPT_ROUNDS_MIN, Math.min(SHA_CRYPT_ROUNDS_MAX, rounds));
  const saltStr = m[3].slice(0, SHA_CRYPT_SALT_MAX);
  const P = Buffer.from(password, "utf8");
  const S = Buffer.from(saltStr, "utf8");
  const hlen = algo === "sha256" ? 32 : 64;

  // Steps 4-8: digest B = H(P S P).
  const B = digest(algo, P, S, P);
  // Steps 1-3, 9-12: digest A.
  const a = createHash(algo);
  a.update(P);
  a.update(S);
  let n = P.length;
  for (; n > hlen; n -= hlen) a.update(B);
  a.update(B.subarray(0, n));
  for (let len = P.length; len > 0; len >>>= 1) a.update(len & 1 ? B : P);
  let C: Buffer = a.digest();
  // Steps 13-16: P' from DP = H(P repeated |P| times).
  const dp = createHash(algo);
  for (let i = 0; i < P.length; i++) dp.update(P);
  const Pp = repeatTo(dp.digest(), P.length);
  // Steps 17-20: S' from DS = H(S repeated 16 + A[0] times).
  const ds = createHash(algo);
  for (let i = 0; i < 16 + C[0]; i++) ds.update(S);
  const Sp = repeatTo(ds.digest(), S.length);
  // Step 21: the rounds.
  for (let i = 0; i < rounds; i++) {
    const h = createHash(algo);
    h.update(i & 1 ? Pp : C);
    if (i % 3) h.update(Sp);
    if (i % 7) h.update(Pp);
    h.update(i & 1 ? C : Pp);
    C = h.digest();
  }
  return `$${m[1]}$${customRounds ? `rounds=${rounds}$` : ""}${saltStr}$${encode(algo, C)}`;
}

// ---- MD5-crypt (Poul-Henning Kamp, FreeBSD 1994): $1$ ------------------------

/** MD5-crypt: at most 8 salt characters, 1000 fixed rounds. */
const MD5_CRYPT_SALT_MAX = 8;
const MD5_CRYPT_ROUNDS = 1000;

/**
 * crypt(3) for "$1$salt[$...]" settings (older systems, the HOWTO's era).
 * Returns undefined when `setting` is not MD5-crypt.
 */
export function md5Crypt(password: string, setting: string): string | undefined {
  const m = /^\$1\$([^$]*)/.exec(setting);
  if (!m) return undefined;
  const saltStr = m[1].slice(0, MD5_CRYPT_SALT_MAX);
  const P = Buffer.from(password, "utf8");
  const S = Buffer.from(saltStr, "utf8");
  const alt = digest("md5", P, S, P);
  const ctx = createHash("md5");
  ctx.update(P);
  ctx.update("$1$");
  ctx.update(S);
  for (let pl = P.length; pl > 0; pl -= 16) ctx.update(alt.subarray(0, Math.min(pl, 16)));
  for (let i = P.length; i; i >>>= 1) ctx.update(i & 1 ? Buffer.of(0) : P.subarray(0, 1));
  let F: Buffer = ctx.digest();
  for (let i = 0; i < MD5_CRYPT_ROUNDS; i++) {
    const h = createHash("md5");
    h.update(i & 1 ? P : F);
    if (i % 3) h.update(S);
    if (i % 7) h.update(P);
    h.update(i & 1 ? F : P);
    F = h.digest();
  }
  let out = "";
  const b64 = (b2: number, b1: number, b0: number, n: number): void => {
    let w = (b2 << 16) | (b1 << 8) | b0;
    for (let i = 0; i < n; i++) {
      out += ITOA64[w & 0x3f];
      w >>>= 6;
    }
  };
  b64(F[0], F[6], F[12], 4);
  b64(F[1], F[7], F[13], 4);
  b64(F[2], F[8], F[14], 4);
  b64(F[3], F[9], F[15], 4);
  b64(F[4], F[10], F[5], 4);
  b64(0, 0, F[11], 2);
  return `$1$${saltStr}$${out}`;
}

// ---- the password database ------------------------------------------------

export type LoginResult = { ok: true } | { ok: false; reason: string };

/** Verify `password` against one crypt(3) string; unsupported schemes and locked accounts fail. */
export function verifyCryptHash(password: string, hash: string): LoginResult {
  // pppd plogin(): a field shorter than 2 characters never matches.
  if (hash.startsWith("!") || hash.startsWith("*")) return { ok: false, reason: "account is locked" };
  if (hash.length < 2) return { ok: false, reason: "account has no usable password" };
  if (!/^\$[156]\$/.test(hash)) {
    const scheme = /^\$([^$]+)\$/.exec(hash)?.[1];
    const names: Record<string, string> = { y: "yescrypt", "2a": "bcrypt", "2b": "bcrypt", "2y": "bcrypt", gy: "gost-yescrypt", "7": "scrypt" };
    const what = scheme ? `$${scheme}$ (${names[scheme] ?? "unknown"})` : "DES crypt";
    return { ok: false, reason: `password hash scheme ${what} is not supported by ppproxy (only SHA-crypt $5$/$6$ and MD5-crypt $1$)` };
  }
  const got = hash.startsWith("$1$") ? md5Crypt(password, hash) : shaCrypt(password, hash);
  if (got === undefined) return { ok: false, reason: "malformed password hash" };
  const x = Buffer.from(got), y = Buffer.from(hash);
  return x.length === y.length && timingSafeEqual(x, y) ? { ok: true } : { ok: false, reason: "wrong password" };
}

export interface LoginFiles {
  /** Returns the file text; undefined when it does not exist; throws (e.g. EACCES) when it exists but cannot be read. */
  readFile: (path: string) => string | undefined;
  shadowPath?: string;
  passwdPath?: string;
}

/** user -> crypt string, from /etc/passwd overlaid by /etc/shadow. */
export class LoginDatabase {
  private constructor(private readonly hashes: ReadonlyMap<string, string>) {}

  /**
   * Read the database. Throws ConfigError when /etc/shadow cannot be read:
   * the `login` option is useless without it.
   */
  static load(files: LoginFiles): LoginDatabase {
    const shadowPath = files.shadowPath ?? "/etc/shadow";
    const passwdPath = files.passwdPath ?? "/etc/passwd";
    let shadow: string | undefined;
    let why = "it does not exist";
    try {
      shadow = files.readFile(shadowPath);
    } catch (e) {
      why = (e as NodeJS.ErrnoException).code ?? String(e);
    }
    if (shadow === undefined) {
      throw new ConfigError(
        `the 'login' option needs read access to ${shadowPath} (${why}); run ppproxy as a member of the 'shadow' group, or use pap-secrets instead of 'login'`,
        undefined,
        "login",
      );
    }
    const hashes = new Map<string, string>();
    let passwd: string | undefined;
    try {
      passwd = files.readFile(passwdPath);
    } catch {
      passwd = undefined;
    }
    for (const line of (passwd ?? "").split("\n")) {
      const f = line.split(":");
      if (f.length >= 2 && f[0] && f[1] !== "x") hashes.set(f[0], f[1]);
    }
    for (const line of shadow.split("\n")) {
      const f = line.split(":");
      if (f.length >= 2 && f[0]) hashes.set(f[0], f[1]);
    }
    return new LoginDatabase(hashes);
  }

  /** Build from literal user -> hash pairs (tests, embedders). */
  static fromEntries(entries: Iterable<[string, string]>): LoginDatabase {
    return new LoginDatabase(new Map(entries));
  }

  /** pppd plogin(): does `user` exist and does `password` match its hash? */
  check(user: string, password: string): LoginResult {
    const hash = this.hashes.get(user);
    if (hash === undefined) return { ok: false, reason: `no such user ${user}` };
    return verifyCryptHash(password, hash);
  }
}
