/**
 * The app's log: pppd's lines on stderr (as pppd prints with `nodetach`),
 * optionally copied to a `logfile`. Debug lines only with `debug`.
 */
import { appendFileSync } from "node:fs";

export type Level = "info" | "debug" | "warn" | "error";
export type Logger = (level: Level, text: string) => void;

export interface LoggerOptions {
  debug: boolean;
  /** Prefix for every line, e.g. "[ttyS1] " when several lines are served. */
  prefix?: string;
  logfile?: string;
  write?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + "\n"));
  return (level, text) => {
    if (level === "debug" && !opts.debug) return;
    const line = `${opts.prefix ?? ""}${level === "warn" || level === "error" ? `${level}: ` : ""}${text}`;
    write(line);
    if (opts.logfile) {
      try {
        appendFileSync(opts.logfile, `${new Date().toISOString()} ${line}\n`);
      } catch {
        /* a broken logfile must not stop the link */
      }
    }
  };
}

/** The same logger with a prefix added (one line of several). */
export function withPrefix(log: Logger, prefix: string): Logger {
  return (level, text) => log(level, prefix + text);
}
