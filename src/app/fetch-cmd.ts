/**
 * `ppproxy fetch URL [-o FILE] [--sha256 HEX]`: the laptop's file fetch over
 * the link, through a client's HTTP proxy (a running one, or one this command
 * dials itself). It shows a progress bar with rate and ETA, resumes a partial
 * FILE with a Range request, and checks a sha256 when asked.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, statSync } from "node:fs";
import { basename } from "node:path";
import { ProxyAgent, interceptors, request } from "undici";
import cliProgress from "cli-progress";

export interface FetchArgs {
  url: string;
  output?: string;
  sha256?: string;
  resume: boolean;
  /** Show a progress bar (default: when stderr is a terminal). */
  progress: boolean;
}

export class FetchError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/**
 * Fetch through the HTTP proxy at `proxy` ("127.0.0.1:8080"), with Basic
 * proxy credentials "USER:PASS" when it asks for them (--http-user).
 * Resolves with the bytes written.
 */
export async function runFetch(args: FetchArgs, proxy: string, log: (line: string) => void, proxyUser?: string): Promise<number> {
  let url: URL;
  try {
    url = new URL(args.url);
  } catch {
    throw new FetchError(`not a URL: ${args.url}`, 2);
  }
  const output = args.output ?? (basename(url.pathname) || "index.html");
  const toStdout = output === "-";
  const have = !toStdout && args.resume && existsSync(output) ? statSync(output).size : 0;
  const uri = `http://${proxy}`;
  const agent = new ProxyAgent(proxyUser ? { uri, token: `Basic ${Buffer.from(proxyUser).toString("base64")}` } : uri);
  const dispatcher = agent.compose(interceptors.redirect({ maxRedirections: 5 }));
  try {
    const res = await request(url, { dispatcher, headers: have > 0 ? { range: `bytes=${have}-` } : {} });
    let append = false;
    if (have > 0 && res.statusCode === 206) append = true;
    else if (have > 0 && res.statusCode === 416) {
      res.body.resume();
      log(`${output} is already complete`);
      return verify(args, output, 0, log);
    } else if (res.statusCode < 200 || res.statusCode >= 300) {
      res.body.resume();
      throw new FetchError(`HTTP ${res.statusCode} for ${url}`);
    }
    const length = Number(res.headers["content-length"] ?? NaN);
    const total = Number.isFinite(length) ? length + (append ? have : 0) : undefined;
    if (append) log(`resuming ${output} at byte ${have}`);
    const bar = args.progress && !toStdout ? new cliProgress.SingleBar(
      { format: "{bar} {percentage}% | {value}/{total} B | {speed} B/s | ETA {eta_formatted}", stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    ) : undefined;
    bar?.start(total ?? 0, append ? have : 0, { speed: 0 });
    const started = performance.now();
    let got = 0;
    const sink: NodeJS.WritableStream = toStdout ? process.stdout : createWriteStream(output, { flags: append ? "a" : "w" });
    for await (const chunk of res.body) {
      got += (chunk as Buffer).length;
      if (!sink.write(chunk as Buffer)) await new Promise((r) => sink.once("drain", r));
      bar?.update((append ? have : 0) + got, { speed: Math.round(got / ((performance.now() - started) / 1000 || 1)) });
    }
    bar?.stop();
    if (!toStdout) await new Promise<void>((r, j) => (sink as ReturnType<typeof createWriteStream>).end((e?: Error) => (e ? j(e) : r())));
    const secs = (performance.now() - started) / 1000;
    log(`${toStdout ? "stdout" : output}: ${got} bytes in ${secs.toFixed(1)} s (${Math.round(got / (secs || 1))} B/s)`);
    return verify(args, output, got, log);
  } catch (err) {
    if (err instanceof FetchError) throw err;
    const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    throw new FetchError(`fetch ${url} failed: ${e.cause?.code ?? e.code ?? ""} ${e.cause?.message ?? e.message}`.trim());
  } finally {
    await agent.close();
  }
}

async function verify(args: FetchArgs, output: string, got: number, log: (line: string) => void): Promise<number> {
  if (!args.sha256 || output === "-") return got;
  const h = createHash("sha256");
  for await (const chunk of createReadStream(output)) h.update(chunk as Buffer);
  const hex = h.digest("hex");
  if (hex !== args.sha256.toLowerCase()) throw new FetchError(`sha256 mismatch for ${output}: got ${hex}, expected ${args.sha256}`);
  log(`sha256 OK ${hex}`);
  return got;
}
