// A Bitcoin wallet library, unmodified, against a real n-VM dev node: the dev identity locks ledger
// value under Bitcoin addresses with `nvm transfer --to <address>`; bitcoinjs-lib finds the UTXOs
// (`nvm_getUtxos`), builds and signs PSBTs — P2WPKH, a 2-of-3 P2WSH multisig, P2TR key-path and
// script-path spends — paying an identity's BVM address (`OP_1 <32 bytes>`, its `bc1p…`) and a change
// output; the payee identity's balance then shows in `eth_getBalance` (wei) and Solana's `getBalance`
// (lamports). Bad spends are refused with the input named, and nothing changes.
// Needs NVM_RPC_URL, NVM_SOLANA_RPC_URL, NVM_BIN and NVM_DEV_KEY.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as bitcoin from "bitcoinjs-lib";
import * as ecc from "@bitcoinerlab/secp256k1";
import { ECPairFactory } from "ecpair";
import { call } from "../js-common/rpc.mjs";

bitcoin.initEccLib(ecc);
const ECPair = ECPairFactory(ecc);
const network = bitcoin.networks.bitcoin;
const WAIT_MS = 30_000;
const WEI_PER_SAT = 10_000_000_000n;

const nvm = (method, params) => call(process.env.NVM_RPC_URL, method, params);

/// Polls `probe` until it returns something, within WAIT_MS, or fails naming `what`.
async function until(what, probe) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const found = await probe();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/// Locks `amount` native tokens under `address` with n-VM's CLI and returns the UTXO it made.
async function fund(address, amount) {
  execFileSync(process.env.NVM_BIN, ["transfer", "--key", process.env.NVM_DEV_KEY, "--to", address, "--amount", amount, "--json"], {
    env: { ...process.env, NVM_RPC: process.env.NVM_RPC_URL },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
  const utxos = await nvm("nvm_getUtxos", [address]);
  assert.equal(utxos.length, 1, `one UTXO at ${address}`);
  return utxos[0];
}

// The payee: a fresh Ethereum address's identity, made known to the node by a first payment
// (which indexes every address it shows — its BVM address among them).
const payee = "0x" + Buffer.from(ECPairFactory(ecc).makeRandom().publicKey.subarray(1, 21)).toString("hex");
let shown;
async function payeeOutput() {
  execFileSync(process.env.NVM_BIN, ["transfer", "--key", process.env.NVM_DEV_KEY, "--to", payee, "--amount", "1", "--json"], {
    env: { ...process.env, NVM_RPC: process.env.NVM_RPC_URL },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
  shown = await nvm("nvm_getIdentity", [payee]);
  // Its BVM address as a Bitcoin output: a witness-v1 program (`bc1p…`).
  return { output: Buffer.concat([Buffer.from([0x51, 0x20]), Buffer.from(shown.bvm_display.replace(/^0x/, ""), "hex")]) };
}
let devOutput;

const weiOf = async () => BigInt(await nvm("eth_getBalance", [payee, "latest"]));
const lamportsOf = async () => BigInt((await call(process.env.NVM_SOLANA_RPC_URL, "getBalance", [shown.svm_display])).value);

/// Sends `tx` and waits until a block holds it; returns the identity's gain in wei and lamports.
async function spend(tx) {
  const [wei, lamports] = [await weiOf(), await lamportsOf()];
  const tested = await nvm("nvm_testBitcoinTransaction", [tx.toHex()]);
  assert.deepEqual(tested, { txid: tx.getId(), allowed: true });
  assert.equal(await nvm("nvm_sendBitcoinTransaction", [tx.toHex()]), tx.getId());
  const found = await until(`block holding ${tx.getId()}`, async () => {
    const t = await nvm("nvm_getBitcoinTransaction", [tx.getId()]);
    return t?.blockHeight != null && t;
  });
  assert.equal(found.hex, tx.toHex());
  return [(await weiOf()) - wei, (await lamportsOf()) - lamports];
}

/// A PSBT spending `utxo` (100,000 sat) to the dev identity (60,000) and back to `change` (39,000).
function psbtFor(utxo, input, change) {
  const psbt = new bitcoin.Psbt({ network });
  psbt.addInput({ hash: utxo.txid, index: utxo.vout, witnessUtxo: { script: Buffer.from(utxo.scriptPubKey, "hex"), value: BigInt(utxo.value) }, ...input });
  psbt.addOutput({ script: devOutput.output, value: 60_000n });
  psbt.addOutput({ address: change, value: 39_000n });
  return psbt;
}

const keys = [1, 2, 3, 4, 5].map((i) => ECPair.fromPrivateKey(Buffer.alloc(32, i), { network }));

test("P2WPKH, 2-of-3 P2WSH and P2TR key-path and script-path spends signed by bitcoinjs-lib pay an identity seen by every VM", { timeout: 180_000 }, async () => {
  const expected = [60_000n * WEI_PER_SAT, 600_000n];
  devOutput = await payeeOutput();
  assert.equal(await weiOf(), 10n ** 18n);

  const p2wpkh = bitcoin.payments.p2wpkh({ pubkey: keys[0].publicKey, network });
  const coin = await fund(p2wpkh.address, "0.001");
  assert.equal(coin.value, 100_000);
  let psbt = psbtFor(coin, {}, p2wpkh.address);
  psbt.signInput(0, keys[0]);
  psbt.finalizeAllInputs();
  const first = psbt.extractTransaction();
  assert.deepEqual(await spend(first), expected, "P2WPKH");
  // The change is a UTXO of the same address; the spent coin is gone.
  const change = await nvm("nvm_getUtxos", [p2wpkh.address]);
  assert.deepEqual(change.map((u) => [u.txid, u.vout, u.value]), [[first.getId(), 1, 39_000]]);

  // Sent again: refused, nothing moves.
  await assert.rejects(nvm("nvm_sendBitcoinTransaction", [first.toHex()]), /processed|known|unspent/);

  // Two spends of the change, sent back to back: the second is a double spend, refused whether
  // the first is still pending (the mempool) or already in a block.
  const twice = [30_000n, 31_000n].map((value) => {
    const p = new bitcoin.Psbt({ network });
    p.addInput({ hash: first.getId(), index: 1, witnessUtxo: { script: p2wpkh.output, value: 39_000n } });
    p.addOutput({ script: devOutput.output, value });
    p.signInput(0, keys[0]);
    p.finalizeAllInputs();
    return p.extractTransaction();
  });
  assert.equal(await nvm("nvm_sendBitcoinTransaction", [twice[0].toHex()]), twice[0].getId());
  await assert.rejects(nvm("nvm_sendBitcoinTransaction", [twice[1].toHex()]), /conflicts with pending transaction|already spent in block \d+/);
  await until("the first spend of the change", async () => (await nvm("nvm_getBitcoinTransaction", [twice[0].getId()]))?.blockHeight != null);

  const multisig = bitcoin.payments.p2wsh({
    redeem: bitcoin.payments.p2ms({ m: 2, pubkeys: keys.slice(1, 4).map((k) => k.publicKey), network }),
    network,
  });
  psbt = psbtFor(await fund(multisig.address, "0.001"), { witnessScript: multisig.redeem.output }, multisig.address);
  // One signature is not enough.
  const once = psbt.clone();
  once.signInput(0, keys[1]);
  assert.throws(() => once.finalizeAllInputs());
  psbt.signInput(0, keys[1]);
  psbt.signInput(0, keys[3]);
  psbt.finalizeAllInputs();
  assert.deepEqual(await spend(psbt.extractTransaction()), expected, "2-of-3 P2WSH");

  const internal = keys[4].publicKey.subarray(1, 33);
  const taproot = bitcoin.payments.p2tr({ internalPubkey: internal, network });
  const tweaked = keys[4].tweak(bitcoin.crypto.taggedHash("TapTweak", internal));
  const tapCoin = await fund(taproot.address, "0.001");
  psbt = psbtFor(tapCoin, { tapInternalKey: internal }, taproot.address);
  // Signed by the untweaked key: a valid Schnorr signature, for the wrong key — refused, input named.
  const wrong = psbt.clone();
  wrong.signInput(0, tweaked);
  wrong.finalizeAllInputs();
  const forged = wrong.extractTransaction();
  forged.ins[0].witness = [Buffer.from(ecc.signSchnorr(Buffer.alloc(32, 9), keys[4].privateKey.subarray(0, 32)))];
  const refused = await nvm("nvm_testBitcoinTransaction", [forged.toHex()]);
  assert.equal(refused.allowed, false);
  assert.match(refused["reject-reason"], /input 0: SCRIPT_ERR_SCHNORR_SIG/);
  await assert.rejects(nvm("nvm_sendBitcoinTransaction", [forged.toHex()]), /input 0: SCRIPT_ERR_SCHNORR_SIG/);
  assert.equal((await nvm("nvm_getUtxos", [taproot.address])).length, 1, "the coin is still unspent");

  psbt.signInput(0, tweaked);
  psbt.finalizeAllInputs();
  assert.deepEqual(await spend(psbt.extractTransaction()), expected, "P2TR key path");

  // A taproot script-path spend: the leaf `<keys[2]> OP_CHECKSIG` under keys[1] as internal key,
  // revealed with its control block and satisfied by keys[2]'s Schnorr signature.
  const leaf = bitcoin.script.compile([keys[2].publicKey.subarray(1, 33), bitcoin.opcodes.OP_CHECKSIG]);
  const redeem = { output: leaf, redeemVersion: 0xc0 };
  const tree = bitcoin.payments.p2tr({ internalPubkey: keys[1].publicKey.subarray(1, 33), scriptTree: { output: leaf }, redeem, network });
  const leafCoin = await fund(tree.address, "0.001");
  const controlBlock = tree.witness[tree.witness.length - 1];
  psbt = psbtFor(leafCoin, { tapLeafScript: [{ leafVersion: redeem.redeemVersion, script: leaf, controlBlock }] }, tree.address);
  // The internal key cannot sign for the leaf.
  assert.throws(() => psbt.clone().signInput(0, keys[1]));
  psbt.signInput(0, keys[2]);
  psbt.finalizeAllInputs();
  assert.deepEqual(await spend(psbt.extractTransaction()), expected, "P2TR script path");
});

/// Signs `text` as Bitcoin wallets' "sign message" does (Bitcoin Signed Message, BIP-137, a
/// compressed key's header), in base64 as they show it.
function signMessage(keyPair, text) {
  const message = Buffer.from(text, "utf8");
  assert.ok(message.length < 253, "a one-byte length prefix");
  const prefix = Buffer.from("\x18Bitcoin Signed Message:\n", "latin1");
  const digest = bitcoin.crypto.hash256(Buffer.concat([prefix, Buffer.from([message.length]), message]));
  const { signature, recoveryId } = ecc.signRecoverable(digest, keyPair.privateKey);
  return Buffer.concat([Buffer.from([31 + recoveryId]), Buffer.from(signature)]).toString("base64");
}

const cli = (args) =>
  execFileSync(process.env.NVM_BIN, args, {
    env: { ...process.env, NVM_RPC: process.env.NVM_RPC_URL },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  }).toString();

test("a Bitcoin key that signs the link message brings its coins to the identity, and is paid as it", { timeout: 120_000 }, async () => {
  const key = ECPair.fromPrivateKey(Buffer.alloc(32, 6), { network });
  const p2wpkh = bitcoin.payments.p2wpkh({ pubkey: key.publicKey, network });
  const p2pkh = bitcoin.payments.p2pkh({ pubkey: key.publicKey, network });
  await fund(p2wpkh.address, "0.001");
  await fund(p2pkh.address, "0.002");
  const dev = JSON.parse(cli(["identity", "derive", "--key", process.env.NVM_DEV_KEY, "--json"])).evm_display;
  const wei = async () => BigInt(await nvm("eth_getBalance", [dev, "latest"]));

  const text = cli(["identity", "link-message", "--bitcoin", "--key", process.env.NVM_DEV_KEY]).trim();
  assert.match(text, /^n-VM: link this Bitcoin account to identity 0x[0-9a-f]{64} on chain \d+$/);
  // Signed by another key: the link fails, the coins stay.
  const other = ECPair.fromPrivateKey(Buffer.alloc(32, 7), { network });
  const args = (signature) => ["identity", "link-btc", "--key", process.env.NVM_DEV_KEY, "--btc-key", Buffer.from(key.publicKey).toString("hex"), "--signature", signature, "--json"];
  assert.throws(() => cli(args(signMessage(other, text))), /made by key/);
  assert.equal((await nvm("nvm_getUtxos", [p2wpkh.address])).length, 1);

  const before = await wei();
  const receipt = JSON.parse(cli(args(signMessage(key, text))));
  assert.equal(receipt.status, "success");
  // (The dev identity proposes the dev node's blocks: the fee it pays comes back to it.)
  assert.ok(BigInt(receipt.feePaid) > 0n);
  assert.equal(await wei(), before + 300_000n * WEI_PER_SAT);
  assert.deepEqual(await nvm("nvm_getUtxos", [p2wpkh.address]), []);
  assert.deepEqual(await nvm("nvm_getUtxos", [p2pkh.address]), []);
  const holder = await nvm("nvm_getScriptHolder", [p2wpkh.address]);
  assert.equal(holder.linked, true);

  // Paid from now on: the identity's balance, not a coin.
  const paid = await wei();
  cli(["transfer", "--key", process.env.NVM_DEV_KEY, "--to", p2wpkh.address, "--amount", "0.001", "--json"]);
  assert.deepEqual(await nvm("nvm_getUtxos", [p2wpkh.address]), []);
  assert.equal(await wei(), paid, "the value came back to the identity");
});
