/** Test helper for the link tests: resolve with the first `n` bytes (at least) a link delivers. */
import type { Link } from "../../../src/link/link.js";

export function readN(link: Link, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let got = 0;
    const onData = (b: Buffer): void => {
      parts.push(b);
      got += b.length;
      if (got >= n) {
        link.off("data", onData);
        resolve(Buffer.concat(parts));
      }
    };
    link.on("data", onData);
  });
}
