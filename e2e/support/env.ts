/** The environment of e2e workspaces. */
import { join } from 'node:path';

/**
 * What every e2e workspace runs with: no colours, CI mode, Debian's rustc and cargo offline with
 * a private CARGO_HOME under `tmp`, a quiet npm.
 */
export function e2eEnv(tmp: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CI: 'true',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    RUSTC: '/usr/bin/rustc',
    CARGO: '/usr/bin/cargo',
    CARGO_HOME: join(tmp, 'cargo-home'),
    CARGO_NET_OFFLINE: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
}
