/** The server's userspace masquerade: public API. */
export { Masquerade, defaultMasqueradeLimits, type MasqueradeOptions, type MasqueradeLimits } from "./masquerade.js";
export { Policy, PolicyError, parseRule, type PolicyOptions } from "./policy.js";
export { parseRedirect, startRedirect, RedirectError, type RedirectSpec } from "./redirect.js";
export type { MasqueradeStack } from "./stack-face.js";
