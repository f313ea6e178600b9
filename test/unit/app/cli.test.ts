import { test } from "node:test";
import assert from "node:assert/strict";
import { parseOwn, listenOption, UsageError, type OwnOption } from "../../../src/app/args.js";
import { runPing, type PingOnce } from "../../../src/app/ping-cmd.js";
import { AddressPool } from "../../../src/app/address-pool.js";
import { main } from "../../../src/app/cli.js";
import { formatIp4 } from "../../../stack/util/addr.js";

const OPTS: OwnOption[] = [
  { names: ["--socks"], value: "ADDR:PORT", help: "" },
  { names: ["--forward"], value: "SPEC", repeat: true, help: "" },
  { names: ["-c"], value: "N", help: "" },
];

test("our --options are taken out; pppd words stay in order", () => {
  const p = parseOwn(["/dev/ttyS0", "115200", "--socks", "127.0.0.1:1081", "user", "zaphod", "--forward=2222=192.168.7.1:22", "--forward", "80=h:80", "nodetach"], OPTS);
  assert.deepEqual(p.rest, ["/dev/ttyS0", "115200", "user", "zaphod", "nodetach"]);
  assert.deepEqual(p.own.get("--socks"), ["127.0.0.1:1081"]);
  assert.deepEqual(p.own.get("--forward"), ["2222=192.168.7.1:22", "80=h:80"]);
});

test("--ppp-dir passes through to the pppd loader with its value", () => {
  assert.deepEqual(parseOwn(["--ppp-dir", "/tmp/ppp", "auth"], OPTS).rest, ["--ppp-dir", "/tmp/ppp", "auth"]);
});

test("unknown --options, missing values and repeats are usage errors naming the option", () => {
  assert.throws(() => parseOwn(["--sox"], OPTS), /unknown option '--sox'/);
  assert.throws(() => parseOwn(["--socks"], OPTS), /'--socks' needs a value/);
  assert.throws(() => parseOwn(["--socks", "1", "--socks", "2"], OPTS), UsageError);
});

test("listen addresses: ADDR:PORT, PORT, off", () => {
  const fallback = { host: "127.0.0.1", port: 1080 };
  assert.deepEqual(listenOption(parseOwn(["--socks", "0.0.0.0:9050"], OPTS), "--socks", fallback), { host: "0.0.0.0", port: 9050 });
  assert.deepEqual(listenOption(parseOwn(["--socks", "1081"], OPTS), "--socks", fallback), { host: "127.0.0.1", port: 1081 });
  assert.equal(listenOption(parseOwn(["--socks", "off"], OPTS), "--socks", fallback), null);
  assert.deepEqual(listenOption(parseOwn([], OPTS), "--socks", fallback), fallback);
  assert.throws(() => listenOption(parseOwn(["--socks", "x:99999"], OPTS), "--socks", fallback), /--socks/);
});

test("ping prints ping(8)'s lines and summary; a lost reply counts as loss", async () => {
  const lines: string[] = [];
  const rtts = [12.5, undefined, 30.25];
  const once: PingOnce = async (host, seq) => {
    const rtt = rtts[seq - 1];
    if (rtt === undefined) throw Object.assign(new Error("timed out"), { code: "ETIMEDOUT" });
    return { seq, rtt, ttl: 64, bytes: 64, address: "192.168.7.1" };
  };
  const code = await runPing({ host: "192.168.7.1", count: 3, intervalS: 0, size: 56, timeoutS: 1 }, once, (l) => lines.push(l));
  assert.equal(code, 0);
  assert.equal(lines[0], "PING 192.168.7.1 (192.168.7.1) 56(84) bytes of data.");
  assert.equal(lines[1], "64 bytes from 192.168.7.1: icmp_seq=1 ttl=64 time=12.5 ms");
  assert.equal(lines[2], "64 bytes from 192.168.7.1: icmp_seq=3 ttl=64 time=30.3 ms");
  assert.equal(lines[3], "--- 192.168.7.1 ping statistics ---");
  assert.match(lines[4], /^3 packets transmitted, 2 received, 33% packet loss, time \d+ms$/);
  assert.match(lines[5], /^rtt min\/avg\/max\/mdev = 12\.500\/21\.375\/30\.250\/8\.875 ms$/);
});

test("ping with no reply at all exits 1", async () => {
  const lines: string[] = [];
  const code = await runPing({ host: "h", count: 2, intervalS: 0, size: 56, timeoutS: 1 }, async () => {
    throw Object.assign(new Error("timed out"), { code: "ETIMEDOUT" });
  }, (l) => lines.push(l));
  assert.equal(code, 1);
  assert.match(lines.join("\n"), /2 packets transmitted, 0 received, 100% packet loss/);
});

test("the address pool hands out the lowest free address and takes it back", () => {
  const pool = AddressPool.parse("192.168.7.10-192.168.7.11");
  const a = pool.take()!;
  const b = pool.take()!;
  assert.deepEqual([formatIp4(a), formatIp4(b)], ["192.168.7.10", "192.168.7.11"]);
  assert.equal(pool.take(), undefined);
  pool.give(a);
  assert.equal(formatIp4(pool.take()!), "192.168.7.10");
  assert.throws(() => AddressPool.parse("nonsense"), /--pool/);
});

test("the CLI names a bad pppd option with where it came from, exit 2", async () => {
  const err: string[] = [];
  const code = await main(["dial", "/dev/ttyS9", "bogus-option", "--ppp-dir", "/nonexistent-ppproxy"], { out: () => {}, err: (l) => err.push(l), env: {} });
  assert.equal(code, 2);
  assert.match(err.join("\n"), /command line.*bogus-option|bogus-option.*command line/);
});

test("the CLI refuses an unknown command and an unknown --option", async () => {
  const err: string[] = [];
  const io = { out: () => {}, err: (l: string) => err.push(l), env: {} };
  assert.equal(await main(["frobnicate"], io), 2);
  assert.equal(await main(["dial", "/dev/ttyS0", "--nope"], io), 2);
  assert.match(err.join("\n"), /unknown command 'frobnicate'/);
  assert.match(err.join("\n"), /unknown option '--nope'/);
});
