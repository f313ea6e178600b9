/**
 * The ONE table of pppd-compatible options ppproxy understands.
 *
 * Every option is declared once here: its name (or, for pppd's "wild"
 * options like the device, the speed and `local:remote`, a matcher), how
 * many argument words it takes and of what kind, the role(s) it is meant
 * for, how it applies to the settings being built, and its help text.
 * load.ts walks words through `findOption()`; `--help` output derives from
 * `optionHelp()`. Options that only steer a kernel (routes, proxy ARP,
 * interface units) are accepted, because pppd users have them in their
 * files, and leave a note saying they mean nothing to a userspace proxy.
 *
 * Sits in src/config; imports only stack/util and the session's types.
 */
import { parseIp4, type Ip4 } from "../../stack/util/addr.js";

export type Role = "dial" | "serve";

/** What follows the option word: nothing, or one word parsed as this kind. */
export type ArgKind = "none" | "string" | "int" | "hex" | "ip" | "file" | "name" | "script" | "list";

/**
 * Everything the options can set, before role defaults and validation
 * (load.ts turns it into PppConfig). `undefined` = not given anywhere.
 */
export interface OptionSettings {
  device?: string;
  speed?: number;
  localIp?: Ip4;
  remoteIp?: Ip4;
  lock?: boolean;
  crtscts?: boolean;
  xonxoff?: boolean;
  local?: boolean;
  auth?: boolean;
  requirePap?: boolean;
  requireChap?: boolean;
  requireMschap?: boolean;
  requireMschapV2?: boolean;
  refusePap?: boolean;
  refuseChap?: boolean;
  refuseMschapV2?: boolean;
  refuseMschap?: boolean;
  refuseEap?: boolean;
  user?: string;
  password?: string;
  name?: string;
  remotename?: string;
  /** OR of every `asyncmap` given (pppd OPT_OR), not priority-ranked. */
  asyncmap?: number;
  /** Union of every `escape` list. */
  escape?: number[];
  passive?: boolean;
  silent?: boolean;
  nodetach?: boolean;
  updetach?: boolean;
  persist?: boolean;
  holdoff?: number;
  maxfail?: number;
  /** Every `ms-dns` in order; pppd keeps the last two. */
  msDns?: Ip4[];
  usePeerDns?: boolean;
  mru?: number;
  mtu?: number;
  lcpEchoInterval?: number;
  lcpEchoFailure?: number;
  lcpRestart?: number;
  lcpMaxConfigure?: number;
  connect?: string;
  disconnect?: string;
  init?: string;
  connectDelay?: number;
  /** pppd `debug` is a level: each occurrence adds one. */
  debug?: number;
  noipdefault?: boolean;
  acceptLocal?: boolean;
  acceptRemote?: boolean;
  pcomp?: boolean;
  accomp?: boolean;
  magic?: boolean;
  vj?: boolean;
  /** false: `noccp`. */
  ccp?: boolean;
  /** pppd `deflate R[,T]`; "0" for `nodeflate`. */
  deflate?: string;
  /** pppd `bsdcomp R[,T]`; "0" for `nobsdcomp`. */
  bsdcomp?: string;
  login?: boolean;
  dcc?: boolean;
  logfile?: string;
  idle?: number;
}

/** What an option may do while it is applied; implemented by load.ts. */
export interface OptionContext {
  readonly role: Role;
  /**
   * Set a scalar at the current source's priority (pppd OPRIO_CFGFILE <
   * OPRIO_CMDLINE): a value set on the command line is not overridden by a
   * later, lower-priority file such as options.ttyS1.
   */
  set<K extends keyof OptionSettings>(key: K, value: OptionSettings[K]): void;
  get<K extends keyof OptionSettings>(key: K): OptionSettings[K];
  /** Record an informational note ("option 'defaultroute' has no meaning ..."). */
  note(text: string): void;
  /** Throw a ConfigError located at the current option word. */
  fail(message: string): never;
  /** `file F`: read options from F now (must exist). */
  includeFile(path: string): void;
  /** `call NAME`: read <pppDir>/peers/NAME now (must exist). */
  callPeer(name: string): void;
  /** True once the command line has been read: the device may no longer change (pppd devnam_fixed). */
  readonly deviceFixed: boolean;
  /** True while reading the command line itself. */
  readonly onCommandLine: boolean;
}

export interface OptionSpec {
  /** The option word, or "<device>" / "<speed>" / "<local>:<remote>" for wild options. */
  name: string;
  /** pppd o_wild: a word that is not any option name but looks like this is this option. */
  match?: (word: string) => boolean;
  arg: ArgKind;
  roles: readonly Role[];
  help: string;
  /** Applies the option; `arg` is its argument word ("" for arg "none"), `word` the option word itself. */
  apply(ctx: OptionContext, arg: string, word: string): void;
}

const BOTH: readonly Role[] = ["dial", "serve"];

/** pppd int_option(): strtoul base 0 (decimal, 0x hex, 0 octal); the whole word must be a number. */
export function parseIntArg(ctx: OptionContext, arg: string, name: string, min = 0, max = 0x7fffffff): number {
  const t = arg.trim();
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) v = parseInt(t.slice(2), 16);
  else if (/^0[0-7]+$/.test(t)) v = parseInt(t, 8);
  else if (/^[0-9]+$/.test(t)) v = parseInt(t, 10);
  else return ctx.fail(`invalid numeric parameter '${arg}' for ${name} option`);
  if (v < min || v > max) {
    return ctx.fail(max === 0x7fffffff ? `${name} value must be >= ${min}` : `${name} value must be between ${min} and ${max}`);
  }
  return v;
}

/** pppd number_option(..., 16): hex, with or without 0x. */
function parseHexArg(ctx: OptionContext, arg: string, name: string): number {
  const t = arg.trim().replace(/^0[xX]/, "");
  if (!/^[0-9a-fA-F]{1,8}$/.test(t)) return ctx.fail(`invalid numeric parameter '${arg}' for ${name} option`);
  return parseInt(t, 16) >>> 0;
}

function parseIpArg(ctx: OptionContext, arg: string, what: string): Ip4 {
  const a = parseIp4(arg);
  if (a === undefined) return ctx.fail(`invalid ${what} '${arg}' (ppproxy needs a dotted-quad IPv4 address here; it does not resolve host names)`);
  return a;
}

// ---- table builders -------------------------------------------------------

type BoolKey = { [K in keyof OptionSettings]-?: OptionSettings[K] extends boolean | undefined ? K : never }[keyof OptionSettings];
type IntKey = { [K in keyof OptionSettings]-?: OptionSettings[K] extends number | undefined ? K : never }[keyof OptionSettings];
type StrKey = { [K in keyof OptionSettings]-?: OptionSettings[K] extends string | undefined ? K : never }[keyof OptionSettings];

function flag(name: string, key: BoolKey, value: boolean, help: string, roles: readonly Role[] = BOTH): OptionSpec {
  return { name, arg: "none", roles, help, apply: (ctx) => ctx.set(key, value) };
}
function intOpt(name: string, key: IntKey, help: string, min = 0, max = 0x7fffffff): OptionSpec {
  return { name, arg: "int", roles: BOTH, help, apply: (ctx, arg) => ctx.set(key, parseIntArg(ctx, arg, name, min, max)) };
}
function strOpt(name: string, key: StrKey, help: string, arg: ArgKind = "string"): OptionSpec {
  return { name, arg, roles: BOTH, help, apply: (ctx, a) => ctx.set(key, a) };
}
/** Accepted for compatibility; leaves `note` (if any) in PppConfig.notes. */
function accepted(name: string, arg: ArgKind, help: string, note?: string): OptionSpec {
  return { name, arg, roles: BOTH, help, apply: (ctx) => { if (note) ctx.note(`option '${name}' ${note}`); } };
}
const KERNEL = "has no meaning for ppproxy (no kernel interface or routes); ignored";
const NOT_IMPL = "is accepted but not implemented by ppproxy; ignored";

// ---- wild options ---------------------------------------------------------

const TCP_RE = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):(\d{1,5})$/;
const TCP_LISTEN_RE = /^tcp-listen:\/\/(?:(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):)?(\d{1,5})$/;

export function isDeviceWord(word: string): boolean {
  return (
    word.startsWith("/") ||
    /^tty[A-Za-z0-9._-]+$/.test(word) ||
    word.startsWith("tcp://") ||
    word.startsWith("tcp-listen://") ||
    word === "-" ||
    word === "stdio"
  );
}

/** Canonical device name: "ttyS1" -> "/dev/ttyS1", "-" -> "stdio"; tcp forms validated. */
function canonicalDevice(ctx: OptionContext, word: string): string {
  if (word === "-" || word === "stdio") return "stdio";
  if (word.startsWith("tty")) return `/dev/${word}`;
  if (word.startsWith("tcp://")) {
    const m = TCP_RE.exec(word);
    if (!m || !validPort(m[2])) ctx.fail(`invalid device '${word}': expected tcp://HOST:PORT with PORT 1-65535`);
    return word;
  }
  if (word.startsWith("tcp-listen://")) {
    const m = TCP_LISTEN_RE.exec(word);
    if (!m || !validPort(m[2])) ctx.fail(`invalid device '${word}': expected tcp-listen://[HOST:]PORT with PORT 1-65535`);
    return word;
  }
  return word;
}
const validPort = (p: string): boolean => Number(p) >= 1 && Number(p) <= 65535;

const wildOptions: OptionSpec[] = [
  {
    name: "<device>",
    match: isDeviceWord,
    arg: "none",
    roles: BOTH,
    help: "Serial device (/dev/ttyS1, ttyS1), tcp://HOST:PORT, tcp-listen://[HOST:]PORT, or - / stdio",
    apply(ctx, _arg, word) {
      const dev = canonicalDevice(ctx, word);
      if (ctx.deviceFixed) ctx.fail(`the device name may not be changed here ('${word}'); name the device on the command line`);
      ctx.set("device", dev);
    },
  },
  {
    name: "<speed>",
    match: (w) => /^[0-9]+$/.test(w),
    arg: "none",
    roles: BOTH,
    help: "Serial line speed in bits per second (115200)",
    apply(ctx, _arg, word) {
      const v = Number(word);
      if (!Number.isSafeInteger(v) || v <= 0) ctx.fail(`invalid speed '${word}'`);
      ctx.set("speed", v);
    },
  },
  {
    name: "<local>:<remote>",
    match: (w) => /^[^:]*:[^:]*$/.test(w),
    arg: "none",
    roles: BOTH,
    help: "Local and/or remote IP address (192.168.7.1:192.168.7.2); either side may be empty",
    apply(ctx, _arg, word) {
      const [l, r] = word.split(":");
      if (l !== "") ctx.set("localIp", parseIpArg(ctx, l, "local IP address"));
      if (r !== "") ctx.set("remoteIp", parseIpArg(ctx, r, "remote IP address"));
    },
  },
];

// ---- named options --------------------------------------------------------

const namedOptions: OptionSpec[] = [
  // files
  { name: "file", arg: "file", roles: BOTH, help: "Take options from file F", apply: (ctx, a) => ctx.includeFile(a) },
  {
    name: "call",
    arg: "name",
    roles: BOTH,
    help: "Take options from <ppp-dir>/peers/NAME",
    apply(ctx, a) {
      if (a === "" || a.startsWith("/") || a.split("/").includes("..")) ctx.fail("call option value may not contain .. or start with /");
      ctx.callPeer(a);
    },
  },
  {
    name: "--ppp-dir",
    arg: "file",
    roles: BOTH,
    help: "ppproxy: read options, peers/ and secrets from DIR instead of /etc/ppp (also env PPPROXY_PPP_DIR)",
    apply(ctx) {
      // Taken from the command line before any file is read (load.ts); anywhere else it is too late.
      if (!ctx.onCommandLine) ctx.fail("--ppp-dir is only valid on the command line");
    },
  },

  // serial line
  flag("lock", "lock", true, "Create a UUCP-style lock file for the device"),
  flag("nolock", "lock", false, "Don't create a lock file"),
  flag("crtscts", "crtscts", true, "Use hardware (RTS/CTS) flow control"),
  flag("nocrtscts", "crtscts", false, "Disable hardware flow control"),
  flag("-crtscts", "crtscts", false, "Disable hardware flow control"),
  flag("xonxoff", "xonxoff", true, "Use software (XON/XOFF) flow control"),
  flag("local", "local", true, "Ignore the modem control lines (DCD)"),
  flag("modem", "local", false, "Use the modem control lines"),
  strOpt("connect", "connect", "Run this command (or in-process chat script) to set up the line", "script"),
  strOpt("disconnect", "disconnect", "Run this command after the link goes down", "script"),
  strOpt("init", "init", "Run this command to initialise the line before connect", "script"),
  intOpt("connect-delay", "connectDelay", "Wait up to N ms after connect for a valid PPP frame"),

  // authentication
  flag("auth", "auth", true, "Require the peer to authenticate itself"),
  flag("noauth", "auth", false, "Don't require the peer to authenticate itself"),
  {
    name: "require-pap", arg: "none", roles: BOTH, help: "Require the peer to authenticate with PAP",
    apply: (ctx) => { ctx.set("requirePap", true); ctx.set("auth", true); },
  },
  {
    name: "require-chap", arg: "none", roles: BOTH, help: "Require the peer to authenticate with CHAP-MD5",
    apply: (ctx) => { ctx.set("requireChap", true); ctx.set("auth", true); },
  },
  {
    name: "require-mschap-v2", arg: "none", roles: BOTH, help: "Require the peer to authenticate with MS-CHAPv2",
    apply: (ctx) => { ctx.set("requireMschapV2", true); ctx.set("auth", true); },
  },
  {
    name: "require-mschap", arg: "none", roles: BOTH, help: "Require the peer to authenticate with MS-CHAP (version 1)",
    apply: (ctx) => { ctx.set("requireMschap", true); ctx.set("auth", true); },
  },
  {
    name: "require-eap", arg: "none", roles: BOTH, help: "EAP: not implemented",
    apply: (ctx) => ctx.fail("EAP is not implemented by ppproxy; use require-chap or require-pap"),
  },
  flag("refuse-pap", "refusePap", true, "Don't agree to authenticate to the peer with PAP"),
  flag("refuse-chap", "refuseChap", true, "Don't agree to authenticate to the peer with CHAP-MD5"),
  flag("refuse-mschap-v2", "refuseMschapV2", true, "Don't agree to authenticate to the peer with MS-CHAPv2"),
  flag("refuse-mschap", "refuseMschap", true, "Don't agree to authenticate to the peer with MS-CHAP (version 1)"),
  {
    name: "refuse-eap", arg: "none", roles: BOTH, help: "Don't agree to EAP (ppproxy never does)",
    apply: (ctx) => ctx.set("refuseEap", true),
  },
  strOpt("user", "user", "Name to authenticate ourselves to the peer with", "name"),
  strOpt("password", "password", "Secret to authenticate ourselves with, when no secrets-file line matches"),
  strOpt("name", "name", "Our name for authentication (default: the host name)", "name"),
  strOpt("remotename", "remotename", "The peer's name, for choosing secrets", "name"),
  flag("login", "login", true, "Check PAP user/password against the system password database (/etc/shadow)", ["serve"]),
  accepted("hide-password", "none", "Don't log the password (ppproxy never does)"),
  accepted("show-password", "none", "ppproxy never logs passwords", "is ignored: ppproxy never logs passwords"),

  // LCP
  {
    name: "asyncmap", arg: "hex", roles: BOTH, help: "Ask the peer to escape these control characters (hex, repeats OR)",
    apply: (ctx, a) => ctx.set("asyncmap", ((ctx.get("asyncmap") ?? 0) | parseHexArg(ctx, a, "asyncmap")) >>> 0),
  },
  {
    name: "escape", arg: "list", roles: BOTH, help: "Always escape these characters on send (hex list: 11,13,ff)",
    apply(ctx, a) {
      const out = [...(ctx.get("escape") ?? [])];
      for (const part of a.split(",")) {
        const t = part.trim();
        if (!/^(0[xX])?[0-9a-fA-F]{1,2}$/.test(t)) ctx.fail(`invalid escape character '${part}' (hex numbers separated by commas)`);
        const n = parseInt(t.replace(/^0[xX]/, ""), 16);
        // pppd setescape(): 0x20-0x3f and 0x5e cannot be escaped (RFC 1662 §7.1 only defines control characters plus 0x7d/0x7e).
        if ((n >= 0x20 && n <= 0x3f) || n === 0x5e) ctx.fail(`can't escape character 0x${n.toString(16)}`);
        if (!out.includes(n)) out.push(n);
      }
      ctx.set("escape", out);
    },
  },
  /** RFC 1661 §6.1: MRU; pppd MINMRU 128, PPP_MAXMRU 16384. */
  intOpt("mru", "mru", "Our Maximum-Receive-Unit", 128, 16384),
  intOpt("mtu", "mtu", "Cap our Maximum-Transmit-Unit", 128, 16384),
  intOpt("lcp-echo-interval", "lcpEchoInterval", "Send an LCP Echo-Request every N seconds (0 = off)"),
  intOpt("lcp-echo-failure", "lcpEchoFailure", "Hang up after N unanswered LCP Echo-Requests"),
  intOpt("lcp-restart", "lcpRestart", "LCP Restart timer in seconds (RFC 1661 §4.6, default 3)", 1),
  intOpt("lcp-max-configure", "lcpMaxConfigure", "LCP Max-Configure (RFC 1661 §4.6, default 10)", 1),
  flag("passive", "passive", true, "Keep waiting for the peer after Max-Configure"),
  flag("silent", "silent", true, "Send nothing until a valid LCP packet arrives"),
  flag("noaccomp", "accomp", false, "Refuse Address/Control-Field-Compression"),
  flag("nopcomp", "pcomp", false, "Refuse Protocol-Field-Compression"),
  flag("nomagic", "magic", false, "Don't negotiate a Magic-Number"),

  // IPCP
  {
    name: "ms-dns", arg: "ip", roles: BOTH, help: "DNS server to give the peer (repeatable; the last two count)",
    apply: (ctx, a) => ctx.set("msDns", [...(ctx.get("msDns") ?? []), parseIpArg(ctx, a, "ms-dns address")]),
  },
  flag("usepeerdns", "usePeerDns", true, "Ask the peer for DNS server addresses"),
  flag("noipdefault", "noipdefault", true, "Don't guess our local IP address; let the peer assign it"),
  flag("ipcp-accept-local", "acceptLocal", true, "Accept the peer's idea of our local IP address"),
  flag("ipcp-accept-remote", "acceptRemote", true, "Accept the peer's idea of its IP address"),
  flag("novj", "vj", false, "Disable Van Jacobson TCP/IP header compression"),
  accepted("novjccomp", "none", "Disable VJ connection-ID compression"),
  accepted("noipv6", "none", "Disable IPv6CP (ppproxy has none)"),
  accepted("netmask", "ip", "Interface netmask", KERNEL),
  accepted("defaultroute", "none", "Add a default route", KERNEL),
  accepted("nodefaultroute", "none", "Don't add a default route"),
  accepted("proxyarp", "none", "Add a proxy ARP entry", KERNEL),
  accepted("noproxyarp", "none", "Don't add a proxy ARP entry"),
  accepted("noipx", "none", "Disable IPXCP (ppproxy has none)"),
  accepted("ktune", "none", "Tune kernel settings", KERNEL),
  accepted("noktune", "none", "Don't tune kernel settings"),
  accepted("kdebug", "int", "Kernel driver debug level", KERNEL),
  accepted("unit", "int", "Interface unit number", KERNEL),
  accepted("ipparam", "string", "Parameter for ip-up scripts", "is ignored: ppproxy runs no ip-up/ip-down scripts"),

  accepted("replacedefaultroute", "none", "Replace the default route (Debian)", KERNEL),
  accepted("noreplacedefaultroute", "none", "Don't replace the default route (Debian)"),
  accepted("usehostname", "none", "Use the host name as our name", NOT_IMPL),
  accepted("domain", "string", "Append a domain to the host name", NOT_IMPL),
  accepted("linkname", "string", "Name for the pid file /var/run/ppp-NAME.pid", "is ignored: ppproxy writes no pid files"),
  accepted("maxconnect", "int", "Hang up after N seconds", NOT_IMPL),
  accepted("lcp-echo-adaptive", "none", "Skip LCP echoes while data flows", NOT_IMPL),
  accepted("lcp-max-terminate", "int", "LCP Max-Terminate", NOT_IMPL),
  accepted("lcp-max-failure", "int", "LCP Max-Failure", NOT_IMPL),
  accepted("ipcp-restart", "int", "IPCP Restart timer", NOT_IMPL),
  accepted("ipcp-max-configure", "int", "IPCP Max-Configure", NOT_IMPL),
  accepted("ipcp-max-terminate", "int", "IPCP Max-Terminate", NOT_IMPL),
  accepted("ipcp-max-failure", "int", "IPCP Max-Failure", NOT_IMPL),
  accepted("pap-restart", "int", "PAP retransmit timeout", NOT_IMPL),
  accepted("pap-max-authreq", "int", "PAP Max-Authenticate-Request", NOT_IMPL),
  accepted("pap-timeout", "int", "PAP wait timeout", NOT_IMPL),
  accepted("chap-restart", "int", "CHAP retransmit timeout", NOT_IMPL),
  accepted("chap-max-challenge", "int", "CHAP Max-Challenge", NOT_IMPL),
  accepted("chap-interval", "int", "CHAP rechallenge interval", NOT_IMPL),
  accepted("default-asyncmap", "none", "Don't negotiate the async map", NOT_IMPL),
  accepted("default-mru", "none", "Don't negotiate the MRU", NOT_IMPL),
  accepted("receive-all", "none", "Accept all control characters", NOT_IMPL),
  accepted("noendpoint", "none", "Don't send an Endpoint Discriminator"),
  accepted("nomultilink", "none", "Disable multilink (ppproxy has none)"),
  accepted("nomp", "none", "Disable multilink (ppproxy has none)"),
  accepted("+ipv6", "none", "Enable IPv6CP", "asks for IPv6CP, which ppproxy does not implement; ignored"),
  accepted("dump", "none", "Print options in effect", NOT_IMPL),

  // compression (CCP, RFC 1962): Deflate (RFC 1979), BSD-Compress (RFC 1977)
  flag("noccp", "ccp", false, "Disable CCP compression negotiation"),
  { name: "nodeflate", arg: "none", roles: BOTH, help: "Disable Deflate compression", apply: (ctx) => ctx.set("deflate", "0") },
  { name: "nobsdcomp", arg: "none", roles: BOTH, help: "Disable BSD-Compress compression", apply: (ctx) => ctx.set("bsdcomp", "0") },
  strOpt("deflate", "deflate", "Deflate window sizes R[,T] (8..15, 0 = off)"),
  strOpt("bsdcomp", "bsdcomp", "BSD-Compress code sizes R[,T] (9..15, 0 = off; off unless given)"),

  // process and link lifetime
  flag("nodetach", "nodetach", true, "Stay in the foreground"),
  flag("-detach", "nodetach", true, "Stay in the foreground"),
  {
    name: "updetach", arg: "none", roles: BOTH, help: "Go to the background once the link is up",
    apply: (ctx) => { ctx.set("updetach", true); ctx.set("nodetach", false); },
  },
  flag("persist", "persist", true, "Redial / re-listen after the link goes down"),
  flag("nopersist", "persist", false, "Exit when the link goes down"),
  intOpt("holdoff", "holdoff", "Seconds to wait before re-opening the link (persist)"),
  intOpt("maxfail", "maxfail", "Give up after N failed attempts (0 = never)"),
  intOpt("idle", "idle", "Hang up after N seconds without data traffic (0 = never)"),
  accepted("demand", "none", "Dial on demand", "(dial on demand) is not supported by ppproxy; the link is opened at once"),

  // Windows Direct Cable Connection
  flag("dcc", "dcc", true, "Windows DCC: send CLIENT before PPP (dial) / answer CLIENTSERVER", ["dial"]),
  flag("nodcc", "dcc", false, "Don't answer the Windows DCC CLIENT handshake"),

  // logging
  {
    name: "debug", arg: "none", roles: BOTH, help: "Log every packet in pppd's format",
    apply: (ctx) => ctx.set("debug", (ctx.get("debug") ?? 0) + 1),
  },
  {
    name: "-d", arg: "none", roles: BOTH, help: "Same as debug",
    apply: (ctx) => ctx.set("debug", (ctx.get("debug") ?? 0) + 1),
  },
  strOpt("logfile", "logfile", "Append log messages to this file", "file"),
];

/** Every option, named ones first, then the wild ones in pppd's matching order. */
export const OPTION_TABLE: readonly OptionSpec[] = [...namedOptions, ...wildOptions];

const byName = new Map<string, OptionSpec>(namedOptions.map((o) => [o.name, o]));
if (byName.size !== namedOptions.length) throw new Error("option-table: an option is declared twice");

/** pppd find_option(): exact names first, then wild matchers; undefined = unrecognized. */
export function findOption(word: string): OptionSpec | undefined {
  return byName.get(word) ?? wildOptions.find((o) => o.match!(word));
}

/** Words of argument an option consumes (pppd n_arguments()). */
export function argCount(spec: OptionSpec): number {
  return spec.arg === "none" ? 0 : 1;
}

/** `--help` text, one option per line, derived from the table. */
export function optionHelp(role?: Role): string {
  const argName: Record<ArgKind, string> = {
    none: "", string: " S", int: " N", hex: " HEX", ip: " A.B.C.D", file: " FILE", name: " NAME", script: " 'COMMAND'", list: " LIST",
  };
  return OPTION_TABLE.filter((o) => !role || o.roles.includes(role))
    .map((o) => `  ${(o.name + argName[o.arg]).padEnd(28)} ${o.help}`)
    .join("\n");
}
