/**
 * Benchmark payloads and small statistics helpers (not a test): the random
 * bulk file, the "fox" file, ~1 MiB of real text (TypeScript's lib .d.ts
 * files), percentiles, and a deadline wrapper. Used by test/bench/run.ts.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Incompressible bytes (the bench edge may use node:crypto directly). */
export function randomFile(size: number): Uint8Array {
  return new Uint8Array(randomBytes(size));
}

/** `printf "%06d the quick brown fox jumps over the lazy dog\n"` for i = 0,1,… cut to `size` bytes. */
export function foxFile(size: number): Uint8Array {
  const parts: string[] = [];
  let len = 0;
  for (let i = 0; len < size; i++) {
    const line = `${String(i).padStart(6, "0")} the quick brown fox jumps over the lazy dog\n`;
    parts.push(line);
    len += line.length;
  }
  return new TextEncoder().encode(parts.join("")).subarray(0, size);
}

/** Real prose/source: node_modules/typescript/lib/lib.*.d.ts concatenated (sorted by name) and cut to `size` bytes. */
export function proseFile(root: string, size: number): { data: Uint8Array; origin: string } {
  const dir = join(root, "node_modules/typescript/lib");
  const names = readdirSync(dir)
    .filter((n) => /^lib\..*\.d\.ts$/.test(n))
    .sort();
  const out = new Uint8Array(size);
  let len = 0;
  let used = 0;
  for (const n of names) {
    if (len >= size) break;
    const b = readFileSync(join(dir, n));
    const take = Math.min(b.length, size - len);
    out.set(b.subarray(0, take), len);
    len += take;
    used++;
  }
  return { data: out.subarray(0, len), origin: `${used} files node_modules/typescript/lib/lib.*.d.ts` };
}

/** Nearest-rank percentile (p in 0..1) of an unsorted list; undefined when empty. */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((x, y) => x - y);
  return s[Math.max(0, Math.ceil(p * s.length) - 1)];
}

export class DeadlineError extends Error {
  readonly code = "ETIMEDOUT";
}

/** `p`, or a DeadlineError after `ms` (the work itself is left to the caller's cleanup). */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`${what}: timeout after ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
