/**
 * pap-secrets / chap-secrets, read as pppd's auth.c scan_authfile() does.
 *
 * Each entry starts at the beginning of a line: `client server secret
 * [address ...]`. Words follow the option-file rules (words.ts): quotes,
 * backslash escapes, `#` comments. `*` is a wildcard (kept as "*"; the
 * session matches). Lines with fewer than three words are skipped, as pppd
 * does. A secret `@/path` is read from the first word of that file. After
 * the addresses, `--` starts per-client pppd options, which ppproxy does not
 * apply (a warning says so). A secrets file that group or others can
 * access gets pppd's warning.
 *
 * Sits in src/config; file access is injected so tests need no /etc.
 */
import type { SecretEntry } from "../ppp/session-config.js";
import { tokenizeOptions, type Word } from "./words.js";

export interface SecretsReadOptions {
  /** Returns the file's text, or undefined when it cannot be read. */
  readFile: (path: string) => string | undefined;
  /** Returns st_mode, or undefined when the file cannot be stat'ed. */
  statMode?: (path: string) => number | undefined;
}

export interface SecretsFileResult {
  entries: SecretEntry[];
  warnings: string[];
}

/** pppd check_access(): any group/other permission bit on a secrets file. */
export function secretFileAccessWarning(path: string, mode: number | undefined): string | undefined {
  if (mode === undefined || (mode & 0o077) === 0) return undefined;
  return `Warning - secret file ${path} has world and/or group access`;
}

/** Parse secrets-file text. `path` is used for origins and messages. */
export function parseSecretsText(text: string, path: string, opts?: SecretsReadOptions): SecretsFileResult {
  const { words, warnings } = tokenizeOptions(text, path);
  const entries: SecretEntry[] = [];

  // Group words into lines: a new entry starts only at the start of a line.
  const lines: Word[][] = [];
  for (const w of words) {
    if (w.startsLine || lines.length === 0) lines.push([w]);
    else lines[lines.length - 1].push(w);
  }

  for (const ws of lines) {
    if (ws.length < 3) continue; // pppd skips incomplete lines silently
    const [client, server, secretWord] = ws;
    const origin = `${path}:${client.line}`;
    let secret = secretWord.text;
    if (secret.startsWith("@/")) {
      const indirect = secret.slice(1);
      const body = opts?.readFile(indirect);
      if (body === undefined) {
        warnings.push(`${origin}: can't open indirect secret file ${indirect}`);
        continue;
      }
      const w = secretFileAccessWarning(indirect, opts?.statMode?.(indirect));
      if (w) warnings.push(w);
      const first = tokenizeOptions(body, indirect).words[0];
      if (!first) {
        warnings.push(`${origin}: no secret in indirect secret file ${indirect}`);
        continue;
      }
      secret = first.text;
    }
    const rest = ws.slice(3).map((w) => w.text);
    const dashdash = rest.indexOf("--");
    const addresses = dashdash >= 0 ? rest.slice(0, dashdash) : rest;
    if (dashdash >= 0) {
      warnings.push(`${origin}: options after '--' in a secrets file are not applied by ppproxy (${rest.slice(dashdash + 1).join(" ")})`);
    }
    entries.push({ client: client.text, server: server.text, secret, addresses, origin });
  }
  return { entries, warnings };
}

/** Read one secrets file; a missing file is an empty list (pppd treats it as "no secrets"). */
export function readSecretsFile(path: string, opts: SecretsReadOptions): SecretsFileResult {
  const text = opts.readFile(path);
  if (text === undefined) return { entries: [], warnings: [] };
  const res = parseSecretsText(text, path, opts);
  const w = secretFileAccessWarning(path, opts.statMode?.(path));
  if (w) res.warnings.unshift(w);
  return res;
}
