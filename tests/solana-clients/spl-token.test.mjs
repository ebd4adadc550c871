// @solana/spl-token, unmodified, against a real `nvm node --dev`: mints, associated token
// accounts (the mainnet ATA program, placed at genesis), transfers — of a mint made on Solana and
// of a token made natively with n-VM's CLI — whose balances are the ledger's: the same amounts
// show through `nvm_getBalance` and the token's ERC-20 view (`balanceOf` by `eth_call`).
// Needs NVM_SOLANA_RPC_URL, NVM_RPC_URL, NVM_DEV_SVM / NVM_DEV_EVM, NVM_BIN, NVM_DEV_KEY,
// NVM_LEDGER_TOKEN (a token the dev identity created natively, 0x-hex).
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { Keypair, PublicKey, SystemProgram, Transaction, sendAndConfirmTransaction } from "@solana/web3.js";
import {
  TOKEN_PROGRAM_ID,
  createMint,
  createTransferCheckedInstruction,
  getAccount,
  getAssociatedTokenAddressSync,
  getMint,
  getOrCreateAssociatedTokenAccount,
  mintTo,
  transfer,
  transferChecked,
} from "@solana/spl-token";
import { WAIT_MS, airdrop, cli, connection, nvm, sendError, within } from "./common.mjs";

const devSvm = new PublicKey(process.env.NVM_DEV_SVM);
const devEvm = process.env.NVM_DEV_EVM;
const payer = Keypair.generate();
const hex = (key) => "0x" + Buffer.from(key.toBytes()).toString("hex");

/// The token's ERC-20 view address: SHA-256("erc20-addr:" ‖ mint)[12..32].
function erc20View(mint) {
  const digest = crypto.createHash("sha256").update(Buffer.from("erc20-addr:")).update(mint.toBytes()).digest();
  return "0x" + digest.subarray(12).toString("hex");
}

/// `balanceOf(holder)` on a token's ERC-20 view.
async function erc20Balance(mint, holder) {
  const data = "0x70a08231" + holder.slice(2).toLowerCase().padStart(64, "0");
  return BigInt(await nvm("eth_call", [{ to: erc20View(mint), data }, "latest"]));
}

async function ledgerBalance(owner, mint) {
  return BigInt((await nvm("nvm_getBalance", [`svm:${owner.toBase58()}`, hex(mint)])).balance);
}

test("a mint made on Solana: ATAs, mintTo, transfers, and the same balance in every view", { timeout: 120_000 }, async () => {
  await airdrop(payer.publicKey, 10_000_000_000);
  const authority = Keypair.generate();
  // spl-token's helpers confirm with sendAndConfirmTransaction: each gets a deadline, its signal
  // passed on as `abortSignal` in the confirm options.
  const mint = await within(WAIT_MS, "createMint", (abortSignal) =>
    createMint(connection, payer, authority.publicKey, null, 6, undefined, { abortSignal }),
  );
  const info = await getMint(connection, mint);
  assert.equal(info.decimals, 6);
  assert.equal(info.supply, 0n);
  assert.equal(info.mintAuthority.toBase58(), authority.publicKey.toBase58());

  const alice = Keypair.generate();
  const aliceAta = await within(WAIT_MS, "alice's associated token account", (abortSignal) =>
    getOrCreateAssociatedTokenAccount(connection, payer, mint, alice.publicKey, false, undefined, { abortSignal }),
  );
  assert.equal(aliceAta.address.toBase58(), getAssociatedTokenAddressSync(mint, alice.publicKey).toBase58());
  assert.equal(aliceAta.amount, 0n);
  await within(WAIT_MS, "mintTo alice", (abortSignal) =>
    mintTo(connection, payer, mint, aliceAta.address, authority, 5_000_000n, [], { abortSignal }),
  );
  assert.equal((await getAccount(connection, aliceAta.address)).amount, 5_000_000n);
  assert.equal((await getMint(connection, mint)).supply, 5_000_000n);
  assert.equal((await connection.getTokenSupply(mint)).value.uiAmountString, "5");

  // To the dev identity's Solana address: the ATA resolves to the identity, so its ERC-20 view
  // and n-VM's ledger show the same amount at once.
  const devAta = await within(WAIT_MS, "the dev identity's associated token account", (abortSignal) =>
    getOrCreateAssociatedTokenAccount(connection, payer, mint, devSvm, false, undefined, { abortSignal }),
  );
  const signature = await within(WAIT_MS, "transferChecked of 1.25 to the dev identity", (abortSignal) =>
    transferChecked(connection, payer, aliceAta.address, mint, devAta.address, alice, 1_250_000n, 6, [], { abortSignal }),
  );
  assert.equal((await connection.getTokenAccountBalance(devAta.address)).value.amount, "1250000");
  assert.equal(await erc20Balance(mint, devEvm), 1_250_000n);
  assert.equal(await ledgerBalance(devSvm, mint), 1_250_000n);
  const tx = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
  assert.equal(tx.meta.err, null);
  assert.equal(tx.meta.postTokenBalances.find((b) => b.owner === devSvm.toBase58()).uiTokenAmount.amount, "1250000");

  const aliceAccounts = await connection.getTokenAccountsByOwner(alice.publicKey, { mint });
  assert.equal(aliceAccounts.value.length, 1);
  assert.equal(aliceAccounts.value[0].pubkey.toBase58(), aliceAta.address.toBase58());
  const parsed = await connection.getParsedTokenAccountsByOwner(alice.publicKey, { programId: TOKEN_PROGRAM_ID });
  assert.equal(parsed.value[0].account.data.parsed.info.tokenAmount.amount, "3750000");
  const holders = await connection.getProgramAccounts(TOKEN_PROGRAM_ID, {
    filters: [{ dataSize: 165 }, { memcmp: { offset: 0, bytes: mint.toBase58() } }],
  });
  assert.equal(holders.length, 2);

  // Overdraft: preflight refuses it with the program's error, and nothing changes.
  const before = await getAccount(connection, aliceAta.address);
  const overdraft = new Transaction().add(
    createTransferCheckedInstruction(aliceAta.address, mint, devAta.address, alice.publicKey, 10_000_000n, 6),
  );
  overdraft.feePayer = payer.publicKey;
  overdraft.recentBlockhash = (await connection.getLatestBlockhash()).blockhash;
  overdraft.sign(payer, alice);
  const refused = await sendError(overdraft.serialize());
  assert.match(refused.message, /custom program error: 0x1|"Custom":1/);
  assert.equal((await getAccount(connection, aliceAta.address)).amount, before.amount);

  // A program may not spend from an account it does not own: the System program cannot move
  // lamports out of an account the token program owns, even with its key's signature.
  const owned = Keypair.generate();
  const create = new Transaction().add(SystemProgram.createAccount({
    fromPubkey: payer.publicKey,
    newAccountPubkey: owned.publicKey,
    lamports: await connection.getMinimumBalanceForRentExemption(0),
    space: 0,
    programId: TOKEN_PROGRAM_ID,
  }));
  await within(WAIT_MS, "the creation of an account the token program owns", (abortSignal) =>
    sendAndConfirmTransaction(connection, create, [payer, owned], { abortSignal }),
  );
  const held = await connection.getBalance(owned.publicKey);
  const theft = new Transaction().add(
    SystemProgram.transfer({ fromPubkey: owned.publicKey, toPubkey: payer.publicKey, lamports: 1000 }),
  );
  theft.feePayer = payer.publicKey;
  theft.recentBlockhash = (await connection.getLatestBlockhash()).blockhash;
  theft.sign(payer, owned);
  const stopped = await sendError(theft.serialize());
  assert.match(stopped.message, /spent from the balance of an account it does not own/);
  assert.equal(await connection.getBalance(owned.publicKey), held);
});

/// The token the dev identity made natively (NVM_LEDGER_TOKEN).
const ledgerMint = () => new PublicKey(Buffer.from(process.env.NVM_LEDGER_TOKEN.slice(2), "hex"));

/// A fresh wallet, airdropped SOL for fees, to whose Solana address the dev identity sends `amount`
/// of the ledger token with n-VM's own CLI (nobody creates its associated account).
async function walletSentLedgerTokens(amount) {
  const wallet = Keypair.generate();
  await airdrop(wallet.publicKey, 1_000_000_000);
  cli("transfer", "--key", process.env.NVM_DEV_KEY, "--token", process.env.NVM_LEDGER_TOKEN,
    "--to", `svm:${wallet.publicKey.toBase58()}`, "--amount", String(amount), "--json");
  return wallet;
}

test("a token made natively with n-VM's CLI moves through SPL Token", { timeout: 120_000 }, async () => {
  const mint = ledgerMint();
  const wallet = await walletSentLedgerTokens(100);
  const info = await getMint(connection, mint);
  assert.equal(info.decimals, 6);
  const walletAta = await within(WAIT_MS, "the wallet's associated token account", (abortSignal) =>
    getOrCreateAssociatedTokenAccount(connection, wallet, mint, wallet.publicKey, false, undefined, { abortSignal }),
  );
  // The ledger balance is there as soon as the account exists.
  assert.equal(walletAta.amount, 100_000_000n);

  const friend = Keypair.generate().publicKey;
  const friendAta = await within(WAIT_MS, "the friend's associated token account", (abortSignal) =>
    getOrCreateAssociatedTokenAccount(connection, wallet, mint, friend, false, undefined, { abortSignal }),
  );
  await within(WAIT_MS, "the transfer of 40 to the friend", (abortSignal) =>
    transfer(connection, wallet, walletAta.address, friendAta.address, wallet, 40_000_000n, [], { abortSignal }),
  );
  assert.equal((await getAccount(connection, friendAta.address)).amount, 40_000_000n);
  assert.equal(await ledgerBalance(friend, mint), 40_000_000n);
  assert.equal(await ledgerBalance(wallet.publicKey, mint), 60_000_000n);

  // And back to the dev identity through its Solana address: its ERC-20 balance grows.
  const devBefore = await erc20Balance(mint, devEvm);
  const devAta = await within(WAIT_MS, "the dev identity's associated token account", (abortSignal) =>
    getOrCreateAssociatedTokenAccount(connection, wallet, mint, devSvm, false, undefined, { abortSignal }),
  );
  const sent = await within(WAIT_MS, "the transfer of 10 back to the dev identity", (abortSignal) =>
    transfer(connection, wallet, walletAta.address, devAta.address, wallet, 10_000_000n, [], { abortSignal }),
  );
  assert.equal(await erc20Balance(mint, devEvm), devBefore + 10_000_000n);
  // ...and the ERC-20 view logs it as a Transfer event to the identity's Ethereum address, in
  // the block (slot) the Solana transaction landed in.
  const { slot } = await connection.getTransaction(sent, { commitment: "confirmed" });
  const block = "0x" + slot.toString(16);
  const logs = await nvm("eth_getLogs", [{ fromBlock: block, toBlock: block, address: erc20View(mint) }]);
  const TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
  const toDev = logs.filter((l) => l.topics[0] === TRANSFER && l.topics[2] === "0x" + devEvm.slice(2).toLowerCase().padStart(64, "0"));
  assert.equal(toDev.length, 1, JSON.stringify(logs));
  assert.equal(BigInt(toDev[0].data), 10_000_000n);
  assert.equal((await getAccount(connection, devAta.address)).amount, devBefore + 10_000_000n);
});

test("a ledger balance nobody made an account for is listed where Solana tools look for holders", { timeout: 120_000 }, async () => {
  const mint = ledgerMint();
  // 7 tokens reach the wallet's Solana address natively: no one creates its associated account.
  const wallet = await walletSentLedgerTokens(7);
  const walletAta = getAssociatedTokenAddressSync(mint, wallet.publicKey);

  // getProgramAccounts lists it (by mint, as wallets and explorers ask), and the mint itself.
  const byMint = await connection.getProgramAccounts(TOKEN_PROGRAM_ID, {
    filters: [{ dataSize: 165 }, { memcmp: { offset: 0, bytes: mint.toBase58() } }],
  });
  const listed = byMint.find((a) => a.pubkey.equals(walletAta));
  assert.ok(listed, "the wallet's associated account is listed");
  assert.equal((await getAccount(connection, walletAta)).amount, 7_000_000n);
  const mints = await connection.getProgramAccounts(TOKEN_PROGRAM_ID, { filters: [{ dataSize: 82 }] });
  assert.ok(mints.some((a) => a.pubkey.equals(mint)), "the natively made mint is listed");

  // getTokenLargestAccounts: the dev identity (the issuer) first, the wallet among the holders,
  // largest first, each amount what its account shows.
  const largest = (await connection.getTokenLargestAccounts(mint)).value;
  assert.ok(largest.length >= 2 && largest.length <= 20, JSON.stringify(largest));
  for (let i = 1; i < largest.length; i++) {
    assert.ok(BigInt(largest[i - 1].amount) >= BigInt(largest[i].amount), "largest first");
  }
  const walletEntry = largest.find((a) => a.address.equals(walletAta));
  assert.equal(walletEntry?.amount, "7000000");
  assert.equal(walletEntry.decimals, 6);
  assert.equal(walletEntry.uiAmountString, "7");

  // An SPL transfer out of the account nobody created: the ledger balance moves, and the
  // listing follows it.
  const friend = Keypair.generate().publicKey;
  const friendAta = await within(WAIT_MS, "the friend's associated token account", (abortSignal) =>
    getOrCreateAssociatedTokenAccount(connection, wallet, mint, friend, false, undefined, { abortSignal }),
  );
  await within(WAIT_MS, "the transfer of 3 out of the uncreated account", (abortSignal) =>
    transfer(connection, wallet, walletAta, friendAta.address, wallet, 3_000_000n, [], { abortSignal }),
  );
  assert.equal(await ledgerBalance(friend, mint), 3_000_000n);
  const after = (await connection.getTokenLargestAccounts(mint)).value;
  assert.equal(after.find((a) => a.address.equals(walletAta))?.amount, "4000000");
  assert.equal(after.find((a) => a.address.equals(friendAta.address))?.amount, "3000000");
  await assert.rejects(connection.getTokenLargestAccounts(wallet.publicKey), /not a Token mint/);

  // Emptied, the account stays listed at 0, as an SPL token account stays until it is closed.
  await within(WAIT_MS, "the transfer of the other 4", (abortSignal) =>
    transfer(connection, wallet, walletAta, friendAta.address, wallet, 4_000_000n, [], { abortSignal }),
  );
  const emptied = await connection.getProgramAccounts(TOKEN_PROGRAM_ID, {
    filters: [{ dataSize: 165 }, { memcmp: { offset: 0, bytes: mint.toBase58() } }],
  });
  assert.ok(emptied.some((a) => a.pubkey.equals(walletAta)), "the emptied account is listed");
  assert.equal((await getAccount(connection, walletAta)).amount, 0n);

  // getLargestAccounts: native balances in lamports, largest first; nothing is non-circulating.
  const rich = (await connection.getLargestAccounts()).value;
  assert.ok(rich.length >= 2 && rich.length <= 20, JSON.stringify(rich));
  for (let i = 1; i < rich.length; i++) assert.ok(rich[i - 1].lamports >= rich[i].lamports, "largest first");
  assert.ok(rich[0].lamports > 1_000_000_000, "the richest holds more than the wallet's airdrop");
  assert.deepEqual((await connection.getLargestAccounts({ filter: "nonCirculating" })).value, []);
});
