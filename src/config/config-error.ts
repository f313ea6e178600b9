/**
 * ConfigError: local misuse of pppd-style options or files, found while
 * reading the configuration (src/config). The message always says where
 * ("/etc/ppp/options:3: ..." or "command line: ...") and, where one exists,
 * the fix. Never used for anything that arrived from the wire.
 */

export class ConfigError extends Error {
  /** Stable code for callers (bin/ prints message and exits with pppd's EXIT_OPTION_ERROR = 2). */
  readonly code = "ECONFIG";
  constructor(
    message: string,
    /** Where the offending word came from: "/etc/ppp/options:3", "command line", or a file path. */
    readonly where?: string,
    /** The option name, when one is to blame. */
    readonly option?: string,
  ) {
    super(where ? `${where}: ${message}` : message);
    this.name = "ConfigError";
  }
}

/** pppd's exit status for option errors (pppd.h EXIT_OPTION_ERROR). */
export const EXIT_OPTION_ERROR = 2;
