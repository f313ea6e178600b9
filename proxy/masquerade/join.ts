/**
 * Join two TCP-like sockets both ways: bytes flow with backpressure, a FIN
 * (end) on one side becomes a FIN on the other (half-close), and an error or
 * reset on one side resets the other.
 */
import type { Duplex } from "node:stream";
import net from "node:net";

/** Reset a socket: RST for a host socket, destroy() (RST) for a stack socket. */
export function resetSocket(s: Duplex): void {
  if (s instanceof net.Socket && !s.destroyed && typeof s.resetAndDestroy === "function") s.resetAndDestroy();
  else s.destroy();
}

export function joinSockets(a: Duplex, b: Duplex, onClose: (err?: Error) => void): void {
  let done = false;
  let closed = 0;
  const finish = (err?: Error) => {
    if (done) return;
    done = true;
    onClose(err);
  };
  const onError = (from: Duplex, to: Duplex) => (err: Error) => {
    resetSocket(to);
    from.destroy();
    finish(err);
  };
  a.on("error", onError(a, b));
  b.on("error", onError(b, a));
  const onClosed = (from: Duplex, to: Duplex) => () => {
    // A side that went away without sending its FIN takes the other with it.
    if (!from.readableEnded && !to.destroyed) resetSocket(to);
    if (++closed === 2) finish();
  };
  a.on("close", onClosed(a, b));
  b.on("close", onClosed(b, a));
  a.pipe(b);
  b.pipe(a);
}
