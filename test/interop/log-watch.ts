/**
 * test/interop/log-watch.ts — a growing text log (a guest console, a child
 * process's output) that tests wait on with a regular expression.
 *
 * Used by qemu-guest.ts and ppproxy-process.ts. Test-side helper only.
 */

export class LogWatch {
  private body = '';
  private endedWhy: string | undefined;
  private readonly listeners = new Set<() => void>();

  /** @param label names the log in error messages, e.g. "console of guest-pap-client". */
  constructor(readonly label: string) {}

  get text(): string {
    return this.body;
  }

  append(s: string): void {
    this.body += s;
    this.notify();
  }

  /** The producer is gone (process exited): pending waits fail now rather than at their timeout. */
  end(why: string): void {
    this.endedWhy ??= why;
    this.notify();
  }

  get ended(): string | undefined {
    return this.endedWhy;
  }

  /** The whole log between banner lines, for error messages. */
  dump(): string {
    return `--- ${this.label} (${this.body.length} chars) ---\n${this.body}\n--- end of ${this.label} ---`;
  }

  /**
   * First match of `re` in the log's complete lines from character `from` on
   * (the unterminated last line is searched only once the producer ended, so
   * a match is never cut short by a chunk boundary). Rejects after
   * `timeoutMs`, or once the producer has ended without a match; the error
   * includes the whole log.
   */
  waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    const plain = new RegExp(re.source, re.flags.replace(/[gy]/g, ''));
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        this.listeners.delete(check);
        if (timer) clearTimeout(timer);
      };
      const fail = (why: string): void => {
        done();
        reject(new Error(`${this.label}: ${re} ${why}\n${this.dump()}`));
      };
      const check = (): void => {
        // Complete lines only: output arrives in arbitrary chunks, and a
        // pattern like /@@IP-UP (\S+) (\S+)/ must not match half a line. Once
        // the producer has ended, the unterminated tail counts too.
        const end = this.endedWhy !== undefined ? this.body.length : this.body.lastIndexOf('\n') + 1;
        const m = from < end ? plain.exec(this.body.slice(from, end)) : null;
        if (m) {
          done();
          resolve(m);
        } else if (this.endedWhy !== undefined) {
          fail(`never appeared: ${this.endedWhy}`);
        }
      };
      this.listeners.add(check);
      timer = setTimeout(() => fail(`not seen within ${timeoutMs} ms`), timeoutMs);
      check();
    });
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}
