/** The sans-I/O chat(8) engine on a ManualClock: expect/send, ABORT, TIMEOUT, sub-expects, escapes, connect parsing. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../../../stack/util/time.js";
import { SeededRng } from "../../../stack/util/rng.js";
import { CHAT_EXIT, ChatScript, parseChatCommand, parseChatFile, shellSplit, type ChatEvent } from "../../../src/link/chat.js";

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const dec = (b: Uint8Array): string => String.fromCharCode(...b);

/** Drives a ChatScript: collects what it sent and every event. */
class Harness {
  readonly clock = new ManualClock(1000);
  sent = "";
  events: ChatEvent[] = [];
  constructor(readonly chat: ChatScript) {
    chat.start(this.clock.now());
    this.drain();
  }
  drain(): void {
    for (let b; (b = this.chat.pollTransmit()); ) this.sent += dec(b);
    for (let e; (e = this.chat.pollEvent()); ) this.events.push(e);
  }
  input(s: string): void {
    this.chat.handleInput(enc(s), this.clock.now());
    this.drain();
  }
  /** Jump to the chat's next deadline (never sleeps). */
  toDeadline(): void {
    const t = this.chat.pollTimeout();
    assert.ok(t !== undefined, "expected a pending deadline");
    this.clock.set(t);
    this.chat.handleTimeout(this.clock.now());
    this.drain();
  }
  takeSent(): string {
    const s = this.sent;
    this.sent = "";
    return s;
  }
  outcome(): ChatEvent | undefined {
    return this.events.find((e) => e.type === "done" || e.type === "failed");
  }
}

test("'' ATZ OK ATDT123 CONNECT: expect/send pairs, CR added, unread bytes kept for PPP", () => {
  const h = new Harness(new ChatScript(["", "ATZ", "OK", "ATDT123", "CONNECT", "\\c"]));
  assert.equal(h.takeSent(), "ATZ\r");
  h.input("ATZ\r\r\nO");
  assert.equal(h.takeSent(), "", "no send before OK is complete");
  h.input("K\r\n");
  assert.equal(h.takeSent(), "ATDT123\r");
  h.input("\r\nCONNECT 115200\r\n~\xff\x7d");
  assert.equal(h.takeSent(), "", "\\c alone sends nothing");
  assert.deepEqual(h.outcome(), { type: "done", exitCode: 0 });
  assert.equal(dec(h.chat.takeUnread()), " 115200\r\n~\xff\x7d");
  assert.equal(h.chat.pollTimeout(), undefined);
});

test("ABORT: the n-th abort string gives exit 4+n", () => {
  const h = new Harness(new ChatScript(["ABORT", "BUSY", "ABORT", "NO CARRIER", "", "ATDT1", "CONNECT", ""]));
  assert.equal(h.takeSent(), "ATDT1\r");
  h.input("\r\nNO CARR");
  assert.equal(h.outcome(), undefined);
  h.input("IER\r\n");
  assert.deepEqual(h.outcome(), { type: "failed", exitCode: CHAT_EXIT.ABORT_BASE + 1, reason: "aborted on (NO CARRIER)" });
  const h2 = new Harness(new ChatScript(["ABORT", "BUSY", "", "ATDT1", "CONNECT", ""]));
  h2.input("BUSY");
  assert.equal((h2.outcome() as { exitCode: number }).exitCode, 4);
});

test("TIMEOUT: the expect fails with exit 3 exactly at its deadline, not before", () => {
  const h = new Harness(new ChatScript(["TIMEOUT", "5", "", "AT", "OK", ""]));
  assert.equal(h.takeSent(), "AT\r");
  assert.equal(h.chat.pollTimeout(), 1000 + 5000);
  h.clock.set(5999);
  h.chat.handleTimeout(h.clock.now());
  h.drain();
  assert.equal(h.outcome(), undefined, "not yet at 4.999 s");
  h.toDeadline();
  assert.equal((h.outcome() as { exitCode: number }).exitCode, CHAT_EXIT.TIMEOUT);
});

test("default timeout is 45 s, -t overrides it", () => {
  assert.equal(new Harness(new ChatScript(["OK", "x"])).chat.pollTimeout(), 1000 + 45000);
  assert.equal(new Harness(new ChatScript(["OK", "x"], { timeoutSec: 7 })).chat.pollTimeout(), 1000 + 7000);
});

test("sub-expects ogin:--ogin: send an empty line (CR) on timeout and expect again", () => {
  const h = new Harness(new ChatScript(["TIMEOUT", "2", "ogin:--ogin:", "zaphod", "word:", "\\qsecret"], { verbose: true }));
  assert.equal(h.takeSent(), "");
  h.toDeadline(); // first ogin: times out
  assert.equal(h.takeSent(), "\r", "the sub-send '' is a bare CR");
  assert.equal(h.outcome(), undefined);
  h.input("\r\nlogin:");
  assert.equal(h.takeSent(), "zaphod\r");
  h.input(" Password:");
  assert.equal(h.takeSent(), "secret\r");
  assert.deepEqual(h.outcome(), { type: "done", exitCode: 0 });
  const logs = h.events.filter((e) => e.type === "log").map((e) => (e as { text: string }).text);
  assert.ok(logs.includes("alarm"));
  assert.ok(logs.includes("send (??????)"), "\\q hides the secret in logs: " + logs.join(" | "));
  assert.ok(!logs.some((l) => l.includes("secret")));
  assert.ok(logs.includes("expect (ogin:)"));
});

test("sub-expect that times out again fails with exit 3", () => {
  const h = new Harness(new ChatScript(["TIMEOUT", "1", "ogin:-BREAK-ogin:", "x"]));
  h.toDeadline();
  assert.deepEqual(h.events.filter((e) => e.type === "break"), [{ type: "break" }]);
  h.toDeadline();
  assert.equal((h.outcome() as { exitCode: number }).exitCode, 3);
});

test("send escapes: \\c \\r \\n \\N \\s \\t \\\\ \\ddd ^X, \\T phone", () => {
  const h = new Harness(new ChatScript(["", "a\\sb\\tc\\\\d\\N\\101^C\\c", "", "x\\r\\ny", "", "ATDT\\T"], { phone: "5551234" }));
  assert.equal(h.takeSent(), "a b\tc\\d\0A\x03" + "x\r\ny\r" + "ATDT5551234\r");
  assert.deepEqual(h.outcome(), { type: "done", exitCode: 0 });
});

test("\\d delays 1 s and \\p pauses 0.1 s, on the injected clock", () => {
  const h = new Harness(new ChatScript(["", "+++\\dATH\\pZ", "OK", ""]));
  assert.equal(h.takeSent(), "+++");
  assert.equal(h.chat.pollTimeout(), 2000);
  h.toDeadline();
  assert.equal(h.takeSent(), "ATH");
  assert.equal(h.chat.pollTimeout(), 2100);
  h.toDeadline();
  assert.equal(h.takeSent(), "Z\r");
  // the expect's timeout starts once sending is over
  assert.equal(h.chat.pollTimeout(), 2100 + 45000);
  h.input("OK");
  assert.equal(h.takeSent(), "\r");
  assert.deepEqual(h.outcome(), { type: "done", exitCode: 0 });
});

test("SAY, REPORT, ECHO and EOT", () => {
  const h = new Harness(new ChatScript(["SAY", "dialing\\n", "REPORT", "CONNECT", "ECHO", "ON", "", "ATD", "CONNECT", "\\c", "ECHO", "OFF", "\r\n", "EOT"]));
  assert.deepEqual(h.events[0], { type: "say", text: "dialing\n" });
  h.input("CONNECT 9600\r\n");
  const reports = h.events.filter((e) => e.type === "report");
  assert.deepEqual(reports, [{ type: "report", text: "CONNECT 9600" }]);
  assert.equal(h.events.filter((e) => e.type === "echo").map((e) => (e as { text: string }).text).join(""), "CONNECT", "echo only while ECHO ON");
  assert.equal(h.takeSent(), "ATD\r\x04");
  assert.deepEqual(h.outcome(), { type: "done", exitCode: 0 });
});

test("expect escapes and a match split across many chunks", () => {
  const h = new Harness(new ChatScript(["OK\\r\\n", "go"]));
  for (const c of "xxOK\r") h.input(c);
  assert.equal(h.takeSent(), "");
  h.input("\n");
  assert.equal(h.takeSent(), "go\r");
});

test("chat file format and the connect-string parser", () => {
  const file = "# comment\nABORT 'NO CARRIER'\n  '' ATZ\nOK \"ATDT 123\\T\"\nCONNECT ''\n";
  assert.deepEqual(parseChatFile(file), ["ABORT", "NO CARRIER", "", "ATZ", "OK", "ATDT 123\\T", "CONNECT", ""]);

  const c = parseChatCommand(`chat -v "" ATZ OK ATDT123 CONNECT`);
  assert.deepEqual(c?.script, ["", "ATZ", "OK", "ATDT123", "CONNECT"]);
  assert.equal(c?.options.verbose, true);

  const c2 = parseChatCommand("/usr/sbin/chat -vs -t 10 -T 5551234 -f /etc/ppp/chat-isp", (p) => (p === "/etc/ppp/chat-isp" ? file : undefined));
  assert.equal(c2?.scriptFile, "/etc/ppp/chat-isp");
  assert.equal(c2?.options.timeoutSec, 10);
  assert.equal(c2?.options.phone, "5551234");
  assert.equal(c2?.toStderr, true);
  assert.equal(c2?.script[1], "NO CARRIER");

  assert.equal(parseChatCommand("/etc/ppp/my-script"), undefined, "not chat: the app runs it with a shell");
  assert.equal(parseChatCommand("chat '' AT OK | tee log"), undefined, "needs a shell");
  assert.throws(() => parseChatCommand("chat -f /missing"), /can't open chat script file/);
  assert.deepEqual(shellSplit(`a 'b c' "d \\"e\\"" f\\ g ''`), ["a", "b c", 'd "e"', "f g", ""]);
  assert.equal(shellSplit(`echo "$HOME"`), undefined);
});

test("pppd(8)'s chat-isp example runs through -f, with ^U and the ~-^Uppp-~ sub-expect", () => {
  const chatIsp = [
    'ABORT "NO CARRIER"', 'ABORT "NO DIALTONE"', 'ABORT "ERROR"', 'ABORT "NO ANSWER"', 'ABORT "BUSY"',
    'ABORT "Username/Password Incorrect"', '"" "at"', 'OK "at&d0&c1"', 'OK "atdt2468135"', '"name:" "^Umyuserid"',
    '"word:" "\\qmypassword"', '"ispts" "\\q^Uppp"', '"~-^Uppp-~"',
  ].join("\n");
  const cmd = parseChatCommand("/usr/sbin/chat -v -f /etc/ppp/chat-isp", (p) => (p === "/etc/ppp/chat-isp" ? chatIsp : undefined))!;
  const h = new Harness(new ChatScript(cmd.script, cmd.options));
  assert.equal(h.takeSent(), "at\r");
  h.input("at\r\r\nOK\r\n");
  assert.equal(h.takeSent(), "at&d0&c1\r");
  h.input("OK\r\n");
  assert.equal(h.takeSent(), "atdt2468135\r");
  h.input("CONNECT 28800\r\nUser name:");
  assert.equal(h.takeSent(), "\x15myuserid\r");
  h.input("Password:");
  assert.equal(h.takeSent(), "mypassword\r");
  h.input("\r\nispts>");
  assert.equal(h.takeSent(), "\x15ppp\r");
  h.toDeadline(); // no '~' within 45 s: send ^Uppp again
  assert.equal(h.takeSent(), "\x15ppp\r");
  h.input("~\xff\x03");
  assert.deepEqual(h.outcome(), { type: "done", exitCode: 0 });
  assert.equal(dec(h.chat.takeUnread()), "\xff\x03", "the frame after the flag is left for PPP");
});

test("HOWTO winserver.chat: TIMEOUT 10, '' CLIENT\\c sends CLIENT with no CR", () => {
  const cmd = parseChatCommand("chat -v -f /etc/ppp/scripts/winserver.chat", () => "TIMEOUT 10\n'' CLIENT\\c\n")!;
  const h = new Harness(new ChatScript(cmd.script, cmd.options));
  assert.equal(h.takeSent(), "CLIENT");
  assert.deepEqual(h.outcome(), { type: "done", exitCode: 0 });
});

test("seeded: however the modem's answer is chunked, the conversation and leftover bytes are the same", () => {
  const seed = 0xc4a7;
  const rng = new SeededRng(seed);
  const answer = "ATZ\r\r\nOK\r\nATDT123\r\r\nCONNECT 115200\r\n~\xff\x03\xc0\x21";
  for (let round = 0; round < 100; round++) {
    const h = new Harness(new ChatScript(["ABORT", "BUSY", "REPORT", "CONNECT", "", "ATZ", "OK", "ATDT123", "CONNECT", "\\c"]));
    for (let i = 0; i < answer.length; ) {
      const len = 1 + rng.below(6);
      h.input(answer.slice(i, i + len));
      i += len;
    }
    const ctx = `seed=${seed} round=${round}`;
    assert.equal(h.takeSent(), "ATZ\rATDT123\r", ctx);
    assert.deepEqual(h.outcome(), { type: "done", exitCode: 0 }, ctx);
    assert.equal(dec(h.chat.takeUnread()), " 115200\r\n~\xff\x03\xc0\x21", ctx);
  }
});
