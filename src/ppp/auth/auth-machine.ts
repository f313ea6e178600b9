/**
 * The contract between the PPP session (src/ppp/session.ts) and one
 * authentication protocol (PAP, CHAP-MD5, MS-CHAPv2), on either side.
 *
 * A machine is sans-I/O: the session hands it the information field of each
 * packet of its protocol (code, id, length, data: everything after the PPP
 * protocol number) and polls it for packets to send, events and its next
 * deadline. Secrets never appear in `describe()` output or in events.
 */
import type { Millis } from "../../../stack/util/time.js";
import type { Rng } from "../../../stack/util/rng.js";
import type { AuthMethod, SecretEntry } from "../session-config.js";

export const PPP_PAP = 0xc023;
export const PPP_CHAP = 0xc223;

export type AuthEvent =
  /** Authenticator: the peer proved `peerName`; `addresses` is the matching secrets line's IP column. Peer: we were accepted. */
  | { type: "success"; peerName: string; addresses: string[]; message?: string }
  /** Authentication failed; `reason` is pppd-worded ("PAP peer authentication failed for zaphod", "CHAP authentication failed: ..."). The session terminates the link. */
  | { type: "failure"; reason: string }
  /** A log line in pppd's words, e.g. `user zaphod logged in` is logged by the session, not here. */
  | { type: "log"; level: "info" | "warn" | "debug"; text: string };

export interface AuthMachine {
  readonly protocol: typeof PPP_PAP | typeof PPP_CHAP;
  readonly method: AuthMethod;
  /** Begin (authenticator: send the challenge; peer: send Authenticate-Request for PAP / wait for CHAP challenge). */
  start(now: Millis): void;
  /** One received packet (code, id, length, data). Malformed packets are dropped, never thrown. */
  input(packet: Uint8Array, now: Millis): void;
  handleTimeout(now: Millis): void;
  pollTimeout(): Millis | undefined;
  /** Next packet to send: the information field (code, id, length, data). */
  pollTransmit(): Uint8Array | undefined;
  pollEvent(): AuthEvent | undefined;
}

export interface AuthenticatorOptions {
  method: AuthMethod;
  /** Our name, sent in CHAP challenges and matched against the secrets' server column. */
  ourName: string;
  /** Entries of pap-secrets (method pap) or chap-secrets (chap-md5, mschapv2). */
  secrets: SecretEntry[];
  rng: Rng;
  /** Restart timer and attempts (pppd: 3 s, 10 transmits). */
  timeoutMs?: number;
  maxTransmits?: number;
  /**
   * pppd `login` (PAP only): the user and password must also pass the system
   * password database; a pap-secrets line is still needed, and an empty secret
   * there then stands for "whatever the system says".
   */
  checkLogin?: (user: string, password: string) => { ok: true } | { ok: false; reason: string };
}

export interface AuthPeerOptions {
  method: AuthMethod;
  /** The name we authenticate as (pppd `user`). */
  user: string;
  /** The secret; for CHAP it may depend on the authenticator's name, so a lookup is given. */
  secretFor: (authenticatorName: string) => string | undefined;
  rng: Rng;
  timeoutMs?: number;
  maxTransmits?: number;
}

/** A one-line pppd-style description of a packet for debug logs, secrets as <hidden>: `PAP AuthReq id=0x1 user="zaphod" password=<hidden>`. */
export type AuthDescriber = (protocol: number, packet: Uint8Array) => string;
