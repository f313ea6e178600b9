/**
 * Passive FTP through the server address. An FTP server on the host's
 * loopback answers PASV with its own address, `227 Entering Passive Mode
 * (127,0,0,1,p1,p2)`, which means nothing to the peer; like slirp's FTP
 * helper, we rewrite that address to the server's link address, which the
 * masquerade maps back to the host's loopback. EPSV (229) carries only a port
 * and needs nothing. Active mode (PORT) is not supported: the host cannot
 * connect back into the peer.
 */
import { Transform, type TransformCallback } from "node:stream";

export const FTP_CONTROL_PORT = 21;
/** A reply line longer than this is passed on unexamined. */
const MAX_LINE = 512;

export class PasvRewriter extends Transform {
  private pending = "";

  constructor(private readonly serverAddress: string) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const text = this.pending + chunk.toString("latin1");
    const cut = text.lastIndexOf("\n") + 1;
    // Keep an unfinished line back (it may be a 227 reply split across segments), within reason.
    const keep = text.length - cut <= MAX_LINE ? text.slice(cut) : "";
    const ready = text.slice(0, text.length - keep.length);
    this.pending = keep;
    if (ready) this.push(Buffer.from(this.rewrite(ready), "latin1"));
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.pending) this.push(Buffer.from(this.rewrite(this.pending), "latin1"));
    done();
  }

  private rewrite(text: string): string {
    const ours = this.serverAddress.split(".").join(",");
    return text.replace(/^(227 [^\r\n(]*\()127,\d+,\d+,\d+(,\d+,\d+\))/gm, `$1${ours}$2`);
  }
}
