/**
 * pppd's option-file tokenizer (pppd options.c getword()), over a string.
 *
 * Sits at the bottom of src/config: load.ts and secrets-file.ts feed file
 * text through it and get words tagged with file:line for error messages.
 *
 * Rules, as pppd:
 *  - words are separated by white space; `#` starts a comment to end of line
 *    (only outside quotes and not escaped);
 *  - "double" and 'single' quotes group white space and `#` into a word and
 *    may be mixed within one word (ab"c d"e -> `abc de`);
 *  - backslash escapes work inside and outside quotes: \a \b \f \n \r \s (space)
 *    \t, \ooo (1-3 octal digits), \xhh (1-2 hex digits), backslash-newline is
 *    a line continuation, any other \c is c itself (so \\ -> \, \" -> ").
 */

/** One word with where it came from. */
export interface Word {
  text: string;
  /** File path, or "command line". */
  source: string;
  /** 1-based line of the word's first character; 0 for command-line words. */
  line: number;
  /** True when a newline (or the start of the file) precedes this word: secrets files are line-oriented. */
  startsLine: boolean;
}

export interface TokenizeResult {
  words: Word[];
  /** Non-fatal problems in pppd's words ("quoted word runs to end of file"). */
  warnings: string[];
}

/** pppd MAXWORDLEN: longer words are truncated with a warning. */
export const MAX_WORD_LEN = 1024;

const isSpace = (c: string): boolean => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v";
const isOctal = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "7";
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/** Split option-file text into words, as pppd's getword() does. Never throws. */
export function tokenizeOptions(text: string, source: string): TokenizeResult {
  const words: Word[] = [];
  const warnings: string[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  let first = true;
  const next = (): string | undefined => (i < n ? text[i++] : undefined);

  for (;;) {
    // Skip white space, comments and line continuations before a word.
    let escape = false;
    let comment = false;
    let crossed = first;
    let c: string | undefined;
    for (;;) {
      c = next();
      if (c === undefined) break;
      if (c === "\n") {
        line++;
        if (!escape) {
          crossed = true;
          comment = false;
        } else escape = false;
        continue;
      }
      if (comment) continue;
      if (escape) break;
      if (c === "\\") {
        escape = true;
        continue;
      }
      if (c === "#") {
        comment = true;
        continue;
      }
      if (!isSpace(c)) break;
    }
    if (c === undefined) break;

    const wordLine = line;
    let word = "";
    let quoted: string | undefined;
    let sawQuote = false;
    while (c !== undefined) {
      if (escape) {
        escape = false;
        if (c === "\n") {
          line++; // backslash-newline: continuation, contributes nothing
          c = next();
          continue;
        }
        let value: number;
        let got = false; // true when c already holds the next unread character
        switch (c) {
          case "a": value = 0x07; break;
          case "b": value = 0x08; break;
          case "f": value = 0x0c; break;
          case "n": value = 0x0a; break;
          case "r": value = 0x0d; break;
          case "s": value = 0x20; break;
          case "t": value = 0x09; break;
          default:
            if (isOctal(c)) {
              value = 0;
              for (let k = 0; k < 3 && isOctal(c); k++) {
                value = value * 8 + (c!.charCodeAt(0) - 48);
                c = next();
              }
              got = true;
            } else if (c === "x") {
              value = 0;
              c = next();
              for (let k = 0; k < 2 && isHex(c); k++) {
                value = value * 16 + parseInt(c!, 16);
                c = next();
              }
              got = true;
            } else {
              value = c.charCodeAt(0);
            }
        }
        word += String.fromCharCode(value & 0xff);
        if (!got) c = next();
        continue;
      }
      if (c === "\\") {
        escape = true;
        c = next();
        continue;
      }
      if (quoted !== undefined) {
        if (c === quoted) {
          quoted = undefined;
          c = next();
          continue;
        }
      } else if (c === '"' || c === "'") {
        quoted = c;
        sawQuote = true;
        c = next();
        continue;
      } else if (isSpace(c) || c === "#") {
        i--; // unget: the separator belongs to the next skip loop
        break;
      }
      if (c === "\n") line++;
      word += c;
      c = next();
    }
    if (quoted !== undefined) {
      warnings.push(`${source}:${wordLine}: warning: quoted word runs to end of file (${word.slice(0, 20)}...)`);
    }
    if (word.length === 0 && !sawQuote && c === undefined) break;
    if (word.length >= MAX_WORD_LEN) {
      warnings.push(`${source}:${wordLine}: warning: word too long (${word.slice(0, 20)}...)`);
      word = word.slice(0, MAX_WORD_LEN - 1);
    }
    words.push({ text: word, source, line: wordLine, startsLine: crossed });
    first = false;
  }
  return { words, warnings };
}

/** Command-line arguments as words (already split by the shell). */
export function wordsFromArgs(args: readonly string[], source = "command line"): Word[] {
  return args.map((text, k) => ({ text, source, line: 0, startsLine: k === 0 }));
}

/** "file:line" for file words, the bare source for command-line words. */
export function whereOf(w: Pick<Word, "source" | "line">): string {
  return w.line > 0 ? `${w.source}:${w.line}` : w.source;
}
