/** pap/chap-secrets parsing and SHA-crypt (Drepper's published test vectors). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSecretsText, readSecretsFile, secretFileAccessWarning } from "../../../src/config/secrets-file.js";
import { LoginDatabase, md5Crypt, shaCrypt, verifyCryptHash } from "../../../src/config/login.js";

test("secrets: columns, quotes, *, IP column (rest of line), comments, incomplete lines", () => {
  const text = [
    "# Secrets for authentication using PAP",
    "# client\tserver\tsecret\t\t\tIP addresses",
    "zaphod\t*\tgargleBlaster\t*",
    '"ford prefect" server "a secret # with hash" 192.168.7.2 10.0.0.0/8 -10.1.2.3',
    "onlytwo words",
    "arthur * '' ",
    "trillian * 'x\\'y' # trailing comment",
  ].join("\n");
  const r = parseSecretsText(text, "/etc/ppp/pap-secrets");
  assert.deepEqual(
    r.entries.map((e) => [e.client, e.server, e.secret, e.addresses, e.origin]),
    [
      ["zaphod", "*", "gargleBlaster", ["*"], "/etc/ppp/pap-secrets:3"],
      ["ford prefect", "server", "a secret # with hash", ["192.168.7.2", "10.0.0.0/8", "-10.1.2.3"], "/etc/ppp/pap-secrets:4"],
      ["arthur", "*", "", [], "/etc/ppp/pap-secrets:6"],
      ["trillian", "*", "x'y", [], "/etc/ppp/pap-secrets:7"],
    ],
  );
  assert.deepEqual(r.warnings, []);
});

test("secrets: @/file indirect secret, with its own permission check", () => {
  const files: Record<string, string> = { "/etc/ppp/zaphod.pw": "topsecret\nignored\n" };
  const modes: Record<string, number> = { "/etc/ppp/zaphod.pw": 0o640 };
  const r = parseSecretsText("zaphod * @/etc/ppp/zaphod.pw\nford * @/missing\n", "/etc/ppp/chap-secrets", {
    readFile: (p) => files[p],
    statMode: (p) => modes[p],
  });
  assert.equal(r.entries.length, 1);
  assert.equal(r.entries[0].secret, "topsecret");
  assert.deepEqual(r.warnings, [
    "Warning - secret file /etc/ppp/zaphod.pw has world and/or group access",
    "/etc/ppp/chap-secrets:2: can't open indirect secret file /missing",
  ]);
});

test("secrets: options after -- are reported, not applied", () => {
  const r = parseSecretsText("zaphod * pw 10.0.0.2 -- mru 500\n", "s");
  assert.deepEqual(r.entries[0].addresses, ["10.0.0.2"]);
  assert.match(r.warnings[0], /^s:1: options after '--'/);
});

test("secrets: permission warning for any group/other bit; missing file is empty", () => {
  assert.equal(secretFileAccessWarning("/p", 0o100600), undefined);
  assert.equal(secretFileAccessWarning("/p", 0o100604), "Warning - secret file /p has world and/or group access");
  assert.equal(secretFileAccessWarning("/p", 0o100610), "Warning - secret file /p has world and/or group access");
  assert.deepEqual(readSecretsFile("/none", { readFile: () => undefined }), { entries: [], warnings: [] });
});

// Ulrich Drepper, "Unix crypt using SHA-256 and SHA-512", test vectors (the cheap ones; 77777/123456 rounds skipped for CI time).
const SHA256_VECTORS: [string, string, string][] = [
  ["$5$saltstring", "Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"],
  ["$5$rounds=10000$saltstringsaltstring", "Hello world!", "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"],
  ["$5$rounds=5000$toolongsaltstring", "This is just a test", "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"],
  [
    "$5$rounds=1400$anotherlongsaltstring",
    "a very much longer text to encrypt.  This one even stretches over morethan one line.",
    "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1",
  ],
  ["$5$rounds=10$roundstoolow", "the minimum number is still observed", "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC"],
];
const SHA512_VECTORS: [string, string, string][] = [
  ["$6$saltstring", "Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"],
  [
    "$6$rounds=10000$saltstringsaltstring",
    "Hello world!",
    "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
  ],
  [
    "$6$rounds=5000$toolongsaltstring",
    "This is just a test",
    "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0",
  ],
  [
    "$6$rounds=1400$anotherlongsaltstring",
    "a very much longer text to encrypt.  This one even stretches over morethan one line.",
    "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1",
  ],
  [
    "$6$rounds=10$roundstoolow",
    "the minimum number is still observed",
    "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.",
  ],
];

test("SHA-crypt $5$ (SHA-256) test vectors", () => {
  for (const [setting, key, want] of SHA256_VECTORS) assert.equal(shaCrypt(key, setting), want, setting);
});

test("SHA-crypt $6$ (SHA-512) test vectors", () => {
  for (const [setting, key, want] of SHA512_VECTORS) assert.equal(shaCrypt(key, setting), want, setting);
});

test("verifyCryptHash: match, mismatch, locked, unsupported scheme", () => {
  const h = SHA512_VECTORS[0][2];
  assert.deepEqual(verifyCryptHash("Hello world!", h), { ok: true });
  assert.deepEqual(verifyCryptHash("Hello world?", h), { ok: false, reason: "wrong password" });
  assert.deepEqual(verifyCryptHash("Hello world!", "!" + h), { ok: false, reason: "account is locked" });
  assert.deepEqual(verifyCryptHash("x", "*"), { ok: false, reason: "account is locked" });
  assert.deepEqual(verifyCryptHash("x", ""), { ok: false, reason: "account has no usable password" });
  assert.match((verifyCryptHash("x", "$y$j9T$abc$def") as { reason: string }).reason, /yescrypt\) is not supported/);
  assert.equal(shaCrypt("x", "$1$abc$"), undefined);
  assert.equal(md5Crypt("x", "$5$abc$"), undefined);
});

test("LoginDatabase: /etc/passwd hash used when its field is not 'x'; shadow overrides", () => {
  const db = LoginDatabase.load({
    readFile: (p) =>
      p === "/etc/shadow"
        ? `zaphod:${SHA256_VECTORS[0][2]}:1::::::\n`
        : `old:${SHA256_VECTORS[0][2]}:1:1::/:/bin/sh\nzaphod:x:2:2::/:/bin/sh\n`,
  });
  assert.deepEqual(db.check("zaphod", "Hello world!"), { ok: true });
  assert.deepEqual(db.check("old", "Hello world!"), { ok: true });
  assert.deepEqual(db.check("nobody", "x"), { ok: false, reason: "no such user nobody" });
  assert.throws(() => LoginDatabase.load({ readFile: () => undefined }), /'login' option needs read access to \/etc\/shadow/);
});

test("MD5-crypt $1$: FreeBSD's libcrypt test vector, and via verifyCryptHash", () => {
  // FreeBSD lib/libcrypt/tests/crypt_tests.c: crypt("0.s0.l33t", "$1$deadbeef$...")
  assert.equal(md5Crypt("0.s0.l33t", "$1$deadbeef$"), "$1$deadbeef$0Huu6KHrKLVWfqa4WljDE0");
  assert.deepEqual(verifyCryptHash("0.s0.l33t", "$1$deadbeef$0Huu6KHrKLVWfqa4WljDE0"), { ok: true });
  assert.deepEqual(verifyCryptHash("0.s0.l33T", "$1$deadbeef$0Huu6KHrKLVWfqa4WljDE0"), { ok: false, reason: "wrong password" });
});
