// @solana/web3.js 1.x, unmodified, against a real `nvm node --dev`: airdrops, transfers confirmed
// over the pub-sub WebSocket, legacy and v0 messages, simulation, program deployment through the
// upgradeable BPF loader and invocation of the mainnet SPL Memo build, and every bad input a wallet
// can send. Balances are checked again through n-VM's own and Ethereum's RPC.
// Needs NVM_SOLANA_RPC_URL, NVM_RPC_URL, NVM_DEV_SVM / NVM_DEV_EVM (the dev identity's addresses)
// and NVM_MEMO_SO (the SPL Memo ELF).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import {
  Keypair,
  LAMPORTS_PER_SOL,
  PublicKey,
  SendTransactionError,
  SystemProgram,
  Transaction,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
  sendAndConfirmTransaction,
} from "@solana/web3.js";

import { WAIT_MS, airdrop, connection, nvm, sendError, within } from "./common.mjs";

const devSvm = new PublicKey(process.env.NVM_DEV_SVM);
const devEvm = process.env.NVM_DEV_EVM;
const payer = Keypair.generate();

/// `sendAndConfirmTransaction` within WAIT_MS, failing with `what` named.
function sendAndConfirm(what, tx, signers) {
  return within(WAIT_MS, what, (abortSignal) => sendAndConfirmTransaction(connection, tx, signers, { abortSignal }));
}

test("cluster facts", { timeout: 120_000 }, async () => {
  const version = await connection.getVersion();
  assert.ok(version["solana-core"]);
  const genesis = await connection.getGenesisHash();
  assert.equal(new PublicKey(genesis).toBytes().length, 32);
  const slot = await connection.getSlot();
  const height = await connection.getBlockHeight();
  assert.ok(height >= slot);
  const epoch = await connection.getEpochInfo();
  assert.equal(epoch.absoluteSlot >= slot, true);
  const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash("finalized");
  assert.equal(lastValidBlockHeight >= height + 150, true);
  assert.equal((await connection.isBlockhashValid(blockhash)).value, true);
  assert.equal((await connection.isBlockhashValid(Keypair.generate().publicKey.toBase58())).value, false);
  assert.equal(await connection.getMinimumBalanceForRentExemption(0), 890880);
});

test("airdrop and a System transfer, confirmed over the WebSocket", { timeout: 120_000 }, async () => {
  await airdrop(payer.publicKey, 5 * LAMPORTS_PER_SOL);
  assert.equal(await connection.getBalance(payer.publicKey), 5 * LAMPORTS_PER_SOL);

  const recipient = Keypair.generate().publicKey;
  let subscription;
  const seen = new Promise((resolve) => {
    subscription = connection.onAccountChange(recipient, (account, context) => resolve({ account, context }));
  });
  const transfer = new Transaction().add(
    SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: recipient, lamports: 1_234_567 }),
  );
  let signature, notified;
  try {
    signature = await sendAndConfirm("the System transfer of 1234567 lamports", transfer, [payer]);
    notified = await within(WAIT_MS, `the account notification of ${recipient.toBase58()}`, seen);
  } finally {
    // Unsubscribed on a timeout too: an open subscription would keep the process alive.
    connection.removeAccountChangeListener(subscription);
  }
  assert.equal(notified.account.lamports, 1_234_567);
  assert.ok(notified.context.slot > 0);
  assert.equal(await connection.getBalance(recipient), 1_234_567);
  assert.equal(await connection.getBalance(payer.publicKey), 5 * LAMPORTS_PER_SOL - 1_234_567 - 5000);

  const [status] = (await connection.getSignatureStatuses([signature])).value;
  assert.equal(status.err, null);
  assert.equal(status.confirmationStatus, "finalized");
  const tx = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
  assert.equal(tx.meta.err, null);
  assert.equal(tx.meta.fee, 5000);
  assert.equal(tx.transaction.message.staticAccountKeys[0].toBase58(), payer.publicKey.toBase58());
  assert.equal(tx.meta.preBalances[0] - tx.meta.postBalances[0], 1_234_567 + 5000);
  assert.equal(tx.meta.postBalances[1], 1_234_567);
  assert.ok(tx.meta.logMessages.some((l) => l.includes("11111111111111111111111111111111 success")));
});

test("a v0 message to the dev identity's Solana address shows in its EVM balance", { timeout: 120_000 }, async () => {
  const before = BigInt(await nvm("eth_getBalance", [devEvm, "latest"]));
  const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash();
  const message = new TransactionMessage({
    payerKey: payer.publicKey,
    recentBlockhash: blockhash,
    instructions: [SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: devSvm, lamports: 7_000_000 })],
  }).compileToV0Message();
  const tx = new VersionedTransaction(message);
  tx.sign([payer]);
  const signature = await connection.sendTransaction(tx);
  // Finalized, as a wallet that waits for `finalized` asks for it: blocks are committed only
  // once consensus finalized them.
  const result = await within(WAIT_MS, `finality of the v0 transfer ${signature}`, (abortSignal) =>
    connection.confirmTransaction({ signature, blockhash, lastValidBlockHeight, abortSignal }, "finalized"),
  );
  assert.equal(result.value.err, null);
  const { value: [status] } = await connection.getSignatureStatuses([signature]);
  assert.equal(status.confirmationStatus, "finalized");
  const fetched = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0, commitment: "finalized" });
  assert.ok((await connection.getSlot("finalized")) >= fetched.slot);
  assert.equal(fetched.version, 0);
  const after = BigInt(await nvm("eth_getBalance", [devEvm, "latest"]));
  // Lamports are the native token in 9 decimals; wei in 18. The dev identity also proposes
  // the dev chain's blocks, so it collected this transaction's fee too.
  assert.equal(after - before, (7_000_000n + BigInt(fetched.meta.fee)) * 1_000_000_000n);
  const ledger = await nvm("nvm_getBalance", [`svm:${devSvm.toBase58()}`]);
  assert.equal(BigInt(ledger.balance), after);
});

test("simulation reports logs and units without changing anything", { timeout: 120_000 }, async () => {
  const recipient = Keypair.generate().publicKey;
  const tx = new Transaction().add(
    SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: recipient, lamports: 1_000_000 }),
  );
  tx.feePayer = payer.publicKey;
  tx.recentBlockhash = (await connection.getLatestBlockhash()).blockhash;
  const balance = await connection.getBalance(payer.publicKey);
  const simulated = await connection.simulateTransaction(tx, [payer], [recipient]);
  assert.equal(simulated.value.err, null);
  assert.ok(simulated.value.unitsConsumed > 0);
  assert.ok(simulated.value.logs.length > 0);
  assert.equal(simulated.value.accounts[0].lamports, 1_000_000);
  assert.equal(await connection.getBalance(recipient), 0);
  assert.equal(await connection.getBalance(payer.publicKey), balance);
});

test("bad input is refused with Solana's errors and changes nothing", { timeout: 120_000 }, async () => {
  const recipient = Keypair.generate().publicKey;
  const balance = await connection.getBalance(payer.publicKey);
  const { blockhash } = await connection.getLatestBlockhash();
  const transfer = (lamports, hash = blockhash) => {
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: hash }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: recipient, lamports }),
    );
    tx.sign(payer);
    return tx;
  };

  // A signature that does not verify.
  const tampered = transfer(1000).serialize();
  tampered[10] ^= 0xff;
  const badSignature = await sendError(tampered, { skipPreflight: true });
  assert.match(badSignature.message, /signature verification failure/);

  // A blockhash the chain never had.
  const unknown = await sendError(transfer(1000, Keypair.generate().publicKey.toBase58()).serialize());
  assert.ok(unknown instanceof SendTransactionError);
  assert.match(unknown.message, /Blockhash not found/);

  // Not a transaction at all.
  const garbage = await sendError(Buffer.from([1, 2, 3, 4, 5]));
  assert.match(garbage.message, /deserialize|failed/);

  // More lamports than the payer has: the System program refuses in preflight.
  const overdraft = await sendError(transfer(balance * 2).serialize());
  assert.ok(overdraft instanceof SendTransactionError);
  assert.match(overdraft.message, /simulation failed/);
  const logs = await overdraft.getLogs(connection);
  assert.ok(logs.some((l) => l.includes("insufficient lamports")), logs.join("\n"));

  // The same overdraft past preflight lands as a failed transaction: only the fee is paid.
  const failed = transfer(balance * 2 + 1);
  const signature = await connection.sendRawTransaction(failed.serialize(), { skipPreflight: true });
  const latest = await connection.getLatestBlockhash();
  const result = await within(WAIT_MS, `confirmation of the failing overdraft ${signature}`, (abortSignal) =>
    connection.confirmTransaction({ signature, ...latest, abortSignal }),
  );
  assert.deepEqual(result.value.err, { InstructionError: [0, { Custom: 1 }] });
  assert.equal(await connection.getBalance(payer.publicKey), balance - 5000);

  // Its replay is refused.
  const replay = await sendError(failed.serialize(), { skipPreflight: true });
  assert.match(replay.message, /already been processed/);
  assert.equal(await connection.getBalance(payer.publicKey), balance - 5000);
  assert.equal(await connection.getBalance(recipient), 0);
});

const LOADER = new PublicKey("BPFLoaderUpgradeab1e11111111111111111111111");

/// `UpgradeableLoaderInstruction` as bincode lays it out: a u32 tag, then its fields.
function loaderInstruction(tag, ...fields) {
  return Buffer.concat([Buffer.from(new Uint32Array([tag]).buffer), ...fields]);
}

function u64(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

/// Deploys an ELF the way `solana program deploy` does: a buffer account written in chunks,
/// then DeployWithMaxDataLen into a fresh program account.
async function deploy(elf) {
  const buffer = Keypair.generate();
  const program = Keypair.generate();
  const bufferSize = 37 + elf.length;
  const create = new Transaction().add(
    SystemProgram.createAccount({
      fromPubkey: payer.publicKey,
      newAccountPubkey: buffer.publicKey,
      lamports: await connection.getMinimumBalanceForRentExemption(bufferSize),
      space: bufferSize,
      programId: LOADER,
    }),
    new TransactionInstruction({
      programId: LOADER,
      keys: [
        { pubkey: buffer.publicKey, isSigner: false, isWritable: true },
        { pubkey: payer.publicKey, isSigner: false, isWritable: false },
      ],
      data: loaderInstruction(0),
    }),
  );
  await sendAndConfirm("the buffer account's creation", create, [payer, buffer]);

  const chunk = 900;
  const writes = [];
  for (let offset = 0; offset < elf.length; offset += chunk) {
    const bytes = elf.subarray(offset, offset + chunk);
    const offsetField = Buffer.from(new Uint32Array([offset]).buffer);
    const write = new Transaction().add(
      new TransactionInstruction({
        programId: LOADER,
        keys: [
          { pubkey: buffer.publicKey, isSigner: false, isWritable: true },
          { pubkey: payer.publicKey, isSigner: true, isWritable: false },
        ],
        data: loaderInstruction(1, offsetField, u64(bytes.length), bytes),
      }),
    );
    writes.push(sendAndConfirm(`the buffer write at offset ${offset}`, write, [payer]));
  }
  await Promise.all(writes);

  const [programData] = PublicKey.findProgramAddressSync([program.publicKey.toBuffer()], LOADER);
  const deployTx = new Transaction().add(
    SystemProgram.createAccount({
      fromPubkey: payer.publicKey,
      newAccountPubkey: program.publicKey,
      lamports: await connection.getMinimumBalanceForRentExemption(36),
      space: 36,
      programId: LOADER,
    }),
    new TransactionInstruction({
      programId: LOADER,
      keys: [
        { pubkey: payer.publicKey, isSigner: true, isWritable: true },
        { pubkey: programData, isSigner: false, isWritable: true },
        { pubkey: program.publicKey, isSigner: false, isWritable: true },
        { pubkey: buffer.publicKey, isSigner: false, isWritable: true },
        { pubkey: new PublicKey("SysvarRent111111111111111111111111111111111"), isSigner: false, isWritable: false },
        { pubkey: new PublicKey("SysvarC1ock11111111111111111111111111111111"), isSigner: false, isWritable: false },
        { pubkey: SystemProgram.programId, isSigner: false, isWritable: false },
        { pubkey: payer.publicKey, isSigner: true, isWritable: false },
      ],
      data: loaderInstruction(2, u64(elf.length * 2)),
    }),
  );
  await sendAndConfirm("DeployWithMaxDataLen", deployTx, [payer, program]);
  return { program: program.publicKey, programData };
}

test("deploy the SPL Memo build through the upgradeable loader and invoke it", { timeout: 120_000 }, async () => {
  const elf = fs.readFileSync(process.env.NVM_MEMO_SO);
  const { program, programData } = await deploy(elf);
  const account = await connection.getAccountInfo(program);
  assert.equal(account.executable, true);
  assert.equal(account.owner.toBase58(), LOADER.toBase58());
  const data = await connection.getAccountInfo(programData);
  assert.ok(data.data.length >= 45 + elf.length);

  // The program runs from the next block on (Solana's deployment visibility delay): wait for a
  // slot past the one the deployment landed in, at most 10 s.
  const deployedBy = await connection.getSlot();
  const deadline = Date.now() + 10_000;
  while ((await connection.getSlot()) <= deployedBy) {
    assert.ok(Date.now() < deadline, `no block after slot ${deployedBy} within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const memo = (text, signer = payer) =>
    new Transaction().add(
      new TransactionInstruction({
        programId: program,
        keys: [{ pubkey: signer.publicKey, isSigner: true, isWritable: false }],
        data: Buffer.from(text, "utf8"),
      }),
    );
  const signature = await sendAndConfirm("the memo transaction", memo("hello from n-VM"), [payer]);
  const tx = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
  assert.ok(tx.meta.logMessages.some((l) => l.includes('Memo (len 15): "hello from n-VM"')), tx.meta.logMessages.join("\n"));
  assert.ok(tx.meta.computeUnitsConsumed > 0);

  // Invalid UTF-8 makes the program fail: preflight shows its logs, and nothing lands.
  const balance = await connection.getBalance(payer.publicKey);
  const bad = new Transaction().add(
    new TransactionInstruction({
      programId: program,
      keys: [{ pubkey: payer.publicKey, isSigner: true, isWritable: false }],
      data: Buffer.from([0xff, 0xfe, 0xfd]),
    }),
  );
  bad.feePayer = payer.publicKey;
  bad.recentBlockhash = (await connection.getLatestBlockhash()).blockhash;
  bad.sign(payer);
  const refused = await sendError(bad.serialize());
  assert.match(refused.message, /simulation failed/);
  assert.equal(await connection.getBalance(payer.publicKey), balance);

  // A program that runs out of compute units fails the same way.
  const { ComputeBudgetProgram } = await import("@solana/web3.js");
  const starved = memo("x".repeat(200));
  starved.instructions.unshift(ComputeBudgetProgram.setComputeUnitLimit({ units: 500 }));
  starved.feePayer = payer.publicKey;
  starved.recentBlockhash = (await connection.getLatestBlockhash()).blockhash;
  starved.sign(payer);
  const exhausted = await sendError(starved.serialize());
  const logs = await exhausted.getLogs(connection);
  assert.ok(logs.some((l) => l.includes("exceeded CUs meter") || l.includes("consumed 500 of 500")), logs.join("\n"));
  assert.equal(await connection.getBalance(payer.publicKey), balance);
});
