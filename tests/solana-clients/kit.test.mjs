// @solana/kit (web3.js 2's successor), unmodified, with @solana-program/system: the RPC and
// subscription clients a new Solana app starts from — airdrop, a transfer built as a kit
// transaction message, signed and sent with sendAndConfirmTransactionFactory over the pub-sub
// WebSocket, then read back (getTransaction, getBlock, getSignaturesForAddress,
// getTransactionCount, getSupply) and refused when it overspends.
// Needs NVM_SOLANA_RPC_URL.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  airdropFactory,
  appendTransactionMessageInstruction,
  createSolanaRpc,
  createSolanaRpcSubscriptions,
  createTransactionMessage,
  generateKeyPairSigner,
  getSignatureFromTransaction,
  lamports,
  pipe,
  sendAndConfirmTransactionFactory,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from "@solana/kit";
import { getTransferSolInstruction } from "@solana-program/system";

import { WAIT_MS, within } from "./common.mjs";

const url = process.env.NVM_SOLANA_RPC_URL;
const rpc = createSolanaRpc(url);
// Solana's convention, which n-VM follows: the pub-sub WebSocket is on the next port.
const wsUrl = url.replace(/^http/, "ws").replace(/:(\d+)$/, (_, port) => `:${Number(port) + 1}`);
const rpcSubscriptions = createSolanaRpcSubscriptions(wsUrl);
const SOL = 1_000_000_000n;

/// A transfer of `amount` lamports from `payer` to `to`, as a kit app builds and signs it.
async function signedTransfer(payer, to, amount) {
  const { value: latestBlockhash } = await rpc.getLatestBlockhash().send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(latestBlockhash, m),
    (m) => appendTransactionMessageInstruction(getTransferSolInstruction({ source: payer, destination: to, amount: lamports(amount) }), m),
  );
  return signTransactionMessageWithSigners(message);
}

test("@solana/kit: airdrop, a signed transfer confirmed over pub-sub, its history", { timeout: 120_000 }, async () => {
  const payer = await generateKeyPairSigner();
  const receiver = await generateKeyPairSigner();
  const airdrop = airdropFactory({ rpc, rpcSubscriptions });
  await within(WAIT_MS, "the airdrop", (abortSignal) =>
    airdrop({ recipientAddress: payer.address, lamports: lamports(2n * SOL), commitment: "confirmed", abortSignal }),
  );
  assert.equal((await rpc.getBalance(payer.address).send()).value, 2n * SOL);
  const countBefore = await rpc.getTransactionCount().send();

  const transfer = await signedTransfer(payer, receiver.address, SOL / 10n);
  const sendAndConfirm = sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions });
  await within(WAIT_MS, "the transfer", (abortSignal) => sendAndConfirm(transfer, { commitment: "confirmed", abortSignal }));
  const signature = getSignatureFromTransaction(transfer);
  assert.equal((await rpc.getBalance(receiver.address).send()).value, SOL / 10n);

  const found = await rpc.getTransaction(signature, { maxSupportedTransactionVersion: 0 }).send();
  assert.equal(found.meta.err, null);
  assert.equal(found.meta.postBalances[1], SOL / 10n);
  const block = await rpc.getBlock(found.slot, { maxSupportedTransactionVersion: 0, transactionDetails: "signatures" }).send();
  assert.ok(block.signatures.includes(signature), JSON.stringify(block.signatures));
  const history = await rpc.getSignaturesForAddress(receiver.address).send();
  assert.deepEqual(history.map((h) => h.signature), [signature]);
  assert.ok((await rpc.getTransactionCount().send()) >= countBefore + 1n);
  assert.ok((await rpc.getSupply().send()).value.total > 0n);

  // Overspending: refused by the node's preflight, nothing moves.
  const tooMuch = await signedTransfer(receiver, payer.address, 10n * SOL);
  await assert.rejects(sendAndConfirm(tooMuch, { commitment: "confirmed" }));
  assert.equal((await rpc.getBalance(receiver.address).send()).value, SOL / 10n);
});
