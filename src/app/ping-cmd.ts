/**
 * `ppproxy ping [-c N] [-i SECONDS] [-s SIZE] [-W SECONDS] HOST`: ICMP echo
 * over the link, printed as ping(8) prints it. It goes through a running
 * client's control socket, or dials on its own when given a device.
 */
export interface PingArgs {
  host: string;
  count: number;
  intervalS: number;
  size: number;
  timeoutS: number;
}

export interface PingReply {
  seq: number;
  rtt: number;
  ttl: number;
  bytes: number;
  address: string;
}

/** One echo; rejects with err.code on loss (ETIMEDOUT) or an ICMP error. */
export type PingOnce = (host: string, seq: number, size: number, timeoutMs: number) => Promise<PingReply>;

export async function runPing(args: PingArgs, ping: PingOnce, out: (line: string) => void, signal?: AbortSignal): Promise<number> {
  const rtts: number[] = [];
  let sent = 0;
  const started = performance.now();
  let header = false;
  for (let seq = 1; args.count === 0 || seq <= args.count; seq++) {
    if (signal?.aborted) break;
    const t0 = performance.now();
    sent++;
    try {
      const r = await ping(args.host, seq, args.size, args.timeoutS * 1000);
      if (!header) {
        out(`PING ${args.host} (${r.address}) ${args.size}(${args.size + 28}) bytes of data.`);
        header = true;
      }
      rtts.push(r.rtt);
      out(`${r.bytes} bytes from ${r.address}: icmp_seq=${r.seq} ttl=${r.ttl} time=${formatMs(r.rtt)} ms`);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (!header) {
        out(`PING ${args.host} ${args.size}(${args.size + 28}) bytes of data.`);
        header = true;
      }
      if (e.code !== "ETIMEDOUT") out(`From ${args.host} icmp_seq=${seq} ${e.message}`);
      if (e.code === "ENETDOWN" || e.code === "ENODNS" || e.code === "ENOTFOUND") break;
    }
    if (args.count !== 0 && seq >= args.count) break;
    const wait = args.intervalS * 1000 - (performance.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const received = rtts.length;
  const loss = sent === 0 ? 0 : Math.round(((sent - received) / sent) * 100);
  out(`--- ${args.host} ping statistics ---`);
  out(`${sent} packets transmitted, ${received} received, ${loss}% packet loss, time ${Math.round(performance.now() - started)}ms`);
  if (received > 0) {
    const min = Math.min(...rtts);
    const max = Math.max(...rtts);
    const avg = rtts.reduce((a, b) => a + b, 0) / received;
    const mdev = Math.sqrt(rtts.reduce((a, b) => a + (b - avg) ** 2, 0) / received);
    out(`rtt min/avg/max/mdev = ${[min, avg, max, mdev].map((v) => v.toFixed(3)).join("/")} ms`);
  }
  return received > 0 ? 0 : 1;
}

function formatMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}
