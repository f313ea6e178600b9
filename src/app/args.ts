/**
 * ppproxy's own `--options`, told apart from pppd's option words. Each
 * command declares the options it takes once; what is not ours is handed to
 * the pppd-compatible loader (src/config) untouched, in order.
 */
export class UsageError extends Error {
  readonly exitCode = 2;
}

export interface OwnOption {
  /** "--socks", "-c" … */
  names: string[];
  /** Takes a value; repeatable options collect every value. */
  value?: string;
  repeat?: boolean;
  help: string;
}

export interface Parsed {
  /** Values by the option's first name ("--socks"); flags are "true". */
  own: Map<string, string[]>;
  /** Everything else, in order: pppd words and positional arguments. */
  rest: string[];
}

export function parseOwn(argv: string[], options: OwnOption[]): Parsed {
  const own = new Map<string, string[]>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    const [name, inline] = word.startsWith("--") && word.includes("=") ? [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)] : [word, undefined];
    const opt = options.find((o) => o.names.includes(name));
    if (!opt) {
      if (word.startsWith("--") && word !== "--ppp-dir") throw new UsageError(`unknown option '${word}' (see ppproxy --help)`);
      rest.push(word);
      if (word === "--ppp-dir" && i + 1 < argv.length) rest.push(argv[++i]);
      continue;
    }
    let value = "true";
    if (opt.value) {
      value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`option '${name}' needs a value: ${opt.value}`);
    }
    const key = opt.names[0];
    if (own.has(key) && !opt.repeat) throw new UsageError(`option '${name}' given twice`);
    own.set(key, [...(own.get(key) ?? []), value]);
  }
  return { own, rest };
}

export function one(p: Parsed, name: string): string | undefined {
  return p.own.get(name)?.[0];
}

export function all(p: Parsed, name: string): string[] {
  return p.own.get(name) ?? [];
}

export function intOption(p: Parsed, name: string, min: number, max: number): number | undefined {
  const v = one(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`option '${name}': '${v}' is not a whole number from ${min} to ${max}`);
  return n;
}

export function numberOption(p: Parsed, name: string, min: number): number | undefined {
  const v = one(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`option '${name}': '${v}' is not a number ≥ ${min}`);
  return n;
}

/** "ADDR:PORT", "PORT" or "off" → listen address, or null for off. */
export function listenOption(p: Parsed, name: string, fallback: { host: string; port: number }): { host: string; port: number } | null {
  const v = one(p, name);
  if (v === undefined) return fallback;
  if (v === "off" || v === "none") return null;
  const m = /^(?:(.+):)?(\d{1,5})$/.exec(v);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new UsageError(`option '${name}': '${v}' is not ADDR:PORT, PORT or off`);
  return { host: m[1] ?? fallback.host, port };
}

export function helpFor(options: OwnOption[]): string {
  return options
    .map((o) => `  ${[...o.names].join(", ")}${o.value ? ` ${o.value}` : ""}`.padEnd(34) + o.help)
    .join("\n");
}
