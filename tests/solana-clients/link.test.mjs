// Linking a Solana wallet key to an identity, as a wallet user does it: the key signs the link
// message with Ed25519 (what a wallet's signMessage produces), the identity sends the link with
// n-VM's CLI, and from then on @solana/web3.js and @solana/spl-token, unmodified, act for the
// identity: the key's lamports and token accounts show the identity's balances, which its
// Ethereum address shows too.
// Needs NVM_SOLANA_RPC_URL, NVM_RPC_URL, NVM_DEV_SVM / NVM_DEV_EVM, NVM_BIN, NVM_DEV_KEY,
// NVM_LEDGER_TOKEN (a token the dev identity created natively, 0x-hex).
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Keypair, PublicKey, SystemProgram, Transaction, sendAndConfirmTransaction } from "@solana/web3.js";
import { getOrCreateAssociatedTokenAccount } from "@solana/spl-token";
import { WAIT_MS, airdrop, cli, connection, nvm, within } from "./common.mjs";

const devSvm = new PublicKey(process.env.NVM_DEV_SVM);
const devEvm = process.env.NVM_DEV_EVM;
const token = process.env.NVM_LEDGER_TOKEN;
const mint = new PublicKey(Buffer.from(token.slice(2), "hex"));

/// Ed25519 over the message's bytes with the wallet's key, as a wallet's `signMessage` does.
function signMessage(keypair, text) {
  const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
  const key = crypto.createPrivateKey({
    key: { kty: "OKP", crv: "Ed25519", d: b64url(keypair.secretKey.slice(0, 32)), x: b64url(keypair.publicKey.toBytes()) },
    format: "jwk",
  });
  return "0x" + crypto.sign(null, Buffer.from(text, "utf8"), key).toString("hex");
}

async function weiOf(address) {
  return BigInt(await nvm("eth_getBalance", [address, "latest"]));
}

async function ledgerToken(address) {
  return BigInt((await nvm("nvm_getBalance", [address, token])).balance);
}

test("a linked Solana key acts for the identity, on its balances", { timeout: 120_000 }, async () => {
  const wallet = Keypair.generate();
  await airdrop(wallet.publicKey, 2_000_000_000);
  cli("transfer", "--key", process.env.NVM_DEV_KEY, "--token", token,
    "--to", `svm:${wallet.publicKey.toBase58()}`, "--amount", "7", "--json");
  const walletTokens = await ledgerToken(`svm:${wallet.publicKey.toBase58()}`);
  assert.equal(walletTokens, 7_000_000n);
  const devTokens = await ledgerToken(devEvm);

  // A signature of another identity's message, or by another key: refused, nothing moves.
  const message = cli("identity", "link-message", "--key", process.env.NVM_DEV_KEY, "--solana").trim();
  assert.match(message, /^n-VM: link this Solana account to identity 0x[0-9a-f]{64} on chain \d+$/);
  const wrong = signMessage(Keypair.generate(), message);
  assert.throws(
    () => cli("identity", "link-sol", "--key", process.env.NVM_DEV_KEY, "--sol-key", wallet.publicKey.toBase58(), "--signature", wrong),
    /not .*Ed25519 signature of the link message/,
  );
  assert.equal(await connection.getBalance(wallet.publicKey), 2_000_000_000);

  // Linked: the wallet's SOL and tokens move to the identity in the same transaction.
  const signature = signMessage(wallet, message);
  cli("identity", "link-sol", "--key", process.env.NVM_DEV_KEY, "--sol-key", wallet.publicKey.toBase58(),
    "--signature", signature, "--mint", mint.toBase58(), "--json");
  assert.equal(await ledgerToken(devEvm), devTokens + 7_000_000n);
  assert.equal(await ledgerToken(`svm:${wallet.publicKey.toBase58()}`), devTokens + 7_000_000n);
  const lamports = await connection.getBalance(wallet.publicKey);
  assert.equal(lamports, await connection.getBalance(devSvm), "the key shows the identity's lamports");
  // (web3.js reads lamports as a JS number: the dev identity's are past 2^53, so compare as one.)
  assert.equal(lamports, Number((await weiOf(devEvm)) / 1_000_000_000n), "and its Ethereum balance, in 9 decimals");

  // The wallet's associated token account shows the identity's token balance.
  const ata = await within(WAIT_MS, "the wallet's associated token account", (abortSignal) =>
    getOrCreateAssociatedTokenAccount(connection, wallet, mint, wallet.publicKey, false, undefined, { abortSignal }),
  );
  assert.equal(ata.amount, devTokens + 7_000_000n);

  // Its transfers spend the identity's balance (the fee returns to it: it proposes the blocks).
  const before = await weiOf(devEvm);
  const friend = Keypair.generate().publicKey;
  const pay = new Transaction().add(
    SystemProgram.transfer({ fromPubkey: wallet.publicKey, toPubkey: friend, lamports: 500_000_000 }),
  );
  await within(WAIT_MS, "the linked key's transfer of 0.5 SOL", (abortSignal) =>
    sendAndConfirmTransaction(connection, pay, [wallet], { abortSignal }),
  );
  assert.equal(await weiOf(devEvm), before - 500_000_000n * 1_000_000_000n);
  assert.equal(await connection.getBalance(friend), 500_000_000);

  // The same key cannot be linked twice.
  assert.throws(
    () => cli("identity", "link-sol", "--key", process.env.NVM_DEV_KEY, "--sol-key", wallet.publicKey.toBase58(), "--signature", signature),
    /already belongs to identity/,
  );
});

test("a solana-keygen keypair file links with the CLI signing the message", { timeout: 120_000 }, async () => {
  const wallet = Keypair.generate();
  await airdrop(wallet.publicKey, 1_000_000_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nvm-link-"));
  const file = path.join(dir, "id.json");
  fs.writeFileSync(file, JSON.stringify(Array.from(wallet.secretKey)));
  // Another key's file for this key: refused before anything is sent.
  const other = path.join(dir, "other.json");
  fs.writeFileSync(other, JSON.stringify(Array.from(Keypair.generate().secretKey)));
  assert.throws(
    () => cli("identity", "link-sol", "--key", process.env.NVM_DEV_KEY, "--sol-key", wallet.publicKey.toBase58(), "--sol-keypair", other),
    /is not the keypair of/,
  );
  cli("identity", "link-sol", "--key", process.env.NVM_DEV_KEY, "--sol-key", wallet.publicKey.toBase58(), "--sol-keypair", file);
  assert.equal(await connection.getBalance(wallet.publicKey), await connection.getBalance(devSvm));
});
