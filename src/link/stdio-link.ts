/**
 * stdin/stdout as a Link (device "stdio" or "-", pppd's `notty`): for
 * running under socat, ssh, or as a QEMU `-chardev stdio` / `pipe` peer.
 * Pipes need nothing special; if stdin is a TTY it is put into raw mode (no
 * echo, no line editing, no ^C) and restored on close. EOF on stdin or EPIPE
 * on stdout is a hang-up. Logs must go to stderr while this link is in use.
 */
import type { Readable, Writable } from "node:stream";
import type { ReadStream } from "node:tty";
import { StreamLink } from "./stream-link.js";
import type { Link } from "./link.js";

export interface StdioLinkOptions {
  /** Default process.stdin. */
  input?: Readable;
  /** Default process.stdout. */
  output?: Writable;
  name?: string;
  /** The rate of the serial line behind the pipe (pppd's speed word), so the driver can pace; unknown when absent. */
  bitsPerSecond?: number;
}

export function createStdioLink(opts: StdioLinkOptions = {}): Link {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const tty = (input as Partial<ReadStream>).isTTY === true ? (input as ReadStream) : undefined;
  const wasRaw = tty?.isRaw ?? false;
  // Give the terminal back even if the process exits without close().
  const restore = (): void => {
    if (tty && !wasRaw && tty.isRaw) tty.setRawMode(false);
  };
  if (tty && !wasRaw) {
    tty.setRawMode(true);
    process.once("exit", restore);
  }
  const link = new StreamLink({
    name: opts.name ?? "stdio",
    bitsPerSecond: opts.bitsPerSecond,
    input,
    output,
    closeImpl: async () => {
      restore();
      process.off("exit", restore);
      input.pause();
      // We do not end process.stdout: other code (the final log lines) may still want it. Test streams are ended.
      if (output !== process.stdout) output.end();
    },
  });
  input.resume();
  return link;
}
