/**
 * Join two byte streams both ways (proxy/): what every proxy does once a
 * tunnel is set up. Built on `stream.pipeline()`, so backpressure is the
 * stream machinery's (write() false -> pause, 'drain' -> resume), `end()` on
 * one side becomes FIN on the other (half-close works both ways, as long as
 * both sockets allow half-open), and an error on either side destroys both.
 */
import net from "node:net";
import { pipeline, type Duplex } from "node:stream";

/** Abort a socket: RST for a host socket (resetAndDestroy), destroy() for a link socket (whose destroy() is RST). */
export function resetSocket(s: Duplex): void {
  if (s instanceof net.Socket && !s.destroyed) s.resetAndDestroy();
  else s.destroy();
}

/** `done` is called once: with the first error, or with none after both directions finished. */
export function join(a: Duplex, b: Duplex, done?: (err?: Error) => void): void {
  let pending = 2;
  let reported = false;
  const finish = (err?: Error | null) => {
    if (reported) return;
    if (err) {
      // An error or reset on one side resets the other: the far end learns the truth, not a clean FIN.
      reported = true;
      resetSocket(a);
      resetSocket(b);
      done?.(err);
      return;
    }
    if (--pending === 0) {
      reported = true;
      done?.();
    }
  };
  pipeline(a, b, finish);
  pipeline(b, a, finish);
}
