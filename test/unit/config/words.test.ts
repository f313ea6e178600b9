/** pppd getword() tokenizer: quotes, escapes, comments, line tracking. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { tokenizeOptions, whereOf, wordsFromArgs } from "../../../src/config/words.js";
import { SeededRng } from "../../../stack/util/rng.js";

const texts = (src: string): string[] => tokenizeOptions(src, "f").words.map((w) => w.text);

test("whitespace-separated words and # comments", () => {
  assert.deepEqual(texts("lock  crtscts\n\tasyncmap 0 # a comment\n# whole line\nms-dns 10.0.0.1\n"), [
    "lock", "crtscts", "asyncmap", "0", "ms-dns", "10.0.0.1",
  ]);
});

test("# inside a word ends it, as pppd", () => {
  assert.deepEqual(texts("abc#def\nx"), ["abc", "x"]);
});

test("double and single quotes group spaces and #; quotes may be mixed in a word", () => {
  assert.deepEqual(texts(`connect "chat -v '' ATZ OK"`), ["connect", "chat -v '' ATZ OK"]);
  assert.deepEqual(texts(`'a # b' "c'd"`), ["a # b", "c'd"]);
  assert.deepEqual(texts(`ab"c d"e`), ["abc de"]);
  assert.deepEqual(texts(`"" x`), ["", "x"]);
});

test("backslash escapes as options.c getword()", () => {
  assert.deepEqual(texts(String.raw`a\\b \"q\" \n\t\s \101\x41\x4a z\ y`), ["a\\b", '"q"', "\n\t ", "AAJ", "z y"]);
  assert.deepEqual(texts(String.raw`"in \"quotes\" \r"`), ['in "quotes" \r']);
  // octal takes at most three digits
  assert.deepEqual(texts(String.raw`\1012`), ["A2"]);
});

test("backslash-newline continues a word or a line", () => {
  assert.deepEqual(texts("ab\\\ncd ef"), ["abcd", "ef"]);
  const r = tokenizeOptions("one \\\ntwo\nthree", "f");
  assert.deepEqual(r.words.map((w) => [w.text, w.line, w.startsLine]), [
    ["one", 1, true], ["two", 2, false], ["three", 3, true],
  ]);
});

test("file:line of each word, and newline tracking for secrets files", () => {
  const r = tokenizeOptions("# c\n\nauth\nlock \"multi\nline\" next\n", "/etc/ppp/options");
  assert.deepEqual(r.words.map((w) => whereOf(w)), ["/etc/ppp/options:3", "/etc/ppp/options:4", "/etc/ppp/options:4", "/etc/ppp/options:5"]);
  assert.equal(r.words[2].text, "multi\nline");
  assert.deepEqual(r.words.map((w) => w.startsLine), [true, true, false, false]);
});

test("an unterminated quote is a warning, not an exception", () => {
  const r = tokenizeOptions('name "zaphod', "f");
  assert.deepEqual(r.words.map((w) => w.text), ["name", "zaphod"]);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0], /^f:1: warning: quoted word runs to end of file/);
});

test("command-line words are located as 'command line'", () => {
  const w = wordsFromArgs(["/dev/ttyS1", "115200"]);
  assert.equal(whereOf(w[0]), "command line");
  assert.equal(w[1].text, "115200");
});

test("seeded round trip: any words, quoted and escaped, tokenize back to themselves; random bytes never throw", () => {
  const seed = 0x5eed1234;
  const rng = new SeededRng(seed);
  const alphabet = 'ab #"\'\\\t\nxyz09-:/';
  for (let round = 0; round < 200; round++) {
    const words: string[] = [];
    const n = 1 + rng.below(6);
    for (let i = 0; i < n; i++) {
      let w = "";
      const len = rng.below(8);
      for (let j = 0; j < len; j++) w += alphabet[rng.below(alphabet.length)];
      words.push(w);
    }
    // Quote every word: inside "..." only \ and " need escaping; \n stays literal inside quotes.
    const seps = [" ", "\t", "\n", "  # comment\n", " \\\n "];
    const text = words.map((w) => `"${w.replace(/[\\"]/g, (c) => "\\" + c)}"`).map((q, i) => (i ? seps[rng.below(seps.length)] : "") + q).join("");
    const got = tokenizeOptions(text, "f").words.map((w) => w.text);
    assert.deepEqual(got, words, `seed=${seed} round=${round} text=${JSON.stringify(text)}`);
  }
  for (let round = 0; round < 200; round++) {
    let junk = "";
    for (let j = rng.below(40); j > 0; j--) junk += String.fromCharCode(rng.below(256));
    assert.doesNotThrow(() => tokenizeOptions(junk, "f"), `seed=${seed} round=${round}`);
  }
});
