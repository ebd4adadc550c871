// One identity, every address (SPEC §2), as users of two ecosystems meet it, each with its own
// unmodified library: ethers sends ETH to a fresh Ethereum address X; @solana/web3.js finds those
// lamports at the Solana address the node shows for X's identity (`nvm_getIdentity`); a Solana
// wallet pays that address; and X's key spends all of it in one Ethereum transaction.
// Needs NVM_SOLANA_RPC_URL and NVM_RPC_URL.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Keypair, PublicKey, SystemProgram, Transaction, sendAndConfirmTransaction } from "@solana/web3.js";
import { HDNodeWallet, JsonRpcProvider, Mnemonic, Wallet, parseEther } from "ethers";
import { WAIT_MS, airdrop, connection, nvm, within } from "./common.mjs";

// No request caching: a dev block is shorter than ethers' default cache.
const provider = new JsonRpcProvider(process.env.NVM_RPC_URL, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
provider.pollingInterval = 100;
const phrase = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
const funder = HDNodeWallet.fromMnemonic(phrase, "m/44'/60'/0'/0/7").connect(provider);
const LAMPORT = 1_000_000_000n; // wei per lamport: the ledger keeps 18 decimals, Solana shows 9

/// A sent Ethereum transaction's receipt, within WAIT_MS (ethers stops polling a second later).
const mined = (tx, what) => within(WAIT_MS, `receipt of ${what} ${tx.hash}`, tx.wait(1, WAIT_MS + 1000));

test("ETH sent to an Ethereum address is at the Solana address its identity shows, and one key spends both", { timeout: 120_000 }, async () => {
  const x = Wallet.createRandom().connect(provider);
  await mined(await funder.sendTransaction({ to: x.address, value: parseEther("3") }), "3 ETH to a fresh address");

  const identity = await nvm("nvm_getIdentity", [x.address]);
  const shown = new PublicKey(identity.svm_display);
  assert.equal(await connection.getBalance(shown), 3_000_000_000, "the Solana view of X's identity");
  const again = await nvm("nvm_getIdentity", [identity.svm_display]);
  assert.equal(again.id_com, identity.id_com, "the Solana address resolves back to X's identity");

  // A Solana wallet pays that address: it is X's balance.
  const payer = Keypair.generate();
  await airdrop(payer.publicKey, 2_000_000_000);
  const pay = new Transaction().add(SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: shown, lamports: 1_000_000_000 }));
  await within(WAIT_MS, "the Solana wallet's 1 SOL to X's Solana address", (abortSignal) =>
    sendAndConfirmTransaction(connection, pay, [payer], { abortSignal }),
  );
  const held = await provider.getBalance(x.address);
  assert.equal(held, parseEther("4"), "X's Ethereum balance counts what was sent to its Solana address");

  // X's key spends everything, whichever ecosystem sent it.
  const fees = await provider.getFeeData();
  const gasCost = 21_000n * fees.maxFeePerGas;
  const spend = await x.sendTransaction({
    to: funder.address,
    value: held - gasCost,
    gasLimit: 21_000n,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
  });
  assert.equal((await mined(spend, "X's spend of 4 ETH")).status, 1);
  const left = await provider.getBalance(x.address);
  assert.ok(left < gasCost, `X kept ${left} wei`);
  assert.equal(await connection.getBalance(shown), Number(left / LAMPORT), "and so does its Solana view");
});
