/**
 * Two CCP automata joined back to back for the CCP tests (ccp.test.ts,
 * ccp-bsd.test.ts): each side logs into its own list, and `exchange` moves
 * packets both ways until quiet, returning pppd-style debug lines.
 */
import { Ccp, formatCcpPacket, type CcpConfig } from "../../../src/ppp/compress/ccp.js";

export interface Side {
  ccp: Ccp;
  logs: string[];
  name: string;
}

export function side(name: string, config: CcpConfig): Side {
  const logs: string[] = [];
  const ccp = new Ccp(config, { log: (level, text) => logs.push(`${level}: ${text}`) });
  return { ccp, logs, name };
}

/** Move CCP packets both ways until quiet; `drop` may eat some. Returns the debug lines, pppd style. */
export function exchange(a: Side, b: Side, now: number, drop: (from: Side, p: Uint8Array) => boolean = () => false): string[] {
  const lines: string[] = [];
  for (let progress = true; progress; ) {
    progress = false;
    for (const [from, to] of [[a, b], [b, a]] as const) {
      for (let p = from.ccp.pollTransmit(); p; p = from.ccp.pollTransmit()) {
        progress = true;
        lines.push(`${from.name} sent ${formatCcpPacket(p)}`);
        if (!drop(from, p)) to.ccp.input(p, now);
      }
    }
  }
  return lines;
}

/** Lower layer up and open on both sides, then exchange until quiet. */
export function up(a: Side, b: Side, now = 0): string[] {
  for (const s of [a, b]) {
    s.ccp.lowerUp(now);
    s.ccp.open(now);
  }
  return exchange(a, b, now);
}
