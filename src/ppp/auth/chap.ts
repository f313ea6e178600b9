/**
 * CHAP, the Challenge-Handshake Authentication Protocol (RFC 1994), both
 * sides, as sans-I/O AuthMachines (contract: ./auth-machine.ts).
 *
 * The framing and the exchange (Challenge -> Response -> Success/Failure,
 * retransmission, duplicates) live here once; what differs per algorithm sits
 * behind a `ChapDigest`, as in pppd's chap-new.c: CHAP-MD5 (algorithm 5,
 * below), MS-CHAP (algorithm 0x80, ./mschapv1.ts) and MS-CHAPv2 (algorithm
 * 0x81, ./mschapv2.ts).
 *
 * Authenticator: sends a Challenge (value from the injected Rng, our name),
 * resends it on the restart timer (3 s, 10 transmissions), verifies the
 * Response against chap-secrets, answers Success/Failure and repeats that
 * answer to a repeated Response. Peer: answers each Challenge (the same
 * answer to a retransmitted one), resends its Response on the restart timer
 * until Success/Failure arrives, then finishes.
 */
import { createHash } from "node:crypto";
import type { Millis } from "../../../stack/util/time.js";
import type { Rng } from "../../../stack/util/rng.js";
import type { AuthMethod, SecretEntry } from "../session-config.js";
import { PPP_CHAP, type AuthMachine } from "./auth-machine.js";
import { AuthMachineBase, type RestartTimerOptions } from "./machine-base.js";
import { buildAuthPacket, bytesEqual, bytesToText, lengthPrefixed, parseAuthPacket, textToBytes } from "./packet.js";
import { lookupSecret } from "./secrets-match.js";

/** RFC 1994 §4 codes. */
export const CHAP_CHALLENGE = 1;
export const CHAP_RESPONSE = 2;
export const CHAP_SUCCESS = 3;
export const CHAP_FAILURE = 4;

/** LCP Authentication-Protocol algorithm octets: RFC 1994 §3 MD5, RFC 2433 §3 MS-CHAP, RFC 2759 §2 MS-CHAPv2. */
export const CHAP_ALG_MD5 = 5;
export const CHAP_ALG_MSCHAP = 0x80;
export const CHAP_ALG_MSCHAPV2 = 0x81;

/** What the peer learns from a Success message. */
export type SuccessCheck = { ok: true; message: string } | { ok: false; reason: string };

/** One CHAP algorithm: how challenges, responses and status messages are made and checked (pppd's chap_digest_type). */
export interface ChapDigest {
  readonly algorithm: number;
  readonly method: AuthMethod;
  /** Peer: the only Challenge value size this algorithm can answer (MS-CHAP: 8, one DES block); other sizes are dropped. */
  readonly challengeLength?: number;
  /** Authenticator: a fresh challenge value. */
  makeChallenge(rng: Rng): Uint8Array;
  /** Peer: the Response value for `challenge`, and what the Success message must then prove (MS-CHAPv2). */
  makeResponse(a: { id: number; challenge: Uint8Array; user: string; secret: string; rng: Rng }): { value: Uint8Array; expect?: string };
  /** Authenticator: check a Response value; `message` goes into Success or Failure; `log` is a notice for the log. */
  verifyResponse(a: { id: number; challenge: Uint8Array; value: Uint8Array; name: string; secret: string }): { ok: boolean; message: string; log?: string };
  /** Authenticator: the Failure message when there is nothing to verify against (no secret for the name). */
  failureMessage(challenge: Uint8Array): string;
  /** Peer: is this Success message acceptable (MS-CHAPv2 mutual authentication)? */
  checkSuccess(message: Uint8Array, expect: string | undefined): SuccessCheck;
  /** Peer: the failure reason, in pppd's words, for a Failure message. */
  failureReason(message: Uint8Array): string;
}

/** pppd chap-md5.c: challenge length (pppd picks 16..24; 16 is what RFC 1994 implementations expect). */
const MD5_CHALLENGE_LEN = 16;
/** RFC 1321: an MD5 value is 16 octets. */
const MD5_LEN = 16;

/** RFC 1994 §4.1: Response Value = MD5(Identifier || secret || Challenge). */
export function chapMd5Response(id: number, secret: Uint8Array, challenge: Uint8Array): Uint8Array {
  const h = createHash("md5");
  h.update(Uint8Array.of(id & 0xff));
  h.update(secret);
  h.update(challenge);
  return new Uint8Array(h.digest());
}

/** CHAP with MD5 (RFC 1994), messages as pppd's chap-md5.c. */
export const chapMd5Digest: ChapDigest = {
  algorithm: CHAP_ALG_MD5,
  method: "chap-md5",
  makeChallenge: (rng) => rng.fill(new Uint8Array(MD5_CHALLENGE_LEN)),
  makeResponse: ({ id, challenge, secret }) => ({ value: chapMd5Response(id, textToBytes(secret), challenge) }),
  verifyResponse: ({ id, challenge, value, secret }) => {
    const ok = value.length === MD5_LEN && bytesEqual(value, chapMd5Response(id, textToBytes(secret), challenge));
    return { ok, message: ok ? "Access granted" : "Access denied" };
  },
  failureMessage: () => "Access denied",
  checkSuccess: (message) => ({ ok: true, message: bytesToText(message) }),
  failureReason: (message) =>
    message.length > 0 ? `CHAP authentication failed: ${bytesToText(message)}` : "CHAP authentication failed",
};

/** A parsed Challenge or Response body (RFC 1994 §4.1): Value-Size, Value, Name. */
interface ValueAndName {
  value: Uint8Array;
  name: Uint8Array;
}

function parseValueAndName(data: Uint8Array): ValueAndName | undefined {
  if (data.length < 1) return undefined;
  const vlen = data[0];
  if (vlen === 0 || data.length < 1 + vlen) return undefined;
  return { value: data.subarray(1, 1 + vlen), name: data.subarray(1 + vlen) };
}

type AuthenticatorState =
  /** Before start(). */
  | "initial"
  /** Challenge outstanding; `deadline` is the restart timer. */
  | "challenge-sent"
  /** Success sent; a repeated Response gets it again. */
  | "open"
  /** Failure sent or no answer; a repeated Response gets Failure again. */
  | "badauth";

export interface ChapAuthenticatorOptions extends RestartTimerOptions {
  ourName: string;
  secrets: SecretEntry[];
  rng: Rng;
}

export class ChapAuthenticator extends AuthMachineBase implements AuthMachine {
  readonly protocol = PPP_CHAP;
  readonly method: AuthMethod;
  protected readonly label = "CHAP";
  state: AuthenticatorState = "initial";
  /** Identifier of the outstanding challenge; random start as pppd. */
  private id = 0;
  private challenge: Uint8Array = new Uint8Array(0);
  private challengePacket: Uint8Array | undefined;
  private transmits = 0;
  /** Success/Failure sent for the current id, resent for a duplicate Response (RFC 1994 §4.2). */
  private status: Uint8Array | undefined;

  constructor(
    private readonly digest: ChapDigest,
    private readonly opts: ChapAuthenticatorOptions,
  ) {
    super(opts);
    this.method = digest.method;
  }

  start(now: Millis): void {
    if (this.state !== "initial") return;
    this.id = this.opts.rng.u32() & 0xff;
    this.challenge = this.digest.makeChallenge(this.opts.rng);
    this.challengePacket = buildAuthPacket(
      CHAP_CHALLENGE,
      this.id,
      lengthPrefixed(this.challenge),
      textToBytes(this.opts.ourName),
    );
    this.state = "challenge-sent";
    this.transmit(now);
  }

  private transmit(now: Millis): void {
    this.send(this.challengePacket!);
    this.transmits++;
    this.deadline = now + this.timeoutMs;
  }

  input(packet: Uint8Array, _now: Millis): void {
    const p = parseAuthPacket(packet);
    if (typeof p === "string") return this.drop(p);
    if (p.code !== CHAP_RESPONSE) return this.drop("unexpected code", `code ${p.code}`);
    if (this.state === "initial") return this.drop("wrong state", "not started");
    if (p.id !== this.id) return this.drop("unexpected id", `id 0x${p.id.toString(16)}, expected 0x${this.id.toString(16)}`);
    const resp = parseValueAndName(p.data);
    if (!resp) return this.drop("malformed data", "Response value overruns the packet");
    if (this.status) {
      this.send(this.status);
      return;
    }
    // Gave up on the challenge: a late Response changes nothing.
    if (this.state !== "challenge-sent") return this.drop("wrong state", this.state);
    this.deadline = undefined;
    const name = bytesToText(resp.name);
    const entry = lookupSecret(this.opts.secrets, name, this.opts.ourName);
    let verdict: { ok: boolean; message: string; log?: string };
    if (entry) {
      verdict = this.digest.verifyResponse({ id: p.id, challenge: this.challenge, value: resp.value, name, secret: entry.secret });
      if (verdict.log) this.log("info", verdict.log);
    } else {
      this.log("warn", `No CHAP secret found for authenticating ${name}`);
      verdict = { ok: false, message: this.digest.failureMessage(this.challenge) };
    }
    this.status = buildAuthPacket(verdict.ok ? CHAP_SUCCESS : CHAP_FAILURE, p.id, textToBytes(verdict.message));
    this.send(this.status);
    if (verdict.ok && entry) {
      this.state = "open";
      this.emit({ type: "success", peerName: name, addresses: entry.addresses, message: verdict.message });
    } else {
      this.state = "badauth";
      this.emit({ type: "failure", reason: `Peer ${name} failed CHAP authentication` });
    }
  }

  handleTimeout(now: Millis): void {
    if (this.state !== "challenge-sent" || this.deadline === undefined || now < this.deadline) return;
    if (this.transmits >= this.maxTransmits) {
      this.deadline = undefined;
      this.state = "badauth";
      this.emit({ type: "failure", reason: "Peer failed to respond to CHAP challenge" });
      return;
    }
    this.transmit(now);
  }
}

type PeerState =
  /** Before start(). */
  | "initial"
  /** Waiting for a Challenge (no timer: the authenticator drives CHAP). */
  | "listen"
  /** Response sent; `deadline` is the restart timer for resending it. */
  | "response-sent"
  /** Success accepted; later Challenges (rechallenge) are still answered. */
  | "open"
  /** Failure received, Success rejected, or gave up. */
  | "badauth";

export interface ChapPeerOptions extends RestartTimerOptions {
  user: string;
  secretFor: (authenticatorName: string) => string | undefined;
  rng: Rng;
}

export class ChapPeer extends AuthMachineBase implements AuthMachine {
  readonly protocol = PPP_CHAP;
  readonly method: AuthMethod;
  protected readonly label = "CHAP";
  state: PeerState = "initial";
  /** The last Challenge answered and our Response to it, resent verbatim for a retransmitted Challenge. */
  private last: { id: number; challenge: Uint8Array; response: Uint8Array; expect?: string; authenticator: string } | undefined;
  private transmits = 0;

  constructor(
    private readonly digest: ChapDigest,
    private readonly opts: ChapPeerOptions,
  ) {
    super(opts);
    this.method = digest.method;
  }

  start(_now: Millis): void {
    if (this.state === "initial") this.state = "listen";
  }

  input(packet: Uint8Array, now: Millis): void {
    const p = parseAuthPacket(packet);
    if (typeof p === "string") return this.drop(p);
    switch (p.code) {
      case CHAP_CHALLENGE:
        return this.onChallenge(p.id, p.data, now);
      case CHAP_SUCCESS:
      case CHAP_FAILURE:
        return this.onStatus(p.code, p.id, p.data);
      default:
        return this.drop("unexpected code", `code ${p.code}`);
    }
  }

  private onChallenge(id: number, data: Uint8Array, now: Millis): void {
    if (this.state === "initial" || this.state === "badauth") return this.drop("wrong state", this.state);
    const chal = parseValueAndName(data);
    if (!chal) return this.drop("malformed data", "Challenge value overruns the packet");
    const want = this.digest.challengeLength;
    if (want !== undefined && chal.value.length !== want) {
      return this.drop("malformed data", `Challenge value of ${chal.value.length} octets, expected ${want}`);
    }
    const last = this.last;
    if (last && last.id === id && bytesEqual(last.challenge, chal.value)) {
      // A retransmitted Challenge: the same Response (MS-CHAPv2's peer challenge must not change).
      this.send(last.response);
      return;
    }
    const authenticator = bytesToText(chal.name);
    let secret = this.opts.secretFor(authenticator);
    if (secret === undefined) {
      // pppd chap-new.c: warn and answer with an empty secret; the authenticator will refuse it.
      this.log("warn", `No CHAP secret found for authenticating us to ${authenticator}`);
      secret = "";
    }
    const { value, expect } = this.digest.makeResponse({ id, challenge: chal.value, user: this.opts.user, secret, rng: this.opts.rng });
    const response = buildAuthPacket(CHAP_RESPONSE, id, lengthPrefixed(value), textToBytes(this.opts.user));
    this.last = { id, challenge: new Uint8Array(chal.value), response, expect, authenticator };
    this.send(response);
    if (this.state !== "open") {
      this.state = "response-sent";
      this.transmits = 1;
      this.deadline = now + this.timeoutMs;
    }
  }

  private onStatus(code: number, id: number, data: Uint8Array): void {
    if (this.state !== "response-sent") return this.drop("wrong state", this.state);
    const last = this.last!;
    if (id !== last.id) return this.drop("unexpected id", `id 0x${id.toString(16)}, expected 0x${last.id.toString(16)}`);
    this.deadline = undefined;
    if (code === CHAP_SUCCESS) {
      const check = this.digest.checkSuccess(data, last.expect);
      if (check.ok) {
        this.state = "open";
        this.emit({ type: "success", peerName: last.authenticator, addresses: [], message: check.message });
        return;
      }
      this.state = "badauth";
      this.emit({ type: "failure", reason: check.reason });
      return;
    }
    this.state = "badauth";
    this.emit({ type: "failure", reason: this.digest.failureReason(data) });
  }

  handleTimeout(now: Millis): void {
    if (this.state !== "response-sent" || this.deadline === undefined || now < this.deadline) return;
    if (this.transmits >= this.maxTransmits) {
      this.deadline = undefined;
      this.state = "badauth";
      this.emit({ type: "failure", reason: "No response to CHAP responses" });
      return;
    }
    this.send(this.last!.response);
    this.transmits++;
    this.deadline = now + this.timeoutMs;
  }
}
