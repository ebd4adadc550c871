// What the Solana client tests share: the connection (the node's Solana RPC; web3.js finds the
// pub-sub WebSocket on the next port), n-VM's own RPC, airdrops and refused sends.
import assert from "node:assert/strict";
import { Connection } from "@solana/web3.js";

export const connection = new Connection(process.env.NVM_SOLANA_RPC_URL, "confirmed");

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

/// Airdrops and waits for it through `signatureSubscribe`.
export async function airdrop(to, lamports) {
  const signature = await connection.requestAirdrop(to, lamports);
  const latest = await connection.getLatestBlockhash();
  const result = await connection.confirmTransaction({ signature, ...latest });
  assert.equal(result.value.err, null);
  return signature;
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

