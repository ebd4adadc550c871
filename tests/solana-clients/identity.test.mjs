// One identity, every address (SPEC §2), as users of two ecosystems meet it, each with its own
// unmodified library: ethers sends ETH to a fresh Ethereum address X; @solana/web3.js finds those
// lamports at the Solana address the node shows for X's identity (`nvm_getIdentity`); a Solana
// wallet pays that address; and X's key spends all of it in one Ethereum transaction. And an SPL
// token made and moved with @solana/spl-token shows, through ethers, in the ERC-20 view of the
// same mint at the Ethereum address of the recipient's identity. And a token minted with n-VM's
// CLI to a Solana wallet is at that wallet's associated token account — which nobody created —
// where `getTokenAccountsByOwner` finds it and @solana/spl-token moves part of it.
// And an identity with no Solana key runs a message built with @solana/web3.js as its own Solana
// address (`nvm svm invoke`).
// Needs NVM_SOLANA_RPC_URL, NVM_RPC_URL, NVM_BIN, NVM_DEV_KEY, NVM_DEV_SVM and NVM_LEDGER_TOKEN (a
// token the dev identity created natively, with 6 decimals).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Keypair, PublicKey, SystemProgram, Transaction, sendAndConfirmTransaction } from "@solana/web3.js";
import {
  TOKEN_PROGRAM_ID,
  createMint,
  getAccount,
  getAssociatedTokenAddressSync,
  getOrCreateAssociatedTokenAccount,
  mintTo,
  transfer,
  transferChecked,
} from "@solana/spl-token";
import { Contract, HDNodeWallet, JsonRpcProvider, Mnemonic, Wallet, ethers, parseEther } from "ethers";
import { WAIT_MS, airdrop, cli, connection, nvm, within } from "./common.mjs";

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

/// SPEC §3: a mint's ERC-20 view answers at SHA-256("erc20-addr:" ‖ mint)[12..32].
function erc20Address(mint) {
  return ethers.getAddress(ethers.dataSlice(ethers.sha256(ethers.concat([ethers.toUtf8Bytes("erc20-addr:"), mint.toBytes()])), 12));
}

test("an SPL balance is in the ERC-20 view of the same mint, at the recipient identity's Ethereum address", { timeout: 120_000 }, async () => {
  const [a, b, authority] = [Keypair.generate(), Keypair.generate(), Keypair.generate()];
  await airdrop(a.publicKey, 2_000_000_000);
  const mint = await within(WAIT_MS, "createMint", (abortSignal) =>
    createMint(connection, a, authority.publicKey, null, 6, undefined, { abortSignal }),
  );
  const ata = (owner, what) =>
    within(WAIT_MS, what, (abortSignal) => getOrCreateAssociatedTokenAccount(connection, a, mint, owner, false, undefined, { abortSignal }));
  const [fromA, toB] = [await ata(a.publicKey, "A's token account"), await ata(b.publicKey, "B's token account")];
  await within(WAIT_MS, "mintTo A", (abortSignal) => mintTo(connection, a, mint, fromA.address, authority, 1_000_000n, [], { abortSignal }));
  await within(WAIT_MS, "A's transfer of 250,000 to B", (abortSignal) =>
    transfer(connection, a, fromA.address, toB.address, a, 250_000n, [], { abortSignal }),
  );

  const view = new Contract(erc20Address(mint), ["function totalSupply() view returns (uint256)", "function balanceOf(address) view returns (uint256)"], provider);
  assert.equal(await view.totalSupply(), 1_000_000n);
  const bIdentity = await nvm("nvm_getIdentity", [b.publicKey.toBase58()]);
  assert.equal(await view.balanceOf(bIdentity.evm_display), 250_000n, "B's identity's Ethereum address");
  const aIdentity = await nvm("nvm_getIdentity", [a.publicKey.toBase58()]);
  assert.equal(await view.balanceOf(aIdentity.evm_display), 750_000n, "A's identity's Ethereum address");
});

test("a token minted natively to a Solana wallet is at its associated account, found by owner and moved by spl-token", { timeout: 120_000 }, async () => {
  const mint = new PublicKey(Buffer.from(process.env.NVM_LEDGER_TOKEN.slice(2), "hex"));
  const [wallet, b] = [Keypair.generate(), Keypair.generate()];
  await airdrop(wallet.publicKey, 1_000_000_000);
  cli("token", "mint", "--key", process.env.NVM_DEV_KEY, "--token", process.env.NVM_LEDGER_TOKEN,
    "--to", `svm:${wallet.publicKey.toBase58()}`, "--amount", "5", "--json");

  // Nobody created the wallet's associated token account; it is there, with the balance.
  const ata = getAssociatedTokenAddressSync(mint, wallet.publicKey);
  const byMint = await connection.getTokenAccountsByOwner(wallet.publicKey, { mint });
  assert.deepEqual(byMint.value.map((a) => a.pubkey.toBase58()), [ata.toBase58()]);
  const parsed = await connection.getParsedTokenAccountsByOwner(wallet.publicKey, { programId: TOKEN_PROGRAM_ID });
  assert.deepEqual(parsed.value.map((a) => [a.pubkey.toBase58(), a.account.data.parsed.info.tokenAmount.amount]), [[ata.toBase58(), "5000000"]]);
  assert.equal((await connection.getTokenAccountBalance(ata)).value.uiAmountString, "5");
  const account = await getAccount(connection, ata);
  assert.deepEqual([account.owner.toBase58(), account.mint.toBase58(), account.amount], [wallet.publicKey.toBase58(), mint.toBase58(), 5_000_000n]);

  // The wallet's key moves 2 of it to B's new account, as any SPL transfer.
  const toB = await within(WAIT_MS, "B's token account", (abortSignal) =>
    getOrCreateAssociatedTokenAccount(connection, wallet, mint, b.publicKey, false, undefined, { abortSignal }));
  await within(WAIT_MS, "the wallet's transfer of 2 to B", (abortSignal) =>
    transferChecked(connection, wallet, ata, mint, toB.address, wallet, 2_000_000n, 6, [], { abortSignal }));
  assert.equal((await getAccount(connection, ata)).amount, 3_000_000n);
  assert.equal((await getAccount(connection, toB.address)).amount, 2_000_000n);
  const ledger = await nvm("nvm_getBalance", [`svm:${wallet.publicKey.toBase58()}`, process.env.NVM_LEDGER_TOKEN]);
  assert.equal(ledger.balance, "3000000", "the ledger balance the account shows");
});

test("an identity with no Solana key runs a message built with @solana/web3.js as its Solana address (nvm svm invoke)", { timeout: 60_000 }, async () => {
  // The dev identity's credential is an n-VM Ed25519 key; its Solana address is derived (no
  // Solana key exists for it), so the CLI signs the message's envelope instead.
  const dev = new PublicKey(process.env.NVM_DEV_SVM);
  const to = Keypair.generate().publicKey;
  const { blockhash } = await connection.getLatestBlockhash();
  const tx = new Transaction({ feePayer: dev, recentBlockhash: blockhash }).add(
    SystemProgram.transfer({ fromPubkey: dev, toPubkey: to, lamports: 1_234_567 }),
  );
  const message = tx.serializeMessage().toString("base64");
  const receipt = JSON.parse(cli("svm", "invoke", "--key", process.env.NVM_DEV_KEY, "--message", message, "--json"));
  assert.equal(receipt.status, "success");
  assert.equal(await connection.getBalance(to), 1_234_567);

  // A message whose signer is another wallet's address: included as failed, nothing moves.
  const other = Keypair.generate().publicKey;
  const stolen = new Transaction({ feePayer: other, recentBlockhash: blockhash }).add(
    SystemProgram.transfer({ fromPubkey: other, toPubkey: to, lamports: 1 }),
  );
  assert.throws(
    () => cli("svm", "invoke", "--key", process.env.NVM_DEV_KEY, "--message", stolen.serializeMessage().toString("base64")),
    /not one of the sender's Solana addresses/,
  );
  assert.equal(await connection.getBalance(to), 1_234_567);
});
