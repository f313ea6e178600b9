/** loadConfig(): the Serial Laplink HOWTO files verbatim, pppd's reading order, errors with file:line. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, ttyOptionsName, type LoadOptions } from "../../../src/config/load.js";
import { ConfigError } from "../../../src/config/config-error.js";
import { parseIp4 } from "../../../stack/util/addr.js";

/** An in-memory /etc/ppp: path -> text, and path -> mode. */
function fakeFs(files: Record<string, string>, modes: Record<string, number> = {}): Pick<LoadOptions, "readFile" | "statMode" | "env" | "hostname"> {
  return {
    readFile: (p) => files[p],
    statMode: (p) => (p in files ? (modes[p] ?? 0o600) : undefined),
    env: {},
    hostname: "server",
  };
}

const HOWTO_SERVER = {
  "/etc/ppp/options": "auth\nlock\ncrtscts\nasyncmap 0\nms-dns 10.0.0.1\n",
  "/etc/ppp/options.ttyS1": "192.168.7.1:192.168.7.2\n",
  "/etc/ppp/pap-secrets": "# Secrets for authentication using PAP\n# client\tserver\tsecret\t\t\tIP addresses\nzaphod\t*\tgargleBlaster\t*\n",
};

test("HOWTO server files + `pppd /dev/ttyS1 115200 nodetach` -> expected config", () => {
  const c = loadConfig(["/dev/ttyS1", "115200", "nodetach"], { role: "serve", ...fakeFs(HOWTO_SERVER) });
  assert.equal(c.device, "/dev/ttyS1");
  assert.equal(c.speed, 115200);
  assert.equal(c.lock, true);
  assert.equal(c.crtscts, true);
  assert.equal(c.nodetach, true);
  assert.equal(c.local, false);
  assert.equal(c.session.devname, "/dev/ttyS1");
  assert.equal(c.session.asyncmap, 0);
  assert.deepEqual(c.session.msDns, [parseIp4("10.0.0.1")]);
  assert.equal(c.session.localIp, parseIp4("192.168.7.1"));
  assert.equal(c.session.remoteIp, parseIp4("192.168.7.2"));
  assert.deepEqual(c.session.requireAuth, ["pap"]);
  assert.deepEqual(c.session.papSecrets, [
    { client: "zaphod", server: "*", secret: "gargleBlaster", addresses: ["*"], origin: "/etc/ppp/pap-secrets:3" },
  ]);
  assert.equal(c.session.dcc, "answer");
  assert.equal(c.session.usePeerDns, false);
  assert.deepEqual(c.filesRead, ["/etc/ppp/options", "/etc/ppp/options.ttyS1"]);
  assert.deepEqual(c.warnings, []);
});

test("HOWTO client: options.ttyS0 with `user zaphod`, secrets on the client side", () => {
  const files = {
    "/etc/ppp/options": "lock\ncrtscts\nasyncmap 0\n",
    "/etc/ppp/options.ttyS0": "user zaphod\n",
    "/etc/ppp/pap-secrets": "zaphod\t*\tgargleBlaster\n",
  };
  const c = loadConfig(["/dev/ttyS0", "115200", "nodetach"], { role: "dial", ...fakeFs(files) });
  assert.equal(c.session.user, "zaphod");
  assert.deepEqual(c.session.requireAuth, []); // the caller does not require auth unless `auth`
  assert.equal(c.session.usePeerDns, true);
  assert.equal(c.session.dcc, "off");
  assert.equal(c.session.papSecrets[0].secret, "gargleBlaster");
  assert.deepEqual(c.session.papSecrets[0].addresses, []);
});

test("the secrets-file permission warning, as pppd words it", () => {
  const c = loadConfig(["/dev/ttyS1"], { role: "serve", ...fakeFs(HOWTO_SERVER, { "/etc/ppp/pap-secrets": 0o644 }) });
  assert.deepEqual(c.warnings, ["Warning - secret file /etc/ppp/pap-secrets has world and/or group access"]);
});

test("options.ttyXX is read after the command line but does not override it", () => {
  const files = {
    "/etc/ppp/options": "mru 1000\nmtu 1000\nholdoff 5\n",
    "/etc/ppp/options.ttyS1": "mru 1200\nholdoff 7\n10.0.0.1:10.0.0.2\n",
  };
  const c = loadConfig(["/dev/ttyS1", "noauth", "holdoff", "9", ":10.9.9.9"], { role: "serve", ...fakeFs(files) });
  assert.equal(c.session.mru, 1200, "options.ttyS1 overrides /etc/ppp/options");
  assert.equal(c.session.mtu, 1000);
  assert.equal(c.holdoff, 9, "the command line wins over options.ttyS1");
  assert.equal(c.session.localIp, parseIp4("10.0.0.1"), "local side only set in options.ttyS1");
  assert.equal(c.session.remoteIp, parseIp4("10.9.9.9"), "remote side from the command line wins");
  assert.deepEqual(c.filesRead, ["/etc/ppp/options", "/etc/ppp/options.ttyS1"]);
});

test("asyncmap ORs across every source; ms-dns keeps the last two", () => {
  const files = { "/etc/ppp/options": "asyncmap 200\nms-dns 1.1.1.1\n", "/etc/ppp/options.ttyS1": "asyncmap 0x0a0000\nms-dns 3.3.3.3\n" };
  const c = loadConfig(["ttyS1", "asyncmap", "1", "ms-dns", "2.2.2.2", "noauth"], { role: "serve", ...fakeFs(files) });
  assert.equal(c.device, "/dev/ttyS1");
  assert.equal(c.session.asyncmap, 0x0a0201);
  assert.deepEqual(c.session.msDns, [parseIp4("2.2.2.2"), parseIp4("3.3.3.3")]);
  assert.ok(c.notes.some((n) => /ms-dns given 3 times/.test(n)));
});

test("`file F` is read where it appears; `call NAME` reads <ppp-dir>/peers/NAME", () => {
  const files = {
    "/etc/ppp/options": "mru 600\n",
    "/tmp/extra": "mru 700\nname laplink\n",
    "/etc/ppp/peers/laplink": "/dev/ttyS0\n38400\nmru 800\nuser zaphod\n",
    "/etc/ppp/options.ttyS0": "asyncmap a0000\n",
  };
  const c1 = loadConfig(["file", "/tmp/extra", "mru", "900", "noauth"], { role: "serve", ...fakeFs(files) });
  assert.equal(c1.session.mru, 900);
  assert.equal(c1.session.name, "laplink");
  const c2 = loadConfig(["mru", "900", "file", "/tmp/extra", "noauth"], { role: "serve", ...fakeFs(files) });
  assert.equal(c2.session.mru, 700);
  const c3 = loadConfig(["call", "laplink"], { role: "dial", ...fakeFs(files) });
  assert.equal(c3.device, "/dev/ttyS0");
  assert.equal(c3.speed, 38400);
  assert.equal(c3.session.mru, 800);
  assert.equal(c3.session.user, "zaphod");
  assert.deepEqual(c3.filesRead, ["/etc/ppp/options", "/etc/ppp/peers/laplink", "/etc/ppp/options.ttyS0"], "the device from a peers file selects options.ttyS0");
  assert.equal(c3.session.asyncmap, 0xa0000);
  delete (files as Record<string, string>)["/etc/ppp/options.ttyS0"];
  const c4 = loadConfig(["call", "laplink"], { role: "dial", ...fakeFs(files) });
  assert.deepEqual(c4.filesRead, ["/etc/ppp/options", "/etc/ppp/peers/laplink"], "a missing options.ttyS0 is fine");
});

test("--ppp-dir and PPPROXY_PPP_DIR replace /etc/ppp", () => {
  const files = { "/home/u/ppp/options": "mru 1234\nnoauth\n", "/srv/ppp/options": "mru 555\nnoauth\n" };
  const base = fakeFs(files);
  assert.equal(loadConfig(["--ppp-dir", "/home/u/ppp"], { role: "serve", ...base }).session.mru, 1234);
  assert.equal(loadConfig([], { role: "serve", ...base, env: { PPPROXY_PPP_DIR: "/srv/ppp" } }).session.mru, 555);
  assert.equal(loadConfig(["--ppp-dir", "/home/u/ppp"], { role: "serve", ...base, env: { PPPROXY_PPP_DIR: "/srv/ppp" } }).pppDir, "/home/u/ppp");
  assert.equal(loadConfig([], { role: "serve", ...base, pppDir: "/srv/ppp" }).session.mru, 555);
});

test("devices: tcp://, tcp-listen://, stdio; no options.ttyXX for them", () => {
  const files = { "/etc/ppp/options": "noauth\n" };
  const d = (args: string[]) => loadConfig(args, { role: "serve", ...fakeFs(files) }).device;
  assert.equal(d(["tcp://127.0.0.1:7000"]), "tcp://127.0.0.1:7000");
  assert.equal(d(["tcp-listen://7000"]), "tcp-listen://7000");
  assert.equal(d(["tcp-listen://127.0.0.1:7000"]), "tcp-listen://127.0.0.1:7000");
  assert.equal(d(["-"]), "stdio");
  assert.equal(d(["stdio"]), "stdio");
  assert.equal(ttyOptionsName("/dev/ttyS1"), "options.ttyS1");
  assert.equal(ttyOptionsName("/dev/serial/by-id/x"), "options.serial.by-id.x");
  assert.equal(ttyOptionsName("tcp://127.0.0.1:7000"), undefined);
  assert.throws(() => d(["tcp://127.0.0.1:99999"]), /command line: invalid device 'tcp:\/\/127.0.0.1:99999'/);
});

test("errors name the option, the file and the line", () => {
  const files = { "/etc/ppp/options": "lock\n\nfoo\n", "/etc/ppp/peers/p": "mru\n" };
  assert.throws(
    () => loadConfig([], { role: "serve", ...fakeFs(files) }),
    (e: unknown) => e instanceof ConfigError && e.message === "/etc/ppp/options:3: unrecognized option 'foo'" && e.option === "foo",
  );
  const ok = { "/etc/ppp/options": "noauth\n", "/etc/ppp/peers/p": "lock\nmru\n" };
  assert.throws(() => loadConfig(["bogus"], { role: "serve", ...fakeFs(ok) }), { message: "command line: unrecognized option 'bogus'" });
  assert.throws(() => loadConfig(["call", "p"], { role: "serve", ...fakeFs(ok) }), { message: "/etc/ppp/peers/p:2: too few parameters for option 'mru'" });
  assert.throws(() => loadConfig(["mru", "big"], { role: "serve", ...fakeFs(ok) }), { message: "command line: invalid numeric parameter 'big' for mru option" });
  assert.throws(() => loadConfig(["mru", "20"], { role: "serve", ...fakeFs(ok) }), { message: "command line: mru value must be between 128 and 16384" });
  assert.throws(() => loadConfig(["call", "../x"], { role: "serve", ...fakeFs(ok) }), /call option value may not contain \.\./);
  assert.throws(() => loadConfig(["file", "/nope"], { role: "serve", ...fakeFs(ok) }), /command line: Can't open options file \/nope/);
  assert.throws(() => loadConfig(["escape", "20"], { role: "serve", ...fakeFs(ok) }), /can't escape character 0x20/);
  assert.throws(() => loadConfig(["300.1.1.1:"], { role: "serve", ...fakeFs(ok) }), /invalid local IP address '300.1.1.1'/);
});

test("options.ttyXX may not change the device", () => {
  const files = { "/etc/ppp/options": "noauth\n", "/etc/ppp/options.ttyS1": "/dev/ttyS2\n" };
  assert.throws(() => loadConfig(["/dev/ttyS1"], { role: "serve", ...fakeFs(files) }), /\/etc\/ppp\/options.ttyS1:1: the device name may not be changed/);
});

test("kernel-only options are accepted with a note", () => {
  const files = { "/etc/ppp/options": "noauth\ndefaultroute\nproxyarp\nktune\nnoipx\nnetmask 255.255.255.0\nkdebug 7\nnovj\nnodeflate\nnoccp\nidle 600\ndeflate 15\n" };
  const c = loadConfig([], { role: "serve", ...fakeFs(files) });
  assert.ok(c.notes.includes("option 'defaultroute' has no meaning for ppproxy (no kernel interface or routes); ignored"), c.notes.join("\n"));
  assert.ok(c.notes.some((n) => n.startsWith("option 'kdebug'")));
  assert.ok(!c.notes.some((n) => n.startsWith("option 'noipx'")), "no note for options that ask for what ppproxy does anyway");
  assert.equal(c.idle, 600);
  // Compression options are real now: noccp wins over a later deflate, novj turns VJ off.
  assert.deepEqual(c.session.ccp, { enabled: false });
  assert.equal(c.session.vj, false);
});

test("compression: pppd's defaults (VJ, Deflate 15), nodeflate, deflate R,T, and a bad deflate value named", () => {
  const d = loadConfig(["noauth"], { role: "serve", ...fakeFs({}) });
  assert.equal(d.session.vj, true);
  assert.deepEqual(d.session.ccp?.deflate, { tx: 15, rx: 15 });
  const off = loadConfig(["noauth", "nodeflate"], { role: "serve", ...fakeFs({}) });
  assert.equal(off.session.ccp?.enabled, true);
  assert.equal(off.session.ccp?.deflate, undefined);
  const asym = loadConfig(["noauth", "deflate", "12,15"], { role: "serve", ...fakeFs({}) });
  assert.deepEqual(asym.session.ccp?.deflate, { rx: 12, tx: 15 });
  const eight = loadConfig(["noauth", "deflate", "8"], { role: "serve", ...fakeFs({}) });
  assert.deepEqual(eight.session.ccp?.deflate, { rx: 9, tx: 9 });
  assert.ok(eight.notes.some((n) => /changed to 9/.test(n)));
  assert.throws(() => loadConfig(["noauth", "deflate", "20"], { role: "serve", ...fakeFs({}) }), /deflate/);
});

test("auth: serve requires it unless noauth; CHAP preferred when chap-secrets has a line; require-* explicit", () => {
  const both = {
    "/etc/ppp/pap-secrets": "zaphod * gargleBlaster\n",
    "/etc/ppp/chap-secrets": '"zaphod" server "gargle blaster" 192.168.7.2\n',
  };
  const c = loadConfig([], { role: "serve", ...fakeFs(both) });
  assert.deepEqual(c.session.requireAuth, ["chap-md5", "mschapv2", "mschap", "pap"]);
  assert.deepEqual(c.session.chapSecrets[0].addresses, ["192.168.7.2"]);
  assert.equal(c.session.chapSecrets[0].secret, "gargle blaster");
  assert.deepEqual(loadConfig(["require-pap"], { role: "serve", ...fakeFs(both) }).session.requireAuth, ["pap"]);
  assert.deepEqual(loadConfig(["require-mschap-v2", "require-chap"], { role: "serve", ...fakeFs(both) }).session.requireAuth, ["chap-md5", "mschapv2"]);
  assert.deepEqual(loadConfig(["noauth"], { role: "serve", ...fakeFs(both) }).session.requireAuth, []);
  assert.deepEqual(loadConfig(["auth"], { role: "dial", ...fakeFs(both) }).session.requireAuth, ["chap-md5", "mschapv2", "mschap", "pap"]);
  assert.deepEqual(loadConfig(["refuse-pap", "refuse-chap", "refuse-mschap-v2", "refuse-eap", "refuse-mschap"], { role: "dial", ...fakeFs(both) }).session.refuseAuth, [
    "pap", "chap-md5", "mschap", "mschapv2",
  ]);
  // a chap-secrets line for another server does not count
  const other = { "/etc/ppp/chap-secrets": "zaphod elsewhere x\n" };
  assert.throws(() => loadConfig([], { role: "serve", ...fakeFs(other) }), /couldn't find any suitable secret.*noauth/);
  // require-chap without CHAP secrets: dropped with a warning, PAP still offered if also required
  const papOnly = { "/etc/ppp/pap-secrets": "zaphod * x\n" };
  const c2 = loadConfig(["require-chap", "require-pap"], { role: "serve", ...fakeFs(papOnly) });
  assert.deepEqual(c2.session.requireAuth, ["pap"]);
  assert.ok(c2.warnings.some((w) => w.startsWith("require-chap: no suitable secret")));
});

test("role defaults: dcc, usepeerdns, name, user, misc flags", () => {
  const files = { "/etc/ppp/options": "noauth\n" };
  const s = loadConfig(["nodcc"], { role: "serve", ...fakeFs(files) });
  assert.equal(s.session.dcc, "off");
  const d = loadConfig(["dcc", "name", "me", "password", "pw", "remotename", "them", "local", "xonxoff", "persist", "maxfail", "0", "lcp-echo-interval", "30", "lcp-echo-failure", "4", "lcp-restart", "2", "lcp-max-configure", "20", "debug", "debug", "nopcomp", "noaccomp", "nomagic", "passive", "silent", "noipdefault", "ipcp-accept-local", "ipcp-accept-remote", "connect", "chat -v '' AT OK", "logfile", "/tmp/ppp.log", "escape", "11,13,ff", "updetach"], { role: "dial", ...fakeFs(files) });
  assert.equal(d.session.dcc, "call");
  assert.equal(d.session.name, "me");
  assert.equal(d.session.user, "me", "user defaults to our name, as pppd");
  assert.equal(d.session.password, "pw");
  assert.equal(d.remotename, "them");
  assert.equal(d.local, true);
  assert.equal(d.xonxoff, true);
  assert.equal(d.persist, true);
  assert.equal(d.maxfail, 0);
  assert.equal(d.holdoff, 30);
  assert.equal(d.session.lcpEchoInterval, 30);
  assert.equal(d.session.lcpEchoFailure, 4);
  assert.equal(d.lcpRestart, 2);
  assert.equal(d.lcpMaxConfigure, 20);
  assert.equal(d.debugLevel, 2);
  assert.equal(d.session.debug, true);
  assert.deepEqual([d.session.pcomp, d.session.accomp, d.session.magic, d.session.passive, d.session.silent], [false, false, false, true, true]);
  assert.deepEqual([d.session.acceptLocal, d.session.acceptRemote], [true, true]);
  assert.equal(d.connect, "chat -v '' AT OK");
  assert.equal(d.logfile, "/tmp/ppp.log");
  assert.deepEqual(d.session.escape, [0x11, 0x13, 0xff]);
  assert.equal(d.updetach, true);
  assert.equal(d.nodetach, false);
  // login is a serving option: noted, not applied, when dialing
  const l = loadConfig(["login"], { role: "dial", ...fakeFs(files) });
  assert.equal(l.login, false);
  assert.ok(l.notes.some((n) => n.startsWith("option 'login' has no effect")));
});

test("login: needs a readable /etc/shadow, then checks SHA-crypt hashes", () => {
  const shadow = "root:!:19000:0:99999:7:::\nzaphod:$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5:19000:0:99999:7:::\n";
  const files = { "/etc/ppp/options": "auth\nlogin\n", "/etc/shadow": shadow, "/etc/passwd": "zaphod:x:1000:1000::/home/z:/bin/sh\n" };
  const c = loadConfig([], { role: "serve", ...fakeFs(files) });
  assert.equal(c.login, true);
  assert.deepEqual(c.session.requireAuth, ["pap"], "login makes PAP usable without pap-secrets lines");
  assert.deepEqual(c.checkLogin!("zaphod", "Hello world!"), { ok: true });
  assert.equal(c.checkLogin!("zaphod", "hello world!").ok, false);
  assert.deepEqual(c.checkLogin!("root", "x"), { ok: false, reason: "account is locked" });
  const unreadable: LoadOptions = {
    role: "serve",
    ...fakeFs({ "/etc/ppp/options": "auth\nlogin\n" }),
    readFile: (p) => {
      if (p === "/etc/shadow") throw Object.assign(new Error("permission denied"), { code: "EACCES" });
      return p === "/etc/ppp/options" ? "auth\nlogin\n" : undefined;
    },
  };
  assert.throws(() => loadConfig([], unreadable), (e: unknown) => e instanceof ConfigError && /'login' option needs read access to \/etc\/shadow \(EACCES\)/.test(e.message));
});

// The client side of the Serial Laplink HOWTO v2.1 (tldp.org, section 3), verbatim.
const HOWTO_CLIENT = {
  "/etc/ppp/options": "#/etc/ppp/options\nlock\n  \n",
  "/etc/ppp/options.ttyS0": "#/etc/ppp/options.ttyS0\n115200\ncrtscts\nlocal\nuser zaphod\nnoauth\n  \n",
  "/etc/ppp/pap-secrets":
    "#/etc/ppp/pap-secrets\n# Secrets for authentication using PAP\n# client                 server                  secret                IP addresses\nzaphod                   *                       gargleBlaster\n  \n",
};

test("HOWTO client files verbatim + `/usr/sbin/pppd /dev/ttyS0 nodetach`", () => {
  const c = loadConfig(["/dev/ttyS0", "nodetach"], { role: "dial", ...fakeFs(HOWTO_CLIENT) });
  assert.equal(c.device, "/dev/ttyS0");
  assert.equal(c.speed, 115200);
  assert.equal(c.lock, true);
  assert.equal(c.crtscts, true);
  assert.equal(c.local, true);
  assert.equal(c.nodetach, true);
  assert.equal(c.session.user, "zaphod");
  assert.deepEqual(c.session.requireAuth, []);
  assert.deepEqual(c.session.papSecrets.map((e) => [e.client, e.server, e.secret, e.addresses]), [["zaphod", "*", "gargleBlaster", []]]);
  assert.deepEqual(c.notes, []);
});

test("HOWTO 3.2: the unquoted `connect chat -v -f ...` line works, with a note; quoted works silently", () => {
  const files = { ...HOWTO_CLIENT, "/etc/ppp/options.ttyS0": HOWTO_CLIENT["/etc/ppp/options.ttyS0"] + "connect chat -v -f /etc/ppp/scripts/winserver.chat\n" };
  const c = loadConfig(["/dev/ttyS0", "nodetach"], { role: "dial", ...fakeFs(files) });
  assert.equal(c.connect, "chat -v -f /etc/ppp/scripts/winserver.chat");
  assert.ok(c.notes.some((n) => n.startsWith("/etc/ppp/options.ttyS0:8: took the rest of the line as the connect command")), c.notes.join("\n"));
  const q = { ...HOWTO_CLIENT, "/etc/ppp/options": "lock\nconnect 'chat -v \"\" ATZ OK'\n" };
  const c2 = loadConfig(["/dev/ttyS0"], { role: "dial", ...fakeFs(q) });
  assert.equal(c2.connect, 'chat -v "" ATZ OK');
  assert.deepEqual(c2.notes, []);
  // a non-chat command followed by junk is still an error, with a hint
  const bad = { "/etc/ppp/options": "noauth\nconnect /usr/bin/dialer -x\n" };
  assert.throws(() => loadConfig([], { role: "serve", ...fakeFs(bad) }), /\/etc\/ppp\/options:2: unrecognized option '-x' \(if it belongs to the connect command, quote the whole command/);
});

test("~/.ppprc is read after /etc/ppp/options and before the command line", () => {
  const files = { "/etc/ppp/options": "noauth\nmru 600\nmtu 600\n", "/home/z/.ppprc": "mru 700\nmtu 700\n" };
  const c = loadConfig(["mtu", "800"], { role: "serve", ...fakeFs(files), env: { HOME: "/home/z" } });
  assert.equal(c.session.mru, 700);
  assert.equal(c.session.mtu, 800);
  assert.deepEqual(c.filesRead, ["/etc/ppp/options", "/home/z/.ppprc"]);
});

test("pppd(8) example: `pppd call isp` with a quoted chat connect line", () => {
  const files = {
    "/etc/ppp/options": "auth\n",
    "/etc/ppp/peers/isp": "ttyS0 19200 crtscts\nconnect '/usr/sbin/chat -v -f /etc/ppp/chat-isp'\nnoauth\n",
  };
  const c = loadConfig(["call", "isp"], { role: "dial", ...fakeFs(files) });
  assert.equal(c.device, "/dev/ttyS0");
  assert.equal(c.speed, 19200);
  assert.equal(c.crtscts, true);
  assert.equal(c.connect, "/usr/sbin/chat -v -f /etc/ppp/chat-isp");
  assert.deepEqual(c.session.requireAuth, [], "noauth in the peers file overrides auth in /etc/ppp/options");
});

test("app options are collected, not rejected, wherever they appear", () => {
  const files = { "/etc/ppp/options": "noauth\n--socks 127.0.0.1:1080\n" };
  const c = loadConfig(["/dev/ttyS1", "--http", "127.0.0.1:8080", "--masquerade"], {
    role: "serve",
    ...fakeFs(files),
    appOptions: { "--socks": 1, "--http": 1, "--masquerade": 0 },
  });
  assert.deepEqual(c.appOptions, [
    { name: "--socks", args: ["127.0.0.1:1080"], where: "/etc/ppp/options:2" },
    { name: "--http", args: ["127.0.0.1:8080"], where: "command line" },
    { name: "--masquerade", args: [], where: "command line" },
  ]);
  assert.equal(c.device, "/dev/ttyS1");
  assert.throws(() => loadConfig(["--socks"], { role: "serve", ...fakeFs(files), appOptions: { "--socks": 1 } }), { message: "command line: too few parameters for option '--socks'" });
  assert.throws(() => loadConfig(["--socks", "x"], { role: "serve", ...fakeFs({ "/etc/ppp/options": "noauth\n" }) }), { message: "command line: unrecognized option '--socks'" });
});

test("an unreadable secrets file is a warning, like pppd", () => {
  const c = loadConfig(["noauth"], {
    role: "serve",
    ...fakeFs({}),
    readFile: (p) => {
      if (p === "/etc/ppp/chap-secrets") throw Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
      return undefined;
    },
  });
  assert.deepEqual(c.warnings, ["Warning: can't open secrets file /etc/ppp/chap-secrets: EACCES: permission denied"]);
});

test("--help text derives from the one option table", async () => {
  const { OPTION_TABLE, optionHelp, findOption } = await import("../../../src/config/option-table.js");
  const help = optionHelp();
  for (const o of OPTION_TABLE) assert.ok(help.includes(`  ${o.name}`), o.name);
  assert.match(help, /asyncmap HEX\s+Ask the peer to escape/);
  assert.ok(!optionHelp("dial").includes("  login "), "role filter");
  assert.equal(findOption("115200")?.name, "<speed>");
  assert.equal(findOption("ttyUSB0")?.name, "<device>");
  assert.equal(findOption("10.0.0.1:")?.name, "<local>:<remote>");
  assert.equal(findOption("nonsense"), undefined);
});
