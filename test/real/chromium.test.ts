/**
 * A real browser through the link: headless Chromium loads a small site
 * through the client's SOCKS5 proxy. Every byte of the page and its assets
 * crosses our SOCKS5 server, our TCP/IP stack, PPP over the emulated
 * null-modem and the server's masquerade, which maps the server address
 * (192.168.7.1) to this host's loopback where the site listens.
 *
 * - The site (generated here, on 127.0.0.1): an HTML page with a stylesheet,
 *   a script that rewrites the DOM with a per-run token and what it sees of
 *   the stylesheet and the image, and a PNG made here.
 * - Chromium gets `--proxy-server=socks5://…` and a host-resolver rule that
 *   makes every local lookup fail, so `site.test` can only be reached by
 *   sending the name to the proxy (SOCKS5 ATYP=domain); the name is resolved
 *   at the far end by the masquerade's DNS (an injected lookup).
 * - Checked: `--dump-dom` shows the script ran and saw the stylesheet and a
 *   decoded image; `--screenshot` shows the stylesheet's background, the
 *   image's colours and the script's block; the site's access log has the
 *   page, CSS, JS and image; the SOCKS server logged CONNECTs to the name;
 *   the line carried at least the bytes the site served.
 *
 * Installs nothing: without /usr/bin/chromium the tests skip and say why
 * (`bash .ci/setup.sh` as root installs it). Run with
 * `node --import tsx --test test/real/chromium.test.ts`; CHROMIUM_TEST_SEED
 * repeats a run's token.
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

const CHROMIUM = "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (bash .ci/setup.sh as root installs the chromium package)`;
if (skip) console.error(`# chromium.test.ts: SKIPPED: ${skip}`);

/** The name the browser asks the proxy for; only the far end's DNS knows it. */
const SITE_NAME = "site.test";
/** The server's address in the HOWTO's layout; the masquerade maps it to this host's loopback. */
const SERVER_ADDR = "192.168.7.1";
/** One browser run (start + load + exit) on a loaded 2-core machine: generous. */
const CHROMIUM_DEADLINE_MS = 120_000;
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
window.addEventListener("load", () => {
  const pic = document.getElementById("pic");
  const bg = getComputedStyle(document.body).backgroundColor;
  document.getElementById("status").textContent =
    "script ran ${token}; background " + bg + "; image " + pic.naturalWidth + "x" + pic.naturalHeight + " complete=" + pic.complete;
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
    masquerade: {
      lookup: async (name) => {
        if (name === SITE_NAME) return [SERVER_ADDR];
        throw Object.assign(new Error(`${name}: not found`), { code: "ENOTFOUND" });
      },
    },
  });
  await roles.up;
});

after(async () => {
  for (const child of children) killGroup(child);
  await roles?.stop();
  web?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Chromium forks zygote/renderer/GPU helpers; it runs in its own process group so all of them go with it. */
function killGroup(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
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
async function chromium(name: string, extra: string[], url: string): Promise<ChromiumRun> {
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
    `--user-data-dir=${profile}`,
    `--proxy-server=socks5://${roles.socks}`,
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

const siteUrl = () => `http://${SITE_NAME}:${webPort}/`;
const socksConnects = () => roles.logs.filter((l) => l.includes(`: CONNECT ${SITE_NAME}:${webPort} via `));

test("headless Chromium loads a page with CSS, JS and an image through SOCKS5 over the link (--dump-dom)", { skip, timeout: CHROMIUM_DEADLINE_MS + 30_000 }, async (t) => {
  t.diagnostic(`seed ${seed}, token ${token}, site ${siteUrl()}, socks ${roles.socks}`);
  const mark = { log: accessLog.length, rx: roles.client.lineStats().rxBytes, connects: socksConnects().length, conns: webConnections };
  const run = await chromium("dom", ["--dump-dom"], siteUrl());
  t.diagnostic(`chromium --dump-dom took ${run.ms} ms`);
  const why = explain(run);
  assert.equal(run.code, 0, `Chromium failed\n${why}`);

  // The script ran after the stylesheet applied and the image decoded.
  const status = /<p id="status">([^<]*)<\/p>/.exec(run.stdout)?.[1];
  assert.equal(
    status,
    `script ran ${token}; background ${rgbCss(BG)}; image ${IMG.width}x${IMG.height} complete=true`,
    `the DOM Chromium dumped:\n${run.stdout.slice(0, 2000)}\n${why}`,
  );
  assert.match(run.stdout, /<div id="from-script"/, `the script's block is missing\n${why}`);

  // The site saw each asset requested by name, i.e. Chromium reached it as site.test:PORT.
  const requests = accessLog.slice(mark.log);
  for (const path of Object.keys(site)) {
    assert.ok(requests.includes(`GET ${SITE_NAME}:${webPort} ${path}`), `${path} was not requested\n${why}`);
  }

  // Every connection the site accepted came through a SOCKS5 CONNECT to the *name* (ATYP=domain).
  const connects = socksConnects().length - mark.connects;
  const conns = webConnections - mark.conns;
  assert.ok(connects >= 1, `no SOCKS5 CONNECT to ${SITE_NAME} in the client's log\n${why}`);
  assert.ok(conns <= connects, `the site accepted ${conns} connections but the proxy made only ${connects}\n${why}`);
  assert.ok(roles.logs.every((l) => !new RegExp(`CONNECT (127\\.0\\.0\\.1|${SERVER_ADDR.replace(/\./g, "\\.")}):${webPort} `).test(l)), `Chromium resolved the name itself\n${why}`);

  // The line carried at least what the site served.
  const served = Object.values(site).reduce((n, p) => n + p.body.length, 0);
  const rx = roles.client.lineStats().rxBytes - mark.rx;
  assert.ok(rx >= served, `the client received ${rx} bytes over the line, the site served ${served}\n${why}`);
  t.diagnostic(`${connects} SOCKS5 CONNECTs to ${SITE_NAME}, ${requests.length} requests, ${rx} bytes received over the line`);
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
