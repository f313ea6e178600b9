/**
 * Two NodeStacks joined in one process: each stack's `output` queues onto
 * an in-memory wire that delivers in batches on setImmediate (never
 * synchronously, so the stacks cannot recurse into each other), with a
 * high-water mark that exercises the stacks' output backpressure. With
 * `deliver`, datagrams are handed over with NodeStack.deliver() (one pump
 * per batch) instead of input() (one pump each).
 */
import type { NodeStack } from "../../../stack/node/node-stack.js";

export interface MemoryLink {
  readonly counts: { aToB: number; bToA: number; blocked: number };
  /** Drop every datagram for which `fn` returns true (both directions). */
  filter: ((packet: Uint8Array, fromA: boolean) => boolean) | undefined;
  close(): void;
}

export function joinStacks(a: NodeStack, b: NodeStack, opts: { highWater?: number; deliver?: boolean } = {}): MemoryLink {
  const hw = opts.highWater ?? 1024;
  // Output datagrams are the stack's to give away, so deliver() may keep them.
  const toB = opts.deliver ? (p: Uint8Array) => b.deliver(p) : (p: Uint8Array) => b.input(p);
  const toA = opts.deliver ? (p: Uint8Array) => a.deliver(p) : (p: Uint8Array) => a.input(p);
  const qa: Uint8Array[] = [];
  const qb: Uint8Array[] = [];
  let blockedA = false;
  let blockedB = false;
  let scheduled: NodeJS.Immediate | undefined;
  let closed = false;
  const link: MemoryLink = { counts: { aToB: 0, bToA: 0, blocked: 0 }, filter: undefined, close };
  const schedule = () => {
    if (!scheduled && !closed) scheduled = setImmediate(flush);
  };
  a.output = (p) => {
    qa.push(p);
    schedule();
    if (qa.length >= hw) {
      blockedA = true;
      link.counts.blocked++;
      return false;
    }
    return true;
  };
  b.output = (p) => {
    qb.push(p);
    schedule();
    if (qb.length >= hw) {
      blockedB = true;
      link.counts.blocked++;
      return false;
    }
    return true;
  };
  function flush(): void {
    scheduled = undefined;
    if (closed) return;
    const ba = qa.splice(0);
    const bb = qb.splice(0);
    for (const p of ba) {
      if (link.filter?.(p, true)) continue;
      link.counts.aToB++;
      toB(p);
    }
    for (const p of bb) {
      if (link.filter?.(p, false)) continue;
      link.counts.bToA++;
      toA(p);
    }
    if (blockedA) {
      blockedA = false;
      a.outputReady();
    }
    if (blockedB) {
      blockedB = false;
      b.outputReady();
    }
  }
  function close(): void {
    closed = true;
    if (scheduled) clearImmediate(scheduled);
    a.output = undefined;
    b.output = undefined;
  }
  return link;
}
