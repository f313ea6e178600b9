/**
 * A sans-I/O chat(8): the modem/login dialogue pppd runs as its `connect`
 * script, done in-process so `connect 'chat -v "" ATZ OK ATDT123 CONNECT'`
 * from a pppd options file works without a chat binary or a shell.
 *
 * The core takes received bytes and time and gives back bytes to send,
 * events and its next deadline (handleInput / handleTimeout / pollTransmit /
 * pollEvent / pollTimeout); the link driver owns the port and the timer.
 * Bytes the script did not read (what followed the final CONNECT) stay
 * queued for PPP: takeUnread().
 *
 * Script language, as chat(8): expect/send pairs; '' expects nothing;
 * `expect-send-expect` sub-expects on timeout (ogin:--ogin:); keywords
 * ABORT, CLR_ABORT, REPORT, CLR_REPORT, TIMEOUT, ECHO ON|OFF, SAY, HANGUP
 * take the following word; send strings end with CR unless \c and may hold
 * \d (1 s delay), \p (0.1 s pause, as the manual page says), \K (break),
 * \q (don't log), \r \n \N (NUL) \s \t \b \\ \ddd ^X, \T / \U (phone
 * numbers from -T / -U); EOT and BREAK are special send strings.
 * Exit codes as chat(8): 0 ok, 1 bad script, 2 error, 3 timeout, 4+n the
 * n-th (0-based) ABORT string matched.
 *
 * Also here: parseChatCommand(), which recognises a pppd `connect` string
 * that runs chat (flags -v -V -s -S -e -t -T -U -r -f, script inline or in
 * a file) so the app can run it in-process; anything needing a real shell
 * returns undefined and the app runs it with /bin/sh.
 */
import type { Millis } from "../../stack/util/time.js";

/** chat.c DEFAULT_CHAT_TIMEOUT: seconds per expect. */
export const DEFAULT_CHAT_TIMEOUT_S = 45;
/** chat(8) \d: delay one second. */
export const CHAT_DELAY_MS = 1000;
/** chat(8) \p: pause one tenth of a second. */
export const CHAT_PAUSE_MS = 100;

/** chat(8) exit status. */
export const CHAT_EXIT = {
  OK: 0,
  BAD_SCRIPT: 1,
  ERROR: 2,
  TIMEOUT: 3,
  /** 4 + index of the ABORT string that matched. */
  ABORT_BASE: 4,
} as const;

export type ChatEvent =
  /** A chat -v style log line: "expect (OK)", "send (ATZ^M)", " -- got it", "alarm". */
  | { type: "log"; text: string }
  /** SAY text (chat writes it to stderr). */
  | { type: "say"; text: string }
  /** A REPORT string and what followed it up to end of line ("CONNECT 115200"). */
  | { type: "report"; text: string }
  /** ECHO ON: received characters, for the user's terminal. */
  | { type: "echo"; text: string }
  /** \K or BREAK: the driver should send a line break if it can. */
  | { type: "break" }
  | { type: "done"; exitCode: 0 }
  | { type: "failed"; exitCode: number; reason: string };

export interface ChatOptions {
  /** -v: log the conversation. */
  verbose?: boolean;
  /** -t: default seconds per expect. */
  timeoutSec?: number;
  /** -T / -U: what \T and \U stand for. */
  phone?: string;
  phone2?: string;
  /** -e: start with ECHO ON. */
  echo?: boolean;
}

type Step =
  | { op: "expect"; parts: string[] }
  | { op: "send"; text: string }
  | { op: "abort" | "clr-abort" | "report" | "clr-report" | "say" | "timeout" | "echo" | "hangup"; arg: string };

const KEYWORDS: Record<string, Step["op"]> = {
  ABORT: "abort",
  CLR_ABORT: "clr-abort",
  REPORT: "report",
  CLR_REPORT: "clr-report",
  TIMEOUT: "timeout",
  ECHO: "echo",
  SAY: "say",
  HANGUP: "hangup",
};

/** One piece of a cleaned send string. */
type SendPiece = { bytes: string } | { delayMs: number } | { brk: true };

/** chat's logf(): control characters as ^X, DEL as ^?, high bytes as M-x. */
export function visible(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (c < 0x20) out += "^" + String.fromCharCode(c + 0x40);
    else if (c === 0x7f) out += "^?";
    else if (c > 0x7f && c < 0x100) out += "M-" + visible(String.fromCharCode(c - 0x80));
    else out += ch;
  }
  return out;
}

/**
 * chat.c clean(): decode escapes. Sending: \c at the end drops the CR,
 * \d \p \K become delay/break pieces. Expecting: one plain string.
 */
function clean(s: string, sending: boolean, opts: ChatOptions): { pieces: SendPiece[]; text: string; quiet: boolean } {
  const pieces: SendPiece[] = [];
  let cur = "";
  let addReturn = sending;
  let quiet = false;
  const flush = (): void => {
    if (cur) pieces.push({ bytes: cur });
    cur = "";
  };
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === "^") {
      const nx = s[i + 1];
      if (nx === undefined) {
        cur += "^";
        break;
      }
      i++;
      const v = nx.charCodeAt(0) & 0x1f;
      if (v !== 0) cur += String.fromCharCode(v);
      continue;
    }
    if (ch !== "\\") {
      cur += ch;
      continue;
    }
    const e = s[++i];
    if (e === undefined) {
      cur += "\\";
      break;
    }
    switch (e) {
      case "b": cur += "\b"; break;
      case "r": cur += "\r"; break;
      case "n": cur += "\n"; break;
      case "s": cur += " "; break;
      case "t": cur += "\t"; break;
      case "N": cur += "\0"; break;
      case "\\": cur += "\\"; break;
      case "^": cur += "^"; break;
      case "c":
        if (sending && i === s.length - 1) addReturn = false;
        else cur += sending ? "" : "\\c";
        break;
      case "d":
        if (sending) { flush(); pieces.push({ delayMs: CHAT_DELAY_MS }); } else cur += "\\d";
        break;
      case "p":
        if (sending) { flush(); pieces.push({ delayMs: CHAT_PAUSE_MS }); } else cur += "\\p";
        break;
      case "K":
        if (sending) { flush(); pieces.push({ brk: true }); } else cur += "\\K";
        break;
      case "q":
        if (sending) quiet = true; else cur += "\\q";
        break;
      case "T": cur += opts.phone ?? "\\T"; break;
      case "U": cur += opts.phone2 ?? "\\U"; break;
      default:
        if (e >= "0" && e <= "7") {
          let v = 0;
          let k = 0;
          while (k < 3 && i < s.length && s[i] >= "0" && s[i] <= "7") {
            v = v * 8 + (s.charCodeAt(i) - 48);
            i++;
            k++;
          }
          i--;
          cur += String.fromCharCode(v & 0xff);
        } else {
          cur += "\\" + e; // unknown escape: kept, as chat does
        }
    }
  }
  if (addReturn) cur += "\r";
  flush();
  const text = pieces.map((p) => ("bytes" in p ? p.bytes : "")).join("");
  return { pieces, text, quiet };
}

/** Turn script words into steps, pairing expect/send as chat's main loop does. */
function compile(words: readonly string[]): Step[] {
  const steps: Step[] = [];
  for (let k = 0; k < words.length; ) {
    const w = words[k++];
    const kw = KEYWORDS[w];
    if (kw !== undefined) {
      if (k < words.length) steps.push({ op: kw, arg: words[k++] } as Step);
      continue;
    }
    steps.push({ op: "expect", parts: w.split("-") });
    if (k < words.length) steps.push({ op: "send", text: words[k++] });
  }
  return steps;
}

const latin1 = (s: string): Uint8Array => {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
};

/** The chat engine. Call start(now), then feed it input and timeouts. */
export class ChatScript {
  private readonly steps: Step[];
  private readonly opts: ChatOptions;
  private pc = 0;
  private timeoutMs: Millis;
  private echo: boolean;
  private aborts: string[] = [];
  private reports: string[] = [];

  /** Unread input, in arrival order; rxOff indexes the first chunk. */
  private rx: Uint8Array[] = [];
  private rxOff = 0;

  /** Current expect: its parts, which part, the cleaned target, its deadline (set once sending is over). */
  private expect?: { parts: string[]; idx: number; target: string; deadline?: Millis };
  /** What has been received during this expect (only the tail that can still matter). */
  private window = "";
  /** Received text not yet logged (verbose). */
  private logLine = "";
  /** REPORT capture in progress. */
  private reporting?: string;

  private sendQueue: SendPiece[] = [];
  private sendUntil?: Millis;

  private tx: Uint8Array[] = [];
  private events: ChatEvent[] = [];
  private started = false;
  private result?: ChatEvent & { type: "done" | "failed" };

  constructor(script: readonly string[], opts: ChatOptions = {}) {
    this.opts = opts;
    this.steps = compile(script);
    this.timeoutMs = (opts.timeoutSec && opts.timeoutSec > 0 ? opts.timeoutSec : DEFAULT_CHAT_TIMEOUT_S) * 1000;
    this.echo = !!opts.echo;
  }

  /** Script from chat-file text (chat -f), as chat.c do_file(). */
  static fromFile(text: string, opts: ChatOptions = {}): ChatScript {
    return new ChatScript(parseChatFile(text), opts);
  }

  get finished(): boolean {
    return this.result !== undefined;
  }
  /** The final event once finished (done or failed). */
  get outcome(): (ChatEvent & { type: "done" | "failed" }) | undefined {
    return this.result;
  }

  start(now: Millis): void {
    if (this.started) return;
    this.started = true;
    this.run(now);
  }

  handleInput(bytes: Uint8Array, now: Millis): void {
    if (bytes.length === 0) return;
    this.rx.push(bytes);
    if (this.started) this.run(now);
  }

  handleTimeout(now: Millis): void {
    if (this.started) this.run(now);
  }

  /** The driver reports that the port failed (read/write error, hang-up): chat exit 2. */
  fail(reason: string): void {
    this.finish({ type: "failed", exitCode: CHAT_EXIT.ERROR, reason });
  }

  pollTransmit(): Uint8Array | undefined {
    return this.tx.shift();
  }

  pollEvent(): ChatEvent | undefined {
    return this.events.shift();
  }

  pollTimeout(): Millis | undefined {
    if (this.result) return undefined;
    if (this.sendUntil !== undefined) return this.sendUntil;
    return this.expect?.deadline;
  }

  /** Input the script did not consume (e.g. the peer's first PPP frames after CONNECT); hands it over once. */
  takeUnread(): Uint8Array {
    let len = 0;
    for (let k = 0; k < this.rx.length; k++) len += this.rx[k].length - (k === 0 ? this.rxOff : 0);
    const out = new Uint8Array(len);
    let o = 0;
    for (let k = 0; k < this.rx.length; k++) {
      const c = k === 0 ? this.rx[k].subarray(this.rxOff) : this.rx[k];
      out.set(c, o);
      o += c.length;
    }
    this.rx = [];
    this.rxOff = 0;
    return out;
  }

  // ---- internals ------------------------------------------------------------

  private log(text: string): void {
    if (this.opts.verbose) this.events.push({ type: "log", text });
  }

  private flushLogLine(): void {
    if (this.logLine) this.log(this.logLine);
    this.logLine = "";
  }

  private finish(ev: ChatEvent & { type: "done" | "failed" }): void {
    if (this.result) return;
    this.flushLogLine();
    this.finishReport();
    this.result = ev;
    this.expect = undefined;
    this.sendQueue = [];
    this.sendUntil = undefined;
    this.events.push(ev);
  }

  private finishReport(): void {
    if (this.reporting !== undefined) this.events.push({ type: "report", text: this.reporting });
    this.reporting = undefined;
  }

  /** Advance as far as possible without waiting. */
  private run(now: Millis): void {
    while (!this.result) {
      if (this.sendQueue.length > 0 || this.sendUntil !== undefined) {
        if (!this.pumpSend(now)) return;
        continue;
      }
      if (this.expect) {
        if (!this.pumpExpect(now)) return;
        continue;
      }
      if (this.pc >= this.steps.length) {
        this.finish({ type: "done", exitCode: 0 });
        return;
      }
      this.exec(this.steps[this.pc++]);
    }
  }

  /** Push queued send pieces; false while a \d / \p delay is running. */
  private pumpSend(now: Millis): boolean {
    if (this.sendUntil !== undefined) {
      if (now < this.sendUntil) return false;
      this.sendUntil = undefined;
    }
    while (this.sendQueue.length > 0) {
      const p = this.sendQueue.shift()!;
      if ("bytes" in p) this.tx.push(latin1(p.bytes));
      else if ("brk" in p) this.events.push({ type: "break" });
      else {
        this.sendUntil = now + p.delayMs;
        return false;
      }
    }
    return true;
  }

  private queueSend(text: string): void {
    if (text === "EOT") {
      this.log("send (^D)");
      this.sendQueue.push({ bytes: "\x04" });
      return;
    }
    if (text === "BREAK") {
      this.log("send (BREAK)");
      this.sendQueue.push({ brk: true });
      return;
    }
    const c = clean(text, true, this.opts);
    this.log(`send (${c.quiet ? "??????" : visible(c.text)})`);
    this.sendQueue.push(...c.pieces);
  }

  private beginExpect(parts: string[], idx: number): void {
    const target = clean(parts[idx], false, this.opts).text;
    this.expect = { parts, idx, target };
    this.window = "";
    this.log(`expect (${visible(target)})`);
  }

  private exec(step: Step): void {
    switch (step.op) {
      case "expect":
        this.beginExpect(step.parts, 0);
        return;
      case "send":
        this.queueSend(step.text);
        return;
      case "abort": {
        const s = clean(step.arg, false, this.opts).text;
        this.aborts.push(s);
        this.log(`abort on (${visible(s)})`);
        return;
      }
      case "clr-abort": {
        const s = clean(step.arg, false, this.opts).text;
        this.aborts = this.aborts.filter((a) => a !== s);
        this.log(`clear abort on (${visible(s)})`);
        return;
      }
      case "report": {
        const s = clean(step.arg, false, this.opts).text;
        this.reports.push(s);
        this.log(`report (${visible(s)})`);
        return;
      }
      case "clr-report": {
        const s = clean(step.arg, false, this.opts).text;
        this.reports = this.reports.filter((r) => r !== s);
        this.log(`clear report (${visible(s)})`);
        return;
      }
      case "timeout": {
        const n = parseInt(step.arg, 10);
        const sec = Number.isFinite(n) && n > 0 ? n : DEFAULT_CHAT_TIMEOUT_S;
        this.timeoutMs = sec * 1000;
        this.log(`timeout set to ${sec} seconds`);
        return;
      }
      case "echo":
        this.echo = step.arg.toUpperCase() === "ON";
        this.log(`echo ${this.echo ? "ON" : "OFF"}`);
        return;
      case "hangup":
        this.log(`hangup ${step.arg.toUpperCase() === "ON" ? "ON" : "OFF"} (ignored: the driver owns hang-up)`);
        return;
      case "say":
        this.events.push({ type: "say", text: clean(step.arg, false, this.opts).text });
        return;
    }
  }

  /** Match input against the current expect; false when waiting for input or the deadline. */
  private pumpExpect(now: Millis): boolean {
    const ex = this.expect!;
    if (ex.deadline === undefined) ex.deadline = now + this.timeoutMs;
    if (ex.target.length === 0) {
      this.log(" -- got it");
      return this.expectMatched();
    }
    while (this.rx.length > 0) {
      const chunk = this.rx[0];
      const c = String.fromCharCode(chunk[this.rxOff++]);
      if (this.rxOff >= chunk.length) {
        this.rx.shift();
        this.rxOff = 0;
      }
      this.onChar(c);
      this.window += c;
      // Keep only the tail that can still complete a match.
      const keep = Math.max(ex.target.length, ...this.aborts.map((a) => a.length), ...this.reports.map((r) => r.length), 1);
      if (this.window.length > 2 * keep + 64) this.window = this.window.slice(-keep);
      for (const r of this.reports) {
        if (r.length > 0 && this.window.endsWith(r)) {
          this.finishReport();
          this.reporting = r;
        }
      }
      if (this.window.endsWith(ex.target)) {
        this.flushLogLine();
        this.log(" -- got it");
        return this.expectMatched();
      }
      for (let n = 0; n < this.aborts.length; n++) {
        const a = this.aborts[n];
        if (a.length > 0 && this.window.endsWith(a)) {
          this.flushLogLine();
          this.finish({ type: "failed", exitCode: CHAT_EXIT.ABORT_BASE + n, reason: `aborted on (${visible(a)})` });
          return false;
        }
      }
    }
    if (now < ex.deadline) return false;
    // Timed out: a sub-send and sub-expect, or failure.
    this.flushLogLine();
    this.log("alarm");
    if (ex.idx + 2 < ex.parts.length) {
      this.queueSend(ex.parts[ex.idx + 1]);
      this.beginExpect(ex.parts, ex.idx + 2);
      return true;
    }
    this.log("Failed");
    this.finish({ type: "failed", exitCode: CHAT_EXIT.TIMEOUT, reason: `timeout waiting for (${visible(ex.target)})` });
    return false;
  }

  private expectMatched(): boolean {
    this.expect = undefined;
    this.window = "";
    return true;
  }

  /** Per received character: echo, verbose line log, report capture. */
  private onChar(c: string): void {
    if (this.echo) this.events.push({ type: "echo", text: c });
    if (this.reporting !== undefined) {
      if (c === "\r" || c === "\n") this.finishReport();
      else this.reporting += c;
    }
    if (this.opts.verbose) {
      if (c === "\n") this.flushLogLine();
      else this.logLine += visible(c);
    }
  }
}

// ---- script sources ---------------------------------------------------------

/** chat.c do_file(): lines; leading '#' = comment; words split on white space, '..' / ".." quoted, escapes kept for clean(). */
export function parseChatFile(text: string): string[] {
  const words: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^[ \t]+/, "");
    if (line === "" || line.startsWith("#")) continue;
    let i = 0;
    while (i < line.length) {
      while (i < line.length && /[ \t]/.test(line[i])) i++;
      if (i >= line.length) break;
      let w = "";
      const q = line[i];
      if (q === '"' || q === "'") {
        i++;
        while (i < line.length && line[i] !== q) {
          if (line[i] === "\\" && i + 1 < line.length) w += line[i++];
          w += line[i++];
        }
        i++; // closing quote
      } else {
        while (i < line.length && !/[ \t]/.test(line[i])) {
          if (line[i] === "\\" && i + 1 < line.length) w += line[i++];
          w += line[i++];
        }
      }
      words.push(w);
    }
  }
  return words;
}

/**
 * POSIX sh word splitting for one simple command: '...' literal, "..."
 * with \ before $ ` " \ newline, unquoted \x -> x. Returns undefined when
 * the command needs a real shell (| & ; < > ( ) $ ` outside quotes, or $ /
 * backquote inside double quotes).
 */
export function shellSplit(cmd: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  const n = cmd.length;
  for (;;) {
    while (i < n && /\s/.test(cmd[i])) i++;
    if (i >= n) return out;
    let w = "";
    while (i < n && !/\s/.test(cmd[i])) {
      const c = cmd[i];
      if (c === "'") {
        const j = cmd.indexOf("'", i + 1);
        if (j < 0) return undefined;
        w += cmd.slice(i + 1, j);
        i = j + 1;
      } else if (c === '"') {
        i++;
        for (;;) {
          if (i >= n) return undefined;
          const d = cmd[i];
          if (d === '"') {
            i++;
            break;
          }
          if (d === "$" || d === "`") return undefined;
          if (d === "\\" && i + 1 < n && '$`"\\\n'.includes(cmd[i + 1])) {
            if (cmd[i + 1] !== "\n") w += cmd[i + 1];
            i += 2;
            continue;
          }
          w += d;
          i++;
        }
      } else if (c === "\\") {
        if (i + 1 < n && cmd[i + 1] !== "\n") w += cmd[i + 1];
        i += 2;
      } else if ("|&;<>()$`".includes(c)) {
        return undefined;
      } else {
        w += c;
        i++;
      }
    }
    out.push(w);
  }
}

export interface ChatCommand {
  script: string[];
  options: ChatOptions;
  /** -f FILE, when the script came from a file. */
  scriptFile?: string;
  /** -r FILE: where chat would write REPORT lines (the app decides). */
  reportFile?: string;
  /** -s / -V: log to stderr rather than syslog. */
  toStderr: boolean;
}

/**
 * If `connect` runs chat, the chat invocation parsed (so the app can run it
 * in-process); undefined for any other command. Throws an Error for a chat
 * command that chat itself would reject (exit 1), e.g. -f with an unreadable file.
 */
export function parseChatCommand(connect: string, readFile?: (path: string) => string | undefined): ChatCommand | undefined {
  const argv = shellSplit(connect.trim());
  if (!argv || argv.length === 0) return undefined;
  let k = 0;
  if (argv[0] === "exec") k++;
  const prog = argv[k++];
  if (prog === undefined || (prog !== "chat" && !prog.endsWith("/chat"))) return undefined;
  const options: ChatOptions = {};
  let toStderr = false;
  let scriptFile: string | undefined;
  let reportFile: string | undefined;
  for (; k < argv.length; k++) {
    const a = argv[k];
    if (!a.startsWith("-") || a === "-" || a.length < 2) break;
    if (a === "--") {
      k++;
      break;
    }
    for (let j = 1; j < a.length; j++) {
      const f = a[j];
      const takesArg = "tTUrf".includes(f);
      let val: string | undefined;
      if (takesArg) {
        val = a.slice(j + 1) || argv[++k];
        if (val === undefined) throw new Error(`chat: option -${f} needs an argument`);
        j = a.length;
      }
      switch (f) {
        case "v": options.verbose = true; break;
        case "V": options.verbose = true; toStderr = true; break;
        case "s": toStderr = true; break;
        case "S": break;
        case "e": options.echo = true; break;
        case "E": break; // environment substitution: not needed for in-process runs
        case "t": {
          const t = Number(val);
          if (!Number.isInteger(t) || t <= 0) throw new Error(`chat: bad timeout '${val}'`);
          options.timeoutSec = t;
          break;
        }
        case "T": options.phone = val; break;
        case "U": options.phone2 = val; break;
        case "r": reportFile = val; break;
        case "f": scriptFile = val; break;
        default: throw new Error(`chat: unknown option -${f}`);
      }
    }
  }
  let script = argv.slice(k);
  if (scriptFile !== undefined) {
    if (script.length > 0) throw new Error("chat: -f and an inline script cannot both be given");
    const text = readFile?.(scriptFile);
    if (text === undefined) throw new Error(`chat: can't open chat script file ${scriptFile}`);
    script = parseChatFile(text);
  }
  return { script, options, scriptFile, reportFile, toStderr };
}
