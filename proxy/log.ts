/**
 * The proxies' logger and error vocabulary. Part of proxy/ (the client-side
 * servers); the app injects a `Logger`, tests collect its lines.
 *
 * Socket errors reach users as Node-style codes (STYLE.md "Errors"): the
 * proxies raise `codedError("ENODNS", ...)` and map codes to SOCKS REP / HTTP
 * status in one place each.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type Logger = (level: LogLevel, text: string) => void;

/** A logger that drops everything. */
export const silentLogger: Logger = () => {};

/** An Error with a Node-style `code` (ECONNREFUSED, ENODNS, ...). */
export interface CodedError extends Error {
  code: string;
}

export function codedError(code: string, message: string): CodedError {
  const err = new Error(message) as CodedError;
  err.code = code;
  return err;
}

/** The `code` of an unknown thrown value, or undefined. */
export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === "object" && "code" in err) {
    const c = (err as { code: unknown }).code;
    if (typeof c === "string") return c;
  }
  return undefined;
}

/** "ECONNREFUSED: connect refused by 10.0.0.1:80" for log lines and bodies. */
export function describeError(err: unknown): string {
  const code = errorCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  if (!code || msg.includes(code)) return msg;
  return `${code}: ${msg}`;
}

/** Counters keyed by reason ("drop: frag", "rep 5", ...). */
export class Counters {
  private readonly map = new Map<string, number>();
  add(reason: string, n = 1): void {
    this.map.set(reason, (this.map.get(reason) ?? 0) + n);
  }
  get(reason: string): number {
    return this.map.get(reason) ?? 0;
  }
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.map);
  }
}
