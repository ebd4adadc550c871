// What the Solana client tests share: the connection (the node's Solana RPC; web3.js finds the
// pub-sub WebSocket on the next port), n-VM's own RPC and CLI, airdrops, refused sends and deadlines.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { Connection } from "@solana/web3.js";

export const connection = new Connection(process.env.NVM_SOLANA_RPC_URL, "confirmed");

// Every wait has a deadline (blocks take 200 ms here) and every test a limit of its own, so that
// a node that stops making blocks or including transactions fails the step, by name, never hangs.
export const WAIT_MS = 30_000;
const CLI_MS = 60_000;

/// `wait` (a promise, or a function given an AbortSignal) within `ms`, or a failure naming `what`.
/// At the deadline the signal aborts: web3.js confirmations take it as `abortSignal` and stop
/// listening, so nothing is left to keep the process alive. The timer is cleared either way.
export async function within(ms, what, wait) {
  const controller = new AbortController();
  const aborted = new Promise((_, reject) => controller.signal.addEventListener("abort", () => reject(controller.signal.reason)));
  const timer = setTimeout(() => controller.abort(new Error(`${what}: not done within ${ms / 1000} s`)), ms);
  try {
    return await Promise.race([typeof wait === "function" ? wait(controller.signal) : wait, aborted]);
  } finally {
    clearTimeout(timer);
  }
}

/// A call on n-VM's own endpoint (nvm_* and eth_*).
export async function nvm(method, params) {
  const response = await fetch(process.env.NVM_RPC_URL, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

/// Airdrops and waits for it through `signatureSubscribe`, within WAIT_MS.
export async function airdrop(to, lamports) {
  const signature = await connection.requestAirdrop(to, lamports);
  const latest = await connection.getLatestBlockhash();
  const result = await within(WAIT_MS, `the airdrop of ${lamports} lamports to ${to.toBase58()} (${signature})`, (abortSignal) =>
    connection.confirmTransaction({ signature, ...latest, abortSignal }),
  );
  assert.equal(result.value.err, null);
  return signature;
}

/// n-VM's CLI on the node's RPC. It gives up on a receipt after 30 s itself; the timeout kills it
/// should it hang anyway (a synchronous call: no test limit could interrupt it).
export function cli(...args) {
  try {
    return execFileSync(process.env.NVM_BIN, args, {
      env: { ...process.env, NVM_RPC: process.env.NVM_RPC_URL },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: CLI_MS,
    });
  } catch (e) {
    throw e.code === "ETIMEDOUT" ? new Error(`nvm ${args.slice(0, 2).join(" ")}: not done within ${CLI_MS / 1000} s`) : e;
  }
}

/// Sends raw bytes and returns the error the node gave.
export async function sendError(bytes, options = {}) {
  try {
    await connection.sendRawTransaction(bytes, options);
  } catch (e) {
    return e;
  }
  assert.fail("the transaction should have been refused");
}

