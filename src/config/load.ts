/**
 * loadConfig(): pppd-compatible configuration in pppd's reading order,
 * turned into one validated PppConfig (SessionConfig + link/app settings).
 *
 * Order (pppd main.c, options.c, tty.c):
 *   1. <pppDir>/options            (missing is fine)        priority cfgfile
 *   2. ~/.ppprc                    (missing is fine)        priority cfgfile
 *   3. the command line            `file F` / `call NAME` are read where they
 *                                  appear, at the priority of who named them
 *   4. <pppDir>/options.<tty>      after the command line, once the device is
 *                                  known (tty_process_extra_options ->
 *                                  options_for_tty), at cfgfile priority, so it
 *                                  overrides /etc/ppp/options but NOT the
 *                                  command line; it may not change the device.
 * Then pap-secrets / chap-secrets are read from <pppDir>.
 * pppDir is /etc/ppp unless `--ppp-dir DIR` (command line) or env
 * PPPROXY_PPP_DIR says otherwise.
 *
 * Sits in src/config; all file access goes through injected functions.
 */
import { readFileSync, statSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import { defaultSessionConfig, type AuthMethod, type SecretEntry, type SessionConfig } from "../ppp/session-config.js";
import { ConfigError } from "./config-error.js";
import { defaultCcpConfig, parseBsdCompOption, parseDeflateOption, type CcpConfig } from "../ppp/compress/ccp.js";
import { LoginDatabase, type LoginResult } from "./login.js";
import { argCount, findOption, type OptionContext, type OptionSettings, type Role } from "./option-table.js";
import { readSecretsFile } from "./secrets-file.js";
import { tokenizeOptions, whereOf, wordsFromArgs, type Word } from "./words.js";

export interface PppConfig {
  /** Fully filled and validated. */
  session: SessionConfig;
  /** "/dev/ttyS1", "tcp://127.0.0.1:7000", "tcp-listen://127.0.0.1:7000", "stdio"; undefined = none given. */
  device?: string;
  speed?: number;
  lock: boolean;
  crtscts: boolean;
  xonxoff: boolean;
  /** true: ignore the modem control lines (pppd `local`). */
  local: boolean;
  connect?: string;
  disconnect?: string;
  /** pppd `init` script, run before `connect`. */
  init?: string;
  nodetach: boolean;
  updetach: boolean;
  persist: boolean;
  /** Seconds (pppd default 30). */
  holdoff: number;
  /** Failed attempts before giving up, 0 = never (pppd default 10). */
  maxfail: number;
  /** Idle seconds before hang-up, 0 = never. */
  idle: number;
  login: boolean;
  /** With `login`: checks a PAP user/password against /etc/shadow. */
  checkLogin?: (user: string, password: string) => LoginResult;
  logfile?: string;
  /** Not in SessionConfig yet (see report): pppd `remotename`, `lcp-restart` (s), `lcp-max-configure`, `connect-delay` (ms), debug level. */
  remotename?: string;
  lcpRestart?: number;
  lcpMaxConfigure?: number;
  connectDelay?: number;
  debugLevel: number;
  /** The directory /etc/ppp stands for. */
  pppDir: string;
  /** Option files actually read, in order. */
  filesRead: string[];
  /** e.g. "option 'defaultroute' has no meaning for ppproxy (...); ignored". */
  notes: string[];
  /** Secrets-file permission warnings and the like. */
  warnings: string[];
  /** Occurrences of LoadOptions.appOptions, in reading order. */
  appOptions: AppOption[];
}

export interface LoadOptions {
  role: Role;
  /** Replaces /etc/ppp; beaten by --ppp-dir on the command line and by env PPPROXY_PPP_DIR. */
  pppDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Returns text; undefined when the file does not exist; may throw (EACCES) when it exists but cannot be read. */
  readFile?: (path: string) => string | undefined;
  /** Returns st_mode, undefined when missing. */
  statMode?: (path: string) => number | undefined;
  /** Our default `name` (pppd: the host name). */
  hostname?: string;
  /**
   * The app's own options (e.g. "--socks": 1), name -> number of argument
   * words. They may appear anywhere an option may; loadConfig collects them
   * in PppConfig.appOptions instead of rejecting them.
   */
  appOptions?: Readonly<Record<string, number>>;
}

/** One occurrence of an app option, in reading order. */
export interface AppOption {
  name: string;
  args: string[];
  /** "command line" or "file:line". */
  where: string;
}

export const DEFAULT_PPP_DIR = "/etc/ppp";

/** pppd OPRIO_* (options.c): later sources of equal or higher priority win. */
const PRIO_DEFAULT = 0;
const PRIO_CFGFILE = 1;
const PRIO_CMDLINE = 2;

/** Settings that accumulate across every source instead of being priority-ranked (pppd OPT_OR / list options). */
const ACCUMULATING = new Set<keyof OptionSettings>(["asyncmap", "escape", "msDns", "debug"]);

/** Options whose argument is a shell command. */
const SCRIPT_OPTIONS = new Set(["connect", "disconnect", "init"]);
const CHAT_PROGRAM = /^(?:\S*\/)?chat$/;

/** Quote a word for /bin/sh when it needs it. */
function shellQuote(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`;
}

/** Nested `file`/`call` depth limit, against include loops. */
const MAX_INCLUDE_DEPTH = 16;

/**
 * pppd's preference when several methods are allowed: CHAP before PAP, and
 * among CHAP digests pppd 2.4.9's CHAP_DIGEST() order (chap-new.h): MD5,
 * MS-CHAPv2, MS-CHAP.
 */
const AUTH_PREFERENCE: readonly AuthMethod[] = ["chap-md5", "mschapv2", "mschap", "pap"];
/** The option word that asks for each method (for messages). */
const REQUIRE_WORD: Record<AuthMethod, string> = {
  pap: "require-pap", "chap-md5": "require-chap", mschap: "require-mschap", mschapv2: "require-mschap-v2",
};

function defaultReadFile(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw e;
  }
}

function defaultStatMode(path: string): number | undefined {
  try {
    return statSync(path).mode;
  } catch {
    return undefined;
  }
}

/** options.<tty> name for a device, as pppd options_for_tty(): strip through "/dev/", '/' -> '.'. */
export function ttyOptionsName(device: string | undefined): string | undefined {
  if (!device || !device.startsWith("/")) return undefined; // tcp://, stdio: no tty
  const i = device.indexOf("/dev/");
  const dev = i >= 0 ? device.slice(i + 5) : device;
  if (dev === "" || dev === "tty") return undefined;
  return `options.${dev.replace(/\//g, ".")}`;
}

/** Read everything, apply role defaults, validate. Throws ConfigError naming the option and where it was. */
export function loadConfig(args: string[], opts: LoadOptions): PppConfig {
  const env = opts.env ?? process.env;
  const rawRead = opts.readFile ?? defaultReadFile;
  const statMode = opts.statMode ?? defaultStatMode;
  const role = opts.role;
  const notes: string[] = [];
  const warnings: string[] = [];
  const filesRead: string[] = [];
  const appOptions: AppOption[] = [];

  // --ppp-dir must be known before the first file is read.
  let pppDir = opts.pppDir ?? DEFAULT_PPP_DIR;
  if (env.PPPROXY_PPP_DIR) pppDir = env.PPPROXY_PPP_DIR;
  for (let k = 0; k < args.length; k++) {
    if (args[k] === "--ppp-dir") {
      if (k + 1 >= args.length) throw new ConfigError("too few parameters for option '--ppp-dir'", "command line", "--ppp-dir");
      pppDir = args[k + 1];
    }
  }

  /** Read a file; missing -> undefined; unreadable -> warning (optional) or error (required). */
  const readOptional = (path: string, what = "options"): string | undefined => {
    try {
      return rawRead(path);
    } catch (e) {
      warnings.push(`Warning: can't open ${what} file ${path}: ${(e as Error).message}`);
      return undefined;
    }
  };

  const settings: OptionSettings = {};
  const prio = new Map<keyof OptionSettings, number>();
  let curPrio = PRIO_DEFAULT;
  let curWord: Word | undefined;
  let onCommandLine = false;
  let deviceFixed = false;
  let depth = 0;

  const fail = (message: string, w: Word | undefined = curWord): never => {
    throw new ConfigError(message, w ? whereOf(w) : undefined, w?.text);
  };

  const runWords = (words: Word[]): void => {
    let prev: { option: string; arg: string } | undefined;
    for (let k = 0; k < words.length; ) {
      const w = words[k++];
      const appArgs = opts.appOptions && Object.hasOwn(opts.appOptions, w.text) ? opts.appOptions[w.text] : undefined;
      if (appArgs !== undefined) {
        if (k + appArgs > words.length) fail(`too few parameters for option '${w.text}'`, w);
        appOptions.push({ name: w.text, args: words.slice(k, k + appArgs).map((a) => a.text), where: whereOf(w) });
        k += appArgs;
        prev = undefined;
        continue;
      }
      const spec = findOption(w.text);
      if (!spec) {
        // pppd would stop here too; say what probably happened.
        const hint = prev && SCRIPT_OPTIONS.has(prev.option) ? ` (if it belongs to the ${prev.option} command, quote the whole command: ${prev.option} '${prev.arg} ${w.text} ...')` : "";
        fail(`unrecognized option '${w.text}'${hint}`, w);
      }
      const n = argCount(spec!);
      if (k + n > words.length) fail(`too few parameters for option '${w.text}'`, w);
      let arg = n > 0 ? words[k].text : "";
      k += n;
      // Serial Laplink HOWTO compatibility: `connect chat -v -f F` unquoted in a file. pppd rejects
      // '-v'; ppproxy takes the rest of that line as the command, and says so.
      if (SCRIPT_OPTIONS.has(w.text) && w.line > 0 && CHAT_PROGRAM.test(arg)) {
        const argLine = words[k - 1].line;
        const rest: Word[] = [];
        while (k < words.length && words[k].line === argLine && !words[k].startsLine && words[k].text.startsWith("-")) {
          // take the flags and everything after them on the line
          while (k < words.length && words[k].line === argLine && !words[k].startsLine) rest.push(words[k++]);
        }
        if (rest.length > 0) {
          arg = [arg, ...rest.map((r) => shellQuote(r.text))].join(" ");
          addNote(`${whereOf(w)}: took the rest of the line as the ${w.text} command ("${arg}"); pppd would reject it, quote it to be portable`);
        }
      }
      prev = { option: w.text, arg };
      if (!spec!.roles.includes(role)) {
        addNote(`option '${w.text}' has no effect when ppproxy ${role === "dial" ? "dials" : "serves"}; ignored`);
        continue;
      }
      curWord = w;
      spec!.apply(ctx, arg, w.text);
    }
  };

  const readOptionsFile = (path: string, mustExist: boolean): void => {
    if (depth >= MAX_INCLUDE_DEPTH) fail(`too many nested option files (at ${path})`);
    let text: string | undefined;
    if (mustExist) {
      try {
        text = rawRead(path);
      } catch (e) {
        fail(`Can't open options file ${path}: ${(e as Error).message}`);
      }
      if (text === undefined) fail(`Can't open options file ${path}: No such file or directory`);
    } else {
      text = readOptional(path);
      if (text === undefined) return;
    }
    filesRead.push(path);
    const { words, warnings: tw } = tokenizeOptions(text!, path);
    warnings.push(...tw);
    const saved = { curWord, onCommandLine };
    onCommandLine = false;
    depth++;
    try {
      runWords(words);
    } finally {
      depth--;
      curWord = saved.curWord;
      onCommandLine = saved.onCommandLine;
    }
  };

  const addNote = (text: string): void => {
    if (!notes.includes(text)) notes.push(text);
  };

  const ctx: OptionContext = {
    role,
    set(key, value) {
      if (!ACCUMULATING.has(key) && (prio.get(key) ?? PRIO_DEFAULT) > curPrio) return; // pppd: lower priority does not override
      settings[key] = value;
      prio.set(key, curPrio);
    },
    get: (key) => settings[key],
    note: addNote,
    fail: (message) => fail(message),
    includeFile: (path) => readOptionsFile(path, true),
    callPeer: (name) => readOptionsFile(join(pppDir, "peers", name), true),
    get deviceFixed() {
      return deviceFixed;
    },
    get onCommandLine() {
      return onCommandLine;
    },
  };

  // 1-2: system options, user options.
  curPrio = PRIO_CFGFILE;
  readOptionsFile(join(pppDir, "options"), false);
  if (env.HOME) readOptionsFile(join(env.HOME, ".ppprc"), false);
  // 3: the command line.
  curPrio = PRIO_CMDLINE;
  onCommandLine = true;
  runWords(wordsFromArgs(args));
  onCommandLine = false;
  curWord = undefined;
  // 4: the per-tty file, now that the device is known.
  deviceFixed = true;
  const ttyFile = ttyOptionsName(settings.device);
  if (ttyFile) {
    curPrio = PRIO_CFGFILE;
    readOptionsFile(join(pppDir, ttyFile), false);
  }

  // Secrets.
  const secretOpts = { readFile: (p: string) => readOptional(p, "secrets"), statMode };
  const pap = readSecretsFile(join(pppDir, "pap-secrets"), secretOpts);
  const chap = readSecretsFile(join(pppDir, "chap-secrets"), secretOpts);
  warnings.push(...pap.warnings, ...chap.warnings);

  const config = finish(settings, { role, pppDir, notes, warnings, filesRead, hostname: opts.hostname ?? osHostname(), pap: pap.entries, chap: chap.entries, rawRead });
  config.appOptions = appOptions;
  return config;
}

interface FinishContext {
  role: Role;
  pppDir: string;
  notes: string[];
  warnings: string[];
  filesRead: string[];
  hostname: string;
  pap: SecretEntry[];
  chap: SecretEntry[];
  rawRead: (path: string) => string | undefined;
}

/** pppd have_pap_secret()/have_chap_secret() as authenticator: a line for server = us (or *), client = remotename (or *). */
function hasSecretFor(entries: SecretEntry[], ourName: string, remoteName: string | undefined): boolean {
  return entries.some(
    (e) => (e.server === "*" || e.server === ourName) && (remoteName === undefined || e.client === "*" || e.client === remoteName),
  );
}

/** CCP from `noccp`, `nodeflate`, `deflate R[,T]`, `nobsdcomp` and `bsdcomp R[,T]` (pppd ccp.c). */
function ccpConfig(s: OptionSettings, notes: string[]): CcpConfig {
  if (s.ccp === false) return { enabled: false };
  const ccp = defaultCcpConfig();
  if (s.deflate !== undefined) {
    try {
      const d = parseDeflateOption(s.deflate);
      ccp.deflate = d.deflate;
      if (d.warning) notes.push(d.warning);
    } catch (err) {
      throw new ConfigError(`deflate: ${(err as Error).message}`, undefined, "deflate");
    }
  }
  if (s.bsdcomp !== undefined) {
    try {
      ccp.bsdComp = parseBsdCompOption(s.bsdcomp).bsdComp;
    } catch (err) {
      throw new ConfigError(`bsdcomp: ${(err as Error).message}`, undefined, "bsdcomp");
    }
  }
  return ccp;
}

function finish(s: OptionSettings, f: FinishContext): PppConfig {
  const { role } = f;
  const name = s.name ?? f.hostname;

  // Authentication we require of the peer (pppd auth_check_options()).
  const auth = s.auth ?? role === "serve";
  let requireAuth: AuthMethod[] = [];
  let checkLogin: PppConfig["checkLogin"];
  if (s.login) {
    const db = LoginDatabase.load({ readFile: f.rawRead });
    checkLogin = (user, password) => db.check(user, password);
  }
  if (auth) {
    const have: Record<AuthMethod, boolean> = {
      pap: !!s.login || hasSecretFor(f.pap, name, s.remotename),
      "chap-md5": hasSecretFor(f.chap, name, s.remotename),
      mschap: hasSecretFor(f.chap, name, s.remotename),
      mschapv2: hasSecretFor(f.chap, name, s.remotename),
    };
    const asked: Record<AuthMethod, boolean | undefined> = {
      pap: s.requirePap, "chap-md5": s.requireChap, mschap: s.requireMschap, mschapv2: s.requireMschapV2,
    };
    const explicit = AUTH_PREFERENCE.filter((m) => asked[m]);
    const wanted = explicit.length > 0 ? explicit : AUTH_PREFERENCE;
    for (const m of explicit) {
      if (!have[m]) {
        f.warnings.push(
          `${REQUIRE_WORD[m]}: no suitable secret for ${name} in ${join(f.pppDir, m === "pap" ? "pap-secrets" : "chap-secrets")}; not offered`,
        );
      }
    }
    requireAuth = wanted.filter((m) => have[m]);
    if (requireAuth.length === 0) {
      throw new ConfigError(
        `The remote system is required to authenticate itself but I couldn't find any suitable secret (password) for it to use to do so. ` +
          `Add a line to ${join(f.pppDir, "pap-secrets")} or ${join(f.pppDir, "chap-secrets")}, or use the 'noauth' option.`,
        undefined,
        "auth",
      );
    }
  }
  const refuseAuth: AuthMethod[] = [];
  if (s.refusePap) refuseAuth.push("pap");
  if (s.refuseChap) refuseAuth.push("chap-md5");
  if (s.refuseMschap) refuseAuth.push("mschap");
  if (s.refuseMschapV2) refuseAuth.push("mschapv2");

  // ms-dns: pppd keeps the last two given.
  const dnsAll = s.msDns ?? [];
  if (dnsAll.length > 2) f.notes.push(`ms-dns given ${dnsAll.length} times; the last two are used, as pppd does`);
  const msDns = dnsAll.slice(-2);

  const device = s.device;
  const debugLevel = s.debug ?? 0;
  const session = defaultSessionConfig({
    devname: device ?? "stdio",
    mru: s.mru ?? 1500,
    mtu: s.mtu ?? 1500,
    asyncmap: s.asyncmap ?? 0,
    escape: s.escape ?? [],
    lcpEchoInterval: s.lcpEchoInterval ?? 0,
    lcpEchoFailure: s.lcpEchoFailure ?? 0,
    lcpRestartMs: s.lcpRestart === undefined ? undefined : s.lcpRestart * 1000,
    lcpMaxConfigure: s.lcpMaxConfigure,
    remoteName: s.remotename,
    passive: s.passive ?? false,
    silent: s.silent ?? false,
    pcomp: s.pcomp ?? true,
    accomp: s.accomp ?? true,
    magic: s.magic ?? true,
    requireAuth,
    refuseAuth,
    name,
    // pppd auth_check_options(): `user` defaults to our name.
    user: s.user ?? name,
    papSecrets: f.pap,
    chapSecrets: f.chap,
    password: s.password,
    checkLogin,
    localIp: s.localIp,
    remoteIp: s.remoteIp,
    acceptLocal: s.acceptLocal ?? false,
    acceptRemote: s.acceptRemote ?? false,
    msDns,
    usePeerDns: s.usePeerDns ?? role === "dial",
    // pppd's defaults: VJ on, CCP with Deflate 15 offered.
    vj: s.vj ?? true,
    ccp: ccpConfig(s, f.notes),
    dcc: role === "serve" ? (s.dcc === false ? "off" : "answer") : s.dcc ? "call" : "off",
    debug: debugLevel > 0,
  });
  if (s.mtu !== undefined && s.mru !== undefined && s.mtu > s.mru) {
    // Legal (they are independent directions) but usually a typo; say so.
    f.notes.push(`mtu ${s.mtu} is larger than mru ${s.mru}; each applies to its own direction`);
  }

  return {
    session,
    device,
    speed: s.speed,
    lock: s.lock ?? false,
    crtscts: s.crtscts ?? false,
    xonxoff: s.xonxoff ?? false,
    local: s.local ?? false,
    connect: s.connect,
    disconnect: s.disconnect,
    init: s.init,
    nodetach: s.nodetach ?? false,
    updetach: s.updetach ?? false,
    persist: s.persist ?? false,
    holdoff: s.holdoff ?? 30,
    maxfail: s.maxfail ?? 10,
    idle: s.idle ?? 0,
    login: s.login ?? false,
    checkLogin,
    logfile: s.logfile,
    remotename: s.remotename,
    lcpRestart: s.lcpRestart,
    lcpMaxConfigure: s.lcpMaxConfigure,
    connectDelay: s.connectDelay,
    debugLevel,
    pppDir: f.pppDir,
    filesRead: f.filesRead,
    notes: f.notes,
    warnings: f.warnings,
    appOptions: [],
  };
}
