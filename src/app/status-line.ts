/**
 * The demo's one-line status on a terminal: link state, addresses, bytes
 * each way and the current line rate, rewritten in place once a second.
 */
import type { Demo } from "./demo.js";

export class StatusLine {
  private timer: NodeJS.Timeout | undefined;
  private last = { tx: 0, rx: 0, t: performance.now() };

  constructor(private readonly demo: Demo, private readonly speed: number, private readonly stream = process.stderr) {}

  start(): void {
    if (!this.stream.isTTY) return;
    this.timer = setInterval(() => this.draw(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.stream.isTTY) this.stream.write("\r\x1b[K");
  }

  /** The status text (also used by tests). */
  text(): string {
    const st = this.demo.client.status;
    const stats = this.demo.client.lineStats();
    const now = performance.now();
    const secs = (now - this.last.t) / 1000 || 1;
    const txRate = (stats.txBytes - this.last.tx) / secs;
    const rxRate = (stats.rxBytes - this.last.rx) / secs;
    this.last = { tx: stats.txBytes, rx: stats.rxBytes, t: now };
    const line = this.speed / 10;
    const state = st.up ? `up ${st.up.local} <-> ${st.up.remote}` : "down";
    return `link ${state} | sent ${kb(stats.txBytes)} (${pct(txRate, line)}) | rcvd ${kb(stats.rxBytes)} (${pct(rxRate, line)}) of ${line} B/s`;
  }

  private draw(): void {
    this.stream.write(`\r\x1b[K${this.text().slice(0, (this.stream.columns ?? 100) - 1)}`);
  }
}

function kb(n: number): string {
  return n < 10_000 ? `${n} B` : n < 10_000_000 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
}

function pct(rate: number, line: number): string {
  return `${Math.round((rate / line) * 100)}%`;
}
