import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { Duplex, PassThrough } from "node:stream";
import { TcpForwarder, rejectionFor } from "../../../proxy/masquerade/tcp-forward.js";
import { Policy } from "../../../proxy/masquerade/policy.js";
import { Counters } from "../../../proxy/log.js";
import type { TcpForwardRequest, TcpRejectHow } from "../../../proxy/masquerade/stack-face.js";
import type { LinkSocket } from "../../../proxy/link-net.js";

const SERVER = "192.168.7.1";
const limits = { maxConnections: 4, maxHalfOpen: 2, connectTimeoutMs: 5000, ftpControlPorts: [21] };

/** A peer-side socket: what the peer writes goes to `toHost`, what the host sends arrives on `fromHost`. */
function peerSocket() {
  const toHost = new PassThrough();
  const fromHost = new PassThrough();
  const sock = new Duplex({
    read() {},
    write(chunk, _enc, cb) {
      fromHost.write(chunk, cb);
    },
    final(cb) {
      fromHost.end();
      cb();
    },
  });
  toHost.on("data", (d) => sock.push(d));
  toHost.on("end", () => sock.push(null));
  return { sock: sock as unknown as LinkSocket, toHost, fromHost };
}

function request(dstPort: number, dst = SERVER) {
  const peer = peerSocket();
  let verdict: { accepted: true } | { rejected: TcpRejectHow } | undefined;
  const settled = new Promise<void>((resolve) => {
    const req: TcpForwardRequest = {
      src: "192.168.7.2",
      srcPort: 40000,
      dst,
      dstPort,
      accept: () => {
        verdict = { accepted: true };
        resolve();
        // A plain Duplex stands in for the stack's TcpSocket: the forwarder only streams through it.
        return peer.sock as unknown as ReturnType<TcpForwardRequest["accept"]>;
      },
      reject: (how) => {
        verdict = { rejected: how };
        resolve();
      },
    };
    forwarder.handle(req);
  });
  return { peer, settled, verdict: () => verdict };
}

const counters = new Counters();
const forwarder = new TcpForwarder(new Policy({ deny: ["10.9.0.0/16"] }), () => SERVER, limits, counters, () => {});

test("a SYN to the server address is accepted only after the host socket connects, and bytes flow both ways", async () => {
  const server = net.createServer((s) => {
    s.once("data", (d) => s.end(`echo:${d}`));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  const r = request(port);
  await r.settled;
  assert.deepEqual(r.verdict(), { accepted: true });
  r.peer.toHost.end("hi");
  let got = "";
  r.peer.fromHost.on("data", (d) => (got += d));
  await once(r.peer.fromHost, "end");
  assert.equal(got, "echo:hi");
  server.close();
});

test("a refused host connect becomes a RST to the peer", async () => {
  const probe = net.createServer();
  probe.listen(0, "127.0.0.1");
  await once(probe, "listening");
  const port = (probe.address() as net.AddressInfo).port;
  probe.close();
  await once(probe, "close");
  const r = request(port);
  await r.settled;
  assert.deepEqual(r.verdict(), { rejected: "rst" });
  assert.equal(counters.get("tcp.failed.ECONNREFUSED"), 1);
});

test("a denied destination is refused as administratively prohibited and counted", async () => {
  const r = request(80, "10.9.1.1");
  await r.settled;
  assert.deepEqual(r.verdict(), { rejected: "icmp-admin-prohibited" });
  assert.equal(counters.get("tcp.denied"), 1);
});

test("host errors map to what the peer would see on a real network", () => {
  assert.equal(rejectionFor("ECONNREFUSED"), "rst");
  assert.equal(rejectionFor("EHOSTUNREACH"), "icmp-host-unreachable");
  assert.equal(rejectionFor("ENETUNREACH"), "icmp-net-unreachable");
  assert.equal(rejectionFor("ETIMEDOUT"), "icmp-host-unreachable");
});
