/**
 * A real browser through the link: headless Chromium loads a small site
 * through the client's SOCKS5 proxy. Every byte of the page and its assets
 * crosses our SOCKS5 server, our TCP/IP stack, PPP over the emulated
 * null-modem at 115200 bps and the server's masquerade, which maps the server address
 * (192.168.7.1) to this host's loopback where the site listens.
 *
 * - The site (generated here, on 127.0.0.1): an HTML page with a stylesheet,
 *   a script that rewrites the DOM with a per-run token, what it sees of
 *   the stylesheet and the image, and a hash of 48 KB of seeded hex it
 *   carries (so one asset spans many segments and is checked byte for
 *   byte), and a PNG made here.
 * - Chromium gets `--proxy-server=socks5://…` and a host-resolver rule that
 *   makes every local lookup fail, so `site.test` can only be reached by
 *   sending the name to the proxy (SOCKS5 ATYP=domain); the name is resolved
 *   at the far end by the masquerade's DNS (an injected lookup).
 * - Checked: `--dump-dom` shows the script ran and saw the stylesheet and a
 *   decoded image; `--screenshot` shows the stylesheet's background, the
 *   image's colours and the script's block; the site's access log has the
 *   page, CSS, JS and image; a tap in front of the proxy (socks-tap.ts) reads
 *   from Chromium's own bytes that it sent names, never addresses; our SOCKS
 *   server logged CONNECTs to the name; the far end's masquerade counted a
 *   DNS query and host connections. A third run without the proxy shows the
 *   site is unreachable any other way.
 *
 * Installs nothing: without /usr/bin/chromium the tests skip and say why
 * (`bash .ci/setup.sh` as root installs it). Run with
 * `node --import tsx --test test/real/chromium.test.ts`; CHROMIUM_TEST_SEED
 * repeats a run's token, CHROMIUM_TEST_KEEP=FILE keeps the screenshot,
 * CHROMIUM_TEST_DEADLINE_MS changes the per-run deadline.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomInt } from "node:crypto";
import type { AddressInfo } from "node:net";
import { SeededRng } from "../../stack/util/rng.js";
import { startRoles, type Roles } from "../unit/app/roles.js";
import { countColour, decodePng, encodePng } from "./png.js";
import { startSocksTap, type SocksTap } from "./socks-tap.js";

const CHROMIUM = "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (bash .ci/setup.sh as root installs the chromium package)`;
if (skip) console.error(`# chromium.test.ts: SKIPPED: ${skip}`);

/** The name the browser asks the proxy for; only the far end's DNS knows it. */
const SITE_NAME = "site.test";
/** The server's address in the HOWTO's layout; the masquerade maps it to this host's loopback. */
const SERVER_ADDR = "192.168.7.1";
/** One browser run (start + load + exit) on a loaded 2-core machine: generous (about 3-6 s here). CHROMIUM_TEST_DEADLINE_MS overrides. */
const CHROMIUM_DEADLINE_MS = Number(process.env.CHROMIUM_TEST_DEADLINE_MS ?? 120_000);
const WINDOW = { width: 800, height: 600 };

/** Colours the screenshot is searched for; chosen to be unlike anything else on the page. */
const BG: [number, number, number] = [32, 96, 160]; // body background from style.css
const IMG_LEFT: [number, number, number] = [255, 0, 255]; // left half of pixel.png
const IMG_RIGHT: [number, number, number] = [0, 255, 128]; // right half of pixel.png
const JS_BLOCK: [number, number, number] = [250, 180, 20]; // block the script inserts
const IMG = { width: 120, height: 80 };

const seed = Number(process.env.CHROMIUM_TEST_SEED ?? randomInt(1, 2 ** 31));
const rng = new SeededRng(seed);
const token = Buffer.from(rng.fill(new Uint8Array(8))).toString("hex");
const tag = `(seed ${seed}, token ${token})`;
/** Seeded bytes the script carries as hex and hashes, so a large asset is checked byte for byte by the browser. */
const PAYLOAD = Buffer.from(rng.fill(new Uint8Array(24 * 1024))).toString("hex");
/** FNV-1a 32-bit over UTF-16 code units, the same loop app.js runs. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16);
}
/** The line speed: the HOWTO's 115200 bps, so the page loads at a real serial line's pace. */
const BAUD = 115_200;

function makeImage(): Buffer {
  const rgb = new Uint8Array(IMG.width * IMG.height * 3);
  for (let y = 0; y < IMG.height; y++) {
    for (let x = 0; x < IMG.width; x++) rgb.set(x < IMG.width / 2 ? IMG_LEFT : IMG_RIGHT, (y * IMG.width + x) * 3);
  }
  return encodePng(IMG.width, IMG.height, rgb);
}

const rgbCss = (c: readonly number[]) => `rgb(${c.join(", ")})`;
const site: Record<string, { type: string; body: Buffer }> = {
  "/": {
    type: "text/html; charset=utf-8",
    body: Buffer.from(`<!doctype html>
<html><head><meta charset="utf-8"><title>over a null-modem</title>
<link rel="stylesheet" href="/style.css">
<script src="/app.js"></script>
</head><body>
<h1>ppproxy</h1>
<p id="status">script did not run</p>
<img id="pic" src="/pixel.png" width="${IMG.width}" height="${IMG.height}" alt="two colours">
</body></html>
`),
  },
  "/style.css": {
    type: "text/css",
    body: Buffer.from(`html, body { margin: 0; background: ${rgbCss(BG)}; color: white; font-family: sans-serif; }
h1 { margin: 8px; }
#pic { display: block; margin: 8px; }
`),
  },
  "/app.js": {
    type: "text/javascript",
    body: Buffer.from(`"use strict";
const payload = "${PAYLOAD}";
let h = 0x811c9dc5;
for (let i = 0; i < payload.length; i++) h = Math.imul(h ^ payload.charCodeAt(i), 0x01000193) >>> 0;
window.addEventListener("load", () => {
  const pic = document.getElementById("pic");
  const bg = getComputedStyle(document.body).backgroundColor;
  document.getElementById("status").textContent =
    "script ran ${token}; background " + bg + "; image " + pic.naturalWidth + "x" + pic.naturalHeight + " complete=" + pic.complete + "; payload " + payload.length + " fnv " + h.toString(16);
  const block = document.createElement("div");
  block.id = "from-script";
  block.style.cssText = "width: 200px; height: 60px; margin: 8px; background: ${rgbCss(JS_BLOCK)};";
  document.body.appendChild(block);
});
`),
  },
  "/pixel.png": { type: "image/png", body: makeImage() },
};

let roles: Roles;
/** Between Chromium and the client's SOCKS5 server: records the requests from Chromium's own bytes. */
let tap: SocksTap;
let web: http.Server;
let webPort = 0;
let dir: string;
const accessLog: string[] = [];
let webConnections = 0;
const children = new Set<ChildProcess>();

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "ppproxy-chromium-"));
  web = http.createServer((req, res) => {
    accessLog.push(`${req.method} ${req.headers.host} ${req.url}`);
    const page = site[(req.url ?? "/").split("?")[0]];
    if (!page) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": page.type, "content-length": page.body.length, "cache-control": "no-store" });
    res.end(page.body);
  });
  web.on("connection", () => webConnections++);
  web.listen(0, "127.0.0.1");
  await once(web, "listening");
  webPort = (web.address() as AddressInfo).port;
  roles = await startRoles({
    baud: BAUD,
    masquerade: {
      lookup: async (name) => {
        if (name === SITE_NAME) return [SERVER_ADDR];
        throw Object.assign(new Error(`${name}: not found`), { code: "ENOTFOUND" });
      },
    },
  });
  await roles.up;
  tap = await startSocksTap(roles.socks);
});

after(async () => {
  for (const child of children) killGroup(child);
  await tap?.close();
  await roles?.stop();
  web?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Chromium forks zygote/renderer/utility helpers; it runs in its own process group (spawned detached, so the
 * group id is its pid) and the whole group goes. After the browser itself exited this takes any helper it left.
 */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // ESRCH: the group is already empty.
  }
}

interface ChromiumRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run headless Chromium once through the proxy with `extra` flags; resolves when it exits or the deadline kills it. */
async function chromium(name: string, extra: string[], url: string, proxy = true): Promise<ChromiumRun> {
  const profile = mkdtempSync(join(dir, `profile-${name}-`));
  const args = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--metrics-recording-only",
    // Even with the flags above this Chromium (156) asks clients2.google.com for the time; this stops that. What it
    // still asks for (update.googleapis.com for an on-demand component, accounts.google.com) goes to the proxy as a
    // name, is refused by the far end's DNS (NXDOMAIN, as a closed network does) and is listed by the first test.
    "--disable-features=NetworkTimeServiceQuerying",
    `--user-data-dir=${profile}`,
    ...(proxy ? [`--proxy-server=socks5://${tap.address}`] : []),
    // No local name resolution at all: a name can only be reached by giving it to the proxy.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    `--window-size=${WINDOW.width},${WINDOW.height}`,
    ...extra,
    url,
  ];
  const started = performance.now();
  const child = spawn(CHROMIUM, args, { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HOME: profile } });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => {
    stderr += `\n[test] deadline of ${CHROMIUM_DEADLINE_MS} ms passed; killing Chromium\n`;
    killGroup(child);
  }, CHROMIUM_DEADLINE_MS);
  const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  // The browser is gone; take any helper it left behind with it.
  killGroup(child);
  children.delete(child);
  return { code, signal, stdout, stderr, ms: Math.round(performance.now() - started) };
}

/** Assertion context: what Chromium said, the site's access log and our logs, for a failure message. */
function explain(run: ChromiumRun): string {
  const ours = roles.logs.filter((l) => /socks|masq|tcp/i.test(l)).slice(-40);
  return [
    tag,
    `chromium exit ${run.code} signal ${run.signal} after ${run.ms} ms`,
    `--- chromium stderr (last 4000 chars) ---\n${run.stderr.slice(-4000)}`,
    `--- site access log ---\n${accessLog.join("\n")}`,
    `--- ppproxy log (socks/masquerade lines, last 40) ---\n${ours.join("\n")}`,
  ].join("\n");
}

/** The server's masquerade counters for its one line, with the two this test reads defaulted to 0. */
function masquerade(): Record<string, number> {
  const m = roles.server.status()[0]?.masquerade ?? {};
  return { "dns.queries": 0, "tcp.connections": 0, ...m };
}
const siteUrl = () => `http://${SITE_NAME}:${webPort}/`;
const socksConnects = () => roles.logs.filter((l) => l.includes(`: CONNECT ${SITE_NAME}:${webPort} via `));

test("headless Chromium loads a page with CSS, JS and an image through SOCKS5 over the link (--dump-dom)", { skip, timeout: CHROMIUM_DEADLINE_MS + 30_000 }, async (t) => {
  t.diagnostic(`seed ${seed}, token ${token}, site ${siteUrl()}, socks ${roles.socks} (tapped at ${tap.address}), line ${BAUD} bps`);
  const mark = { log: accessLog.length, rx: roles.client.lineStats().rxBytes, connects: socksConnects().length, conns: webConnections, tapped: tap.requests().length, masq: masquerade() };
  const run = await chromium("dom", ["--dump-dom"], siteUrl());
  t.diagnostic(`chromium --dump-dom took ${run.ms} ms`);
  const why = explain(run);
  assert.equal(run.code, 0, `Chromium failed\n${why}`);

  // The script ran after the stylesheet applied and the image decoded.
  const status = /<p id="status">([^<]*)<\/p>/.exec(run.stdout)?.[1];
  assert.equal(
    status,
    `script ran ${token}; background ${rgbCss(BG)}; image ${IMG.width}x${IMG.height} complete=true; payload ${PAYLOAD.length} fnv ${fnv1a(PAYLOAD)}`,
    `the DOM Chromium dumped:\n${run.stdout.slice(0, 2000)}\n${why}`,
  );
  assert.match(run.stdout, /<div id="from-script"/, `the script's block is missing\n${why}`);

  // The site saw each asset requested by name, i.e. Chromium reached it as site.test:PORT.
  const requests = accessLog.slice(mark.log);
  for (const path of Object.keys(site)) {
    assert.ok(requests.includes(`GET ${SITE_NAME}:${webPort} ${path}`), `${path} was not requested\n${why}`);
  }

  // Chromium's own bytes: every request it sent the proxy is a CONNECT to a name (RFC 1928 ATYP 3), never an
  // address it resolved itself, and the page's are to site.test. (Chromium's own background requests, which the
  // far end refuses with NXDOMAIN, are listed, not failed.)
  const tapped = tap.requests().slice(mark.tapped).map((r) => `cmd ${r.cmd} atyp ${r.atyp} ${r.host}:${r.port}`);
  const ours = `cmd 1 atyp 3 ${SITE_NAME}:${webPort}`;
  assert.ok(tapped.includes(ours), `the tap saw no ${ours}\n${tapped.join("\n")}\n${why}`);
  assert.deepEqual(tapped.filter((r) => !r.startsWith("cmd 1 atyp 3 ")), [], `Chromium's SOCKS5 requests\n${why}`);
  const others = tapped.filter((r) => r !== ours);
  if (others.length) t.diagnostic(`Chromium's own requests through the proxy: ${others.join(", ")}`);
  assert.equal(tap.unparsed(), 0, `a connection to the proxy did not parse as SOCKS5\n${why}`);

  // Our SOCKS5 server logged CONNECTs to the name; every connection the site accepted follows a request the tap
  // saw (the tap records it before forwarding it, so this holds even for a preconnect Chromium dropped on exit).
  const connects = socksConnects().length - mark.connects;
  const conns = webConnections - mark.conns;
  const asked = tapped.filter((r) => r === ours).length;
  assert.ok(connects >= 1, `no SOCKS5 CONNECT to ${SITE_NAME} in the client's log\n${why}`);
  assert.ok(conns >= 1 && conns <= asked, `the site accepted ${conns} connections; Chromium asked the proxy for ${asked}\n${why}`);
  assert.ok(roles.logs.every((l) => !new RegExp(`CONNECT (127\\.0\\.0\\.1|${SERVER_ADDR.replace(/\./g, "\\.")}):${webPort} `).test(l)), `Chromium resolved the name itself\n${why}`);

  // The far end did the work: its masquerade answered the name and opened host sockets. (Line bytes are only
  // reported: with CCP Deflate on, the line may carry fewer bytes than the site served.)
  const masq = masquerade();
  assert.ok(masq["dns.queries"] - mark.masq["dns.queries"] >= 1, `the far end answered no DNS query\n${JSON.stringify(masq)}\n${why}`);
  assert.ok(masq["tcp.connections"] - mark.masq["tcp.connections"] >= 1, `the masquerade opened no host connection\n${JSON.stringify(masq)}\n${why}`);
  const rx = roles.client.lineStats().rxBytes - mark.rx;
  const served = Object.values(site).reduce((n, p) => n + p.body.length, 0);
  t.diagnostic(`${connects} SOCKS5 CONNECTs to ${SITE_NAME}, ${requests.length} requests, ${served} body bytes served, ${rx} bytes received over the line`);
});

test("headless Chromium's screenshot of the page shows the stylesheet, the image and the script's block", { skip, timeout: CHROMIUM_DEADLINE_MS + 30_000 }, async (t) => {
  const shot = join(dir, "screenshot.png");
  const mark = { log: accessLog.length, connects: socksConnects().length };
  const run = await chromium("shot", [`--screenshot=${shot}`, "--hide-scrollbars"], siteUrl());
  t.diagnostic(`chromium --screenshot took ${run.ms} ms${process.env.CHROMIUM_TEST_KEEP ? `; kept ${process.env.CHROMIUM_TEST_KEEP}` : ""}`);
  const why = explain(run);
  assert.equal(run.code, 0, `Chromium failed\n${why}`);
  assert.ok(existsSync(shot), `no screenshot written\n${why}`);
  const png = readFileSync(shot);
  if (process.env.CHROMIUM_TEST_KEEP) (await import("node:fs")).copyFileSync(shot, process.env.CHROMIUM_TEST_KEEP);
  const img = decodePng(png);
  assert.deepEqual([img.width, img.height], [WINDOW.width, WINDOW.height], why);

  const bg = countColour(img, BG);
  const left = countColour(img, IMG_LEFT, 2);
  const right = countColour(img, IMG_RIGHT, 2);
  const block = countColour(img, JS_BLOCK, 2);
  t.diagnostic(`pixels: background ${bg}, image ${left}+${right}, script block ${block} of ${img.width * img.height}`);
  // The page background fills most of the window; the image and the block are drawn at their full size.
  const area = (IMG.width / 2) * IMG.height;
  assert.ok(bg > (img.width * img.height) / 2, `stylesheet background covers only ${bg} pixels\n${why}`);
  assert.ok(left >= area * 0.9 && left <= area * 1.1, `image left half: ${left} pixels, want about ${area}\n${why}`);
  assert.ok(right >= area * 0.9 && right <= area * 1.1, `image right half: ${right} pixels, want about ${area}\n${why}`);
  assert.ok(block >= 200 * 60 * 0.9 && block <= 200 * 60 * 1.1, `script block: ${block} pixels, want about ${200 * 60}\n${why}`);

  const requests = accessLog.slice(mark.log);
  assert.ok(requests.includes(`GET ${SITE_NAME}:${webPort} /pixel.png`), `the image was not fetched for the screenshot\n${why}`);
  assert.ok(socksConnects().length > mark.connects, `no SOCKS5 CONNECT to ${SITE_NAME} for the screenshot\n${why}`);
});

test("without the proxy, the same Chromium cannot reach the site (the resolver rule leaves the proxy as the only way)", { skip, timeout: CHROMIUM_DEADLINE_MS + 30_000 }, async (t) => {
  const mark = { log: accessLog.length, conns: webConnections, tapped: tap.requests().length };
  const run = await chromium("direct", ["--dump-dom"], siteUrl(), false);
  t.diagnostic(`chromium --dump-dom without a proxy took ${run.ms} ms, exit ${run.code}`);
  const why = explain(run);
  assert.doesNotMatch(run.stdout, new RegExp(`script ran ${token}`), `the page loaded without the proxy\n${why}`);
  assert.equal(accessLog.length, mark.log, `the site was reached without the proxy\n${why}`);
  assert.equal(webConnections, mark.conns, why);
  assert.equal(tap.requests().length, mark.tapped, why);
});
