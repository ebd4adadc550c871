// Foundry's cast (1.7, from npm), run as a user runs it against the node.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const CAST = new URL("./node_modules/@foundry-rs/cast-linux-amd64/bin/cast", import.meta.url).pathname;

/// cast's standard output for `args` against the node at `url`, within 60 s (its error output on
/// failure).
export async function cast(url, ...args) {
  const { stdout } = await promisify(execFile)(CAST, [...args, "--rpc-url", url], {
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: "1", FOUNDRY_DISABLE_NIGHTLY_WARNING: "1" },
  });
  return stdout.trim();
}
