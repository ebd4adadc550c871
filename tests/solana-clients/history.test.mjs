// @solana/web3.js 1.x, unmodified: what solana-test-validator users read of history and follow
// live — getBlock, getBlocks, getBlockTime, getSignaturesForAddress, getFeeForMessage, getSupply,
// and the onLogs, onProgramAccountChange and onRootChange subscriptions.
// Needs NVM_SOLANA_RPC_URL and NVM_RPC_URL.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Keypair, LAMPORTS_PER_SOL, SystemProgram, Transaction, sendAndConfirmTransaction } from "@solana/web3.js";

import { WAIT_MS, airdrop, connection, within } from "./common.mjs";

const payer = Keypair.generate();
const receiver = Keypair.generate();

/// The first notification `subscribe(callback)` delivers that passes `wanted`, then unsubscribes.
async function first(what, subscribe, unsubscribe, wanted = () => true) {
  let id;
  const seen = new Promise((resolve) => {
    id = subscribe((...args) => wanted(...args) && resolve(args));
  });
  try {
    return await within(WAIT_MS, what, seen);
  } finally {
    await unsubscribe(id);
  }
}

test("a transfer in the ledger's history: its block, its account's signatures, its fee", { timeout: 120_000 }, async () => {
  await airdrop(payer.publicKey, 2 * LAMPORTS_PER_SOL);
  const tx = new Transaction().add(
    SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: receiver.publicKey, lamports: LAMPORTS_PER_SOL / 10 }),
  );
  const signature = await within(WAIT_MS, "the transfer", (abortSignal) =>
    sendAndConfirmTransaction(connection, tx, [payer], { abortSignal }),
  );
  const found = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
  const block = await connection.getBlock(found.slot, { maxSupportedTransactionVersion: 0 });
  const inBlock = block.transactions.find((t) => t.transaction.signatures[0] === signature);
  assert.ok(inBlock, `block ${found.slot} lacks ${signature}`);
  assert.equal(inBlock.meta.fee, found.meta.fee);
  assert.equal(block.parentSlot, found.slot - 1);
  assert.equal(await connection.getBlockTime(found.slot), found.blockTime);
  const slots = await connection.getBlocks(found.slot - 1, found.slot);
  assert.deepEqual(slots, [found.slot - 1, found.slot]);

  const history = await connection.getSignaturesForAddress(payer.publicKey);
  assert.equal(history[0].signature, signature, "newest first");
  assert.equal(history.length, 2, "the airdrop, then the transfer");
  assert.equal(history[0].slot, found.slot);
  assert.equal(history[0].err, null);
  assert.equal(history[0].blockTime, found.blockTime);
  assert.ok(history[1].blockTime <= history[0].blockTime);
  const older = await connection.getSignaturesForAddress(payer.publicKey, { before: signature });
  assert.deepEqual(older.map((e) => e.signature), [history[1].signature]);

  const latest = await connection.getLatestBlockhash();
  tx.recentBlockhash = latest.blockhash;
  tx.feePayer = payer.publicKey;
  const fee = await connection.getFeeForMessage(tx.compileMessage());
  assert.equal(fee.value, found.meta.fee);
  const supply = await connection.getSupply();
  assert.ok(supply.value.total >= 2 * LAMPORTS_PER_SOL);
});

test("logs, program accounts and roots, pushed over the WebSocket", { timeout: 120_000 }, async () => {
  const next = await connection.getSlot();
  const [root] = await first(
    "a root",
    (callback) => connection.onRootChange(callback),
    (id) => connection.removeRootChangeListener(id),
    (slot) => slot > next,
  );
  assert.ok(root > next);

  const account = Keypair.generate();
  const owner = Keypair.generate().publicKey;
  const logs = first(
    "the logs of a transaction naming the account",
    (callback) => connection.onLogs(account.publicKey, callback),
    (id) => connection.removeOnLogsListener(id),
  );
  const owned = first(
    "the account, created for its program",
    (callback) => connection.onProgramAccountChange(owner, callback),
    (id) => connection.removeProgramAccountChangeListener(id),
  );
  // Subscriptions are set up asynchronously: let them reach the node first.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const lamports = await connection.getMinimumBalanceForRentExemption(8);
  const create = new Transaction().add(
    SystemProgram.createAccount({ fromPubkey: payer.publicKey, newAccountPubkey: account.publicKey, lamports, space: 8, programId: owner }),
  );
  const signature = await within(WAIT_MS, "the account's creation", (abortSignal) =>
    sendAndConfirmTransaction(connection, create, [payer, account], { abortSignal }),
  );
  const [logged] = await logs;
  assert.equal(logged.signature, signature);
  assert.equal(logged.err, null);
  assert.ok(logged.logs.some((line) => line.includes("11111111111111111111111111111111")), logged.logs.join("\n"));
  const [change] = await owned;
  assert.ok(change.accountId.equals(account.publicKey));
  assert.ok(change.accountInfo.owner.equals(owner));
  assert.equal(change.accountInfo.data.length, 8);
});

test("the cluster: one validator, leading every slot, no inflation", { timeout: 60_000 }, async () => {
  const response = await fetch(process.env.NVM_SOLANA_RPC_URL, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "getIdentity", params: [] }),
  });
  const { identity } = (await response.json()).result;
  const nodes = await connection.getClusterNodes();
  assert.deepEqual(nodes.map((n) => n.pubkey), [identity]);
  const votes = await connection.getVoteAccounts();
  assert.deepEqual(votes.current.map((v) => v.nodePubkey), [identity]);
  assert.equal((await connection.getSlotLeader()), identity);
  const slot = await connection.getSlot();
  const leaders = await connection.getSlotLeaders(Math.max(1, slot - 2), 3);
  assert.ok(leaders.length > 0 && leaders.every((k) => k.toBase58() === identity), leaders.map(String).join());
  const schedule = await connection.getLeaderSchedule();
  assert.ok(schedule[identity].length > 0);
  const [sample] = await connection.getRecentPerformanceSamples(1);
  assert.ok(sample.numSlots > 0 && sample.samplePeriodSecs === 60, JSON.stringify(sample));
  assert.deepEqual(await connection.getInflationReward([payer.publicKey]), [null]);
});
