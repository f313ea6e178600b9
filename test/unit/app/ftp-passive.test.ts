/**
 * Passive FTP to the host through the server address, as the HOWTO
 * promises: the control connection's 227 reply is rewritten to the server
 * address, and the data connection to it reaches the host's loopback.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { startPair } from "./harness.js";

/** The smallest FTP server that answers PASV and RETR with a fixed file. */
async function fakeFtp(): Promise<{ port: number; close(): void }> {
  const data = net.createServer((s) => s.end("file over passive FTP\n")).listen(0, "127.0.0.1");
  await once(data, "listening");
  const dp = (data.address() as net.AddressInfo).port;
  const ctl = net.createServer((s) => {
    s.write("220 fake ftp\r\n");
    s.on("data", (d: Buffer) => {
      const cmd = d.toString().trim();
      if (cmd === "PASV") s.write(`227 Entering Passive Mode (127,0,0,1,${dp >> 8},${dp & 0xff}).\r\n`);
      else if (cmd.startsWith("RETR")) s.write("150 here it comes\r\n226 done\r\n");
      else s.write("200 ok\r\n");
    });
  }).listen(0, "127.0.0.1");
  await once(ctl, "listening");
  return { port: (ctl.address() as net.AddressInfo).port, close: () => { ctl.close(); data.close(); } };
}

function lines(sock: net.Socket | import("node:stream").Duplex): () => Promise<string> {
  let buf = "";
  const waiting: Array<(l: string) => void> = [];
  sock.on("data", (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\r\n")) >= 0 && waiting.length) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      waiting.shift()!(line);
    }
  });
  return () => new Promise((resolve) => {
    const i = buf.indexOf("\r\n");
    if (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      resolve(line);
    } else waiting.push(resolve);
  });
}

test("PASV through 192.168.7.1: the reply names the server address and the data connection works", async () => {
  const ftp = await fakeFtp();
  const pair = startPair({ masquerade: { limits: { ftpControlPorts: [ftp.port] } } });
  await pair.clientUp;
  const ctl = pair.client.stack.connect({ host: "192.168.7.1", port: ftp.port });
  const next = lines(ctl);
  assert.match(await next(), /^220 /);
  ctl.write("PASV\r\n");
  const reply = await next();
  const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(reply);
  assert.ok(m, reply);
  assert.equal(m.slice(1, 5).join("."), "192.168.7.1");
  const data = pair.client.stack.connect({ host: "192.168.7.1", port: Number(m[5]) * 256 + Number(m[6]) });
  let file = "";
  data.on("data", (d: Buffer) => (file += d));
  await once(data, "end");
  assert.equal(file, "file over passive FTP\n");
  ctl.destroy();
  await pair.close();
  ftp.close();
});
