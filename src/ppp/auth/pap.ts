/**
 * PAP, the Password Authentication Protocol (RFC 1334 §2), both sides, as
 * sans-I/O AuthMachines (contract: ./auth-machine.ts).
 *
 * Authenticator: waits for an Authenticate-Request (at most timeoutMs ×
 * maxTransmits, pppd's 30 s `pap-timeout` with the defaults), checks the
 * user/password against pap-secrets, answers Ack "Login ok" or Nak "Login
 * incorrect", and answers a repeated request the same way.
 * Peer: sends Authenticate-Request, resends on the restart timer (3 s, up to
 * 10 transmissions, a fresh Identifier each time as pppd does) and finishes on
 * Ack or Nak.
 */
import type { Millis } from "../../../stack/util/time.js";
import type { SecretEntry } from "../session-config.js";
import { PPP_PAP, type AuthMachine, type AuthenticatorOptions } from "./auth-machine.js";
import { AuthMachineBase, type RestartTimerOptions } from "./machine-base.js";
import { buildAuthPacket, bytesEqual, bytesToText, lengthPrefixed, parseAuthPacket, textToBytes } from "./packet.js";
import { lookupSecret } from "./secrets-match.js";

/** RFC 1334 §2.2 codes. */
export const PAP_AUTH_REQ = 1;
export const PAP_AUTH_ACK = 2;
export const PAP_AUTH_NAK = 3;

/** pppd auth.c check_passwd messages. */
const MSG_OK = "Login ok";
const MSG_BAD = "Login incorrect";

/** A parsed Authenticate-Request: Peer-ID and Password (RFC 1334 §2.2.1). */
interface AuthReq {
  user: Uint8Array;
  password: Uint8Array;
}

function parseAuthReq(data: Uint8Array): AuthReq | undefined {
  if (data.length < 1) return undefined;
  const ulen = data[0];
  if (data.length < 1 + ulen + 1) return undefined;
  const wlen = data[1 + ulen];
  if (data.length < 2 + ulen + wlen) return undefined;
  return { user: data.subarray(1, 1 + ulen), password: data.subarray(2 + ulen, 2 + ulen + wlen) };
}

/** The Msg-Length/Message of an Ack or Nak (RFC 1334 §2.2.2); undefined when truncated. */
function parseMessage(data: Uint8Array): Uint8Array | undefined {
  if (data.length < 1) return undefined;
  const mlen = data[0];
  if (data.length < 1 + mlen) return undefined;
  return data.subarray(1, 1 + mlen);
}

type AuthenticatorState =
  /** Before start(). */
  | "initial"
  /** Waiting for an Authenticate-Request; `deadline` is the give-up time. */
  | "listen"
  /** Acked; a repeated request is Acked again. */
  | "open"
  /** Naked or timed out; a repeated request is Naked again. */
  | "badauth";

export interface PapAuthenticatorOptions extends RestartTimerOptions {
  ourName: string;
  secrets: SecretEntry[];
  checkLogin?: AuthenticatorOptions["checkLogin"];
}

export class PapAuthenticator extends AuthMachineBase implements AuthMachine {
  readonly protocol = PPP_PAP;
  readonly method = "pap" as const;
  protected readonly label = "PAP";
  /** How long to wait for the peer's request (pppd `pap-timeout`, 30 s). */
  private readonly waitMs: number;
  state: AuthenticatorState = "initial";
  /** The verdict sent, repeated for duplicate requests (RFC 1334 §2.2.1). */
  private verdict: { code: number; message: Uint8Array } | undefined;

  constructor(private readonly opts: PapAuthenticatorOptions) {
    super(opts);
    this.waitMs = this.timeoutMs * this.maxTransmits;
  }

  start(now: Millis): void {
    if (this.state !== "initial") return;
    this.state = "listen";
    this.deadline = now + this.waitMs;
  }

  input(packet: Uint8Array, _now: Millis): void {
    const p = parseAuthPacket(packet);
    if (typeof p === "string") return this.drop(p);
    if (p.code !== PAP_AUTH_REQ) return this.drop("unexpected code", `code ${p.code}`);
    if (this.state === "initial") return this.drop("wrong state", "not started");
    const req = parseAuthReq(p.data);
    if (!req) return this.drop("malformed data", "Authenticate-Request fields overrun the packet");
    if (this.verdict) {
      // A repeat of a request we already answered: the same answer (RFC 1334 §2.2.1).
      this.send(buildAuthPacket(this.verdict.code, p.id, lengthPrefixed(this.verdict.message)));
      return;
    }
    this.deadline = undefined;
    const user = bytesToText(req.user);
    const entry = lookupSecret(this.opts.secrets, user, this.opts.ourName);
    let ok = entry !== undefined;
    if (!entry) this.log("warn", `no PAP secret found for ${user}`);
    const login = this.opts.checkLogin;
    // pppd auth.c check_passwd: a non-empty secret must match; with `login` an empty one defers to the system.
    if (entry && (entry.secret !== "" || !login)) ok = bytesEqual(textToBytes(entry.secret), req.password);
    if (ok && login) {
      const r = login(user, bytesToText(req.password));
      if (!r.ok) {
        ok = false;
        this.log("warn", `user ${user}: login refused: ${r.reason}`);
      }
    }
    this.verdict = { code: ok ? PAP_AUTH_ACK : PAP_AUTH_NAK, message: textToBytes(ok ? MSG_OK : MSG_BAD) };
    this.send(buildAuthPacket(this.verdict.code, p.id, lengthPrefixed(this.verdict.message)));
    if (ok && entry) {
      this.state = "open";
      this.emit({ type: "success", peerName: user, addresses: entry.addresses, message: MSG_OK });
    } else {
      this.state = "badauth";
      this.emit({ type: "failure", reason: `PAP peer authentication failed for ${user}` });
    }
  }

  handleTimeout(now: Millis): void {
    if (this.state !== "listen" || this.deadline === undefined || now < this.deadline) return;
    this.deadline = undefined;
    this.state = "badauth";
    this.verdict = { code: PAP_AUTH_NAK, message: textToBytes(MSG_BAD) };
    this.emit({ type: "failure", reason: "PAP peer authentication failed: no Authenticate-Request from peer" });
  }
}

type PeerState =
  /** Before start(). */
  | "initial"
  /** Request sent, waiting for Ack/Nak; `deadline` is the restart timer. */
  | "authreq"
  /** Acked. */
  | "open"
  /** Naked or gave up. */
  | "badauth";

export interface PapPeerOptions extends RestartTimerOptions {
  user: string;
  secretFor: (authenticatorName: string) => string | undefined;
}

export class PapPeer extends AuthMachineBase implements AuthMachine {
  readonly protocol = PPP_PAP;
  readonly method = "pap" as const;
  protected readonly label = "PAP";
  state: PeerState = "initial";
  /** Identifier of the last request; pppd starts at 1 and increments per transmission. */
  private id = 0;
  /** Identifiers we have sent; an Ack/Nak must echo one of them (RFC 1334 §2.2.2). */
  private readonly sentIds = new Set<number>();
  /** Requests sent so far. */
  private transmits = 0;
  /** Peer-ID and Password fields, built once; the secret lives only here. */
  private body: Uint8Array | undefined;

  constructor(private readonly opts: PapPeerOptions) {
    super(opts);
  }

  start(now: Millis): void {
    if (this.state !== "initial") return;
    // PAP carries no authenticator name: pppd looks up (user, remotename), "" unless set.
    let secret = this.opts.secretFor("");
    if (secret === undefined) {
      // pppd auth.c: logs this and sends an empty password anyway (some servers accept any).
      this.log("warn", "No secret found for PAP login");
      secret = "";
    }
    const user = lengthPrefixed(textToBytes(this.opts.user));
    const pass = lengthPrefixed(textToBytes(secret));
    this.body = new Uint8Array(user.length + pass.length);
    this.body.set(user, 0);
    this.body.set(pass, user.length);
    this.state = "authreq";
    this.sendRequest(now);
  }

  private sendRequest(now: Millis): void {
    this.id = (this.id + 1) & 0xff;
    this.sentIds.add(this.id);
    this.send(buildAuthPacket(PAP_AUTH_REQ, this.id, this.body!));
    this.transmits++;
    this.deadline = now + this.timeoutMs;
  }

  input(packet: Uint8Array, _now: Millis): void {
    const p = parseAuthPacket(packet);
    if (typeof p === "string") return this.drop(p);
    if (p.code !== PAP_AUTH_ACK && p.code !== PAP_AUTH_NAK) return this.drop("unexpected code", `code ${p.code}`);
    if (this.state !== "authreq") return this.drop("wrong state", `${this.state}`);
    if (!this.sentIds.has(p.id)) return this.drop("unexpected id", `id 0x${p.id.toString(16)}`);
    const msg = parseMessage(p.data);
    if (msg === undefined) return this.drop("malformed data", "message overruns the packet");
    this.deadline = undefined;
    const text = bytesToText(msg);
    if (text.length > 0) this.log("info", `Remote message: ${text}`);
    if (p.code === PAP_AUTH_ACK) {
      this.state = "open";
      this.emit({ type: "success", peerName: "", addresses: [], message: text });
    } else {
      this.state = "badauth";
      this.emit({ type: "failure", reason: "PAP authentication failed" });
    }
  }

  handleTimeout(now: Millis): void {
    if (this.state !== "authreq" || this.deadline === undefined || now < this.deadline) return;
    if (this.transmits >= this.maxTransmits) {
      this.deadline = undefined;
      this.state = "badauth";
      this.emit({ type: "failure", reason: "No response to PAP authenticate-requests" });
      return;
    }
    this.sendRequest(now);
  }
}
