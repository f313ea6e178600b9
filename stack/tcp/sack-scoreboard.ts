/**
 * The sender's SACK scoreboard (RFC 6675 §3, §4): which bytes above SND.UNA
 * the peer reported holding, the IsLost() test, the pipe estimate and
 * NextSeg(). Ranges are sequence numbers [left, right), sorted and disjoint.
 * Part of stack/tcp.
 */
import { seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax } from "./seq.js";
import type { SackBlock } from "../wire/tcp.js";

/** RFC 6675 §2 DupThresh. */
export const DUP_THRESH = 3;

export class SackScoreboard {
  readonly ranges: SackBlock[] = [];

  get empty(): boolean {
    return this.ranges.length === 0;
  }

  clear(): void {
    this.ranges.length = 0;
  }

  /** Total SACKed bytes. */
  sackedBytes(): number {
    let n = 0;
    for (const r of this.ranges) n += seqDiff(r.right, r.left);
    return n;
  }

  /** Highest SACKed sequence (right edge), or undefined. */
  highest(): number | undefined {
    return this.ranges.length ? this.ranges[this.ranges.length - 1].right : undefined;
  }

  /** Merge reported blocks, ignoring any outside (una, max]. Returns true if something new was SACKed. */
  update(blocks: SackBlock[], una: number, max: number): boolean {
    let grew = false;
    for (const b of blocks) {
      if (!seqLt(b.left, b.right) || seqLe(b.right, una) || seqGt(b.right, max) || seqLt(b.left, una)) continue;
      grew = this.insert(b.left, b.right) || grew;
    }
    return grew;
  }

  /** Forget everything below `una` (cumulatively acknowledged). */
  advance(una: number): void {
    const list = this.ranges;
    while (list.length && seqLe(list[0].right, una)) list.shift();
    if (list.length && seqLt(list[0].left, una)) list[0] = { left: una, right: list[0].right };
  }

  isSacked(seq: number): boolean {
    for (const r of this.ranges) {
      if (seqLt(seq, r.left)) return false;
      if (seqLt(seq, r.right)) return true;
    }
    return false;
  }

  /** SACKed bytes strictly above `seq`. */
  private sackedAbove(seq: number): number {
    let n = 0;
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const r = this.ranges[i];
      if (seqLe(r.right, seq)) break;
      n += seqDiff(r.right, seqMax(r.left, seq));
    }
    return n;
  }

  /** RFC 6675 IsLost(): more than (DupThresh − 1)·SMSS bytes SACKed above `seq`. */
  isLost(seq: number, mss: number): boolean {
    return this.sackedAbove(seq) > (DUP_THRESH - 1) * mss;
  }

  /**
   * RFC 6675 §4 SetPipe(): bytes presumed in the network. A hole byte counts
   * once unless lost, and once more if retransmitted (at or below HighRxt).
   */
  pipe(una: number, max: number, highRxt: number, mss: number): number {
    let pipe = 0;
    let cursor = una;
    const holes = (a: number, b: number) => {
      if (!seqLt(a, b)) return;
      const len = seqDiff(b, a);
      const lost = this.isLost(a, mss);
      if (!lost) pipe += len;
      if (seqGt(highRxt, a)) pipe += Math.min(len, seqDiff(highRxt, a));
    };
    for (const r of this.ranges) {
      holes(cursor, r.left);
      cursor = r.right;
    }
    holes(cursor, max);
    return pipe;
  }

  /**
   * RFC 6675 NextSeg() rule (1): the first un-SACKed, lost byte at or above
   * HighRxt, with the extent of its hole (capped at `mss`).
   */
  nextLost(una: number, highRxt: number, mss: number): { seq: number; len: number } | undefined {
    let cursor = una;
    for (const r of this.ranges) {
      const start = seqMax(cursor, highRxt);
      if (seqLt(start, r.left) && this.isLost(start, mss)) {
        return { seq: start, len: Math.min(mss, seqDiff(r.left, start)) };
      }
      cursor = r.right;
    }
    return undefined;
  }

  private insert(left: number, right: number): boolean {
    const list = this.ranges;
    let i = 0;
    while (i < list.length && seqLt(list[i].right, left)) i++;
    let j = i;
    let a = left;
    let b = right;
    let covered = false;
    while (j < list.length && seqLe(list[j].left, b)) {
      if (seqLe(list[j].left, left) && seqGe(list[j].right, right)) covered = true;
      if (seqLt(list[j].left, a)) a = list[j].left;
      if (seqGt(list[j].right, b)) b = list[j].right;
      j++;
    }
    list.splice(i, j - i, { left: a, right: b });
    return !covered;
  }
}
