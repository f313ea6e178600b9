/**
 * Remote addresses for lines that have none of their own (`--pool
 * 192.168.7.10-192.168.7.50`): each call takes the lowest free address and
 * gives it back when it hangs up.
 */
import { formatIp4, parseIp4, type Ip4 } from "../../stack/util/addr.js";

export class PoolError extends Error {}

export class AddressPool {
  private readonly inUse = new Set<Ip4>();

  constructor(readonly first: Ip4, readonly last: Ip4) {
    if (last < first) throw new PoolError(`address pool ${formatIp4(first)}-${formatIp4(last)} is empty`);
  }

  static parse(text: string): AddressPool {
    const [a, b] = text.split("-");
    const first = parseIp4(a ?? "");
    const last = b === undefined ? first : parseIp4(b);
    if (first === undefined || last === undefined) {
      throw new PoolError(`bad --pool '${text}': expected FIRST-LAST, e.g. 192.168.7.10-192.168.7.50`);
    }
    return new AddressPool(first, last);
  }

  take(): Ip4 | undefined {
    for (let a = this.first; a <= this.last; a++) {
      if (!this.inUse.has(a)) {
        this.inUse.add(a);
        return a;
      }
    }
    return undefined;
  }

  give(a: Ip4): void {
    this.inUse.delete(a);
  }
}
