// anvil's dev methods as a Foundry or Hardhat workflow calls them, against a real `nvm node --dev`:
// cast (1.7, from npm, unmodified) sets balances, nonces, code and storage, takes and reverts
// snapshots, moves time, mines and sends as an impersonated account; ethers calls the hardhat_
// names and deploys through an impersonated JsonRpcSigner. Each change lands in a block (the dev
// authority's DevWriteState) and is read back through the ordinary Ethereum methods. Needs
// NVM_RPC_URL and NVM_ARTIFACTS (from compile.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { ContractFactory, HDNodeWallet, JsonRpcProvider, Mnemonic, ethers } from "ethers";

import { call, within } from "../js-common/rpc.mjs";
import { cast as castAt } from "./cast.mjs";

const url = process.env.NVM_RPC_URL;
const artifacts = JSON.parse(fs.readFileSync(process.env.NVM_ARTIFACTS, "utf8"));
const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
provider.pollingInterval = 100;
const phrase = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
// An account of its own (the other scripts use 0, 2 and 5).
const sender = HDNodeWallet.fromMnemonic(phrase, "m/44'/60'/0'/0/6").connect(provider);
const WAIT_MS = 30_000;
const cast = (...args) => castAt(url, ...args);
const NATIVE = `0x${"00".repeat(32)}`;
const supply = async () => BigInt((await call(url, "nvm_getToken", [NATIVE])).supply);

test("anvil_set*, evm_snapshot/evm_revert and evm_mine, as cast and ethers call them", { timeout: 180_000 }, async () => {
  const someone = ethers.Wallet.createRandom().address;
  const slot = `0x${"00".repeat(31)}07`;

  // A balance set out of nothing is new value: the native supply grows by as much.
  const supplyBefore = await supply();
  assert.equal(await cast("rpc", "anvil_setBalance", someone, "0x3e8"), "null");
  assert.equal(await cast("balance", someone), "1000");
  assert.equal(await supply(), supplyBefore + 1000n);

  // A snapshot, then everything else changes: nonce, code, storage, a deployed contract.
  const snapshot = JSON.parse(await cast("rpc", "evm_snapshot"));
  await cast("rpc", "anvil_setNonce", someone, "0x5");
  await cast("rpc", "anvil_setCode", someone, "0x6001600055");
  assert.equal(await cast("rpc", "anvil_setStorageAt", someone, "0x7", `0x${"00".repeat(31)}2a`), "true");
  assert.equal(await provider.send("hardhat_setBalance", [someone, "0x7d0"]), null);
  assert.equal(await cast("nonce", someone), "5");
  assert.equal(await cast("code", someone), "0x6001600055");
  assert.equal(BigInt(await cast("storage", someone, slot)), 42n);
  assert.equal(await provider.getBalance(someone), 2000n);
  const { Token } = artifacts;
  const token = await within(WAIT_MS, "Token deployment", new ContractFactory(Token.abi, Token.bytecode, sender).deploy("Dev", "DEV", 5n));
  await within(WAIT_MS, "Token deployed", token.waitForDeployment());
  const tokenAddress = await token.getAddress();
  assert.notEqual(await cast("code", tokenAddress), "0x");
  const senderNonce = await provider.getTransactionCount(sender.address);

  // Reverted: all of it is as it was at the snapshot, the supply too.
  assert.equal(await cast("rpc", "evm_revert", snapshot), "true");
  assert.equal(await cast("balance", someone), "1000");
  assert.equal(await cast("nonce", someone), "0");
  assert.equal(await cast("code", someone), "0x");
  assert.equal(BigInt(await cast("storage", someone, slot)), 0n);
  assert.equal(await cast("code", tokenAddress), "0x");
  assert.equal(await provider.getTransactionCount(sender.address), senderNonce - 1);
  // An id that names no snapshot: false, nothing changes.
  assert.equal(await cast("rpc", "evm_revert", "0x0"), "false");
  assert.equal(await cast("rpc", "evm_revert", "0xffffffff"), "false");

  // Mining waits for the chain's next blocks.
  const before = await provider.getBlockNumber();
  assert.equal(await cast("rpc", "evm_mine"), '"0x0"');
  await cast("rpc", "anvil_mine", "0x2");
  assert.ok((await provider.getBlockNumber()) >= before + 3);

  // Time: later blocks stamped an hour later; then the next block at a time of our choosing.
  const t0 = (await provider.getBlock("latest")).timestamp;
  assert.equal(Number(await cast("rpc", "evm_increaseTime", "3600")) >= 3600, true);
  // (A block being built when the call came may land first, with the time it had.)
  await cast("rpc", "anvil_mine", "0x2");
  const t1 = (await provider.getBlock("latest")).timestamp;
  assert.ok(t1 >= t0 + 3600, `${t0} -> ${t1}`);
  const chosen = t1 + 86_400;
  assert.equal(await cast("rpc", "evm_setNextBlockTimestamp", String(chosen)), "null");
  // (A block being built when the call came may land first, with the time it had.)
  await cast("rpc", "anvil_mine", "0x2");
  let block = await provider.getBlock("latest");
  while ((await provider.getBlock(block.number - 1)).timestamp >= chosen) block = await provider.getBlock(block.number - 1);
  assert.equal(block.timestamp, chosen, "the first block stamped at or after the chosen time is stamped at it");
  await assert.rejects(cast("rpc", "evm_setNextBlockTimestamp", String(t0)), /not after the head block/);

  // Impersonation: an account whose key nobody holds sends, as Foundry's `cast send --unlocked`
  // and ethers' JsonRpcSigner do; until then, and after, it is an unknown account.
  const whale = ethers.Wallet.createRandom().address;
  await cast("rpc", "anvil_setBalance", whale, "0xde0b6b3a7640000");
  const pay = { from: whale, to: someone, value: "0x64" };
  await assert.rejects(provider.send("eth_sendTransaction", [pay]), /unknown account/);
  assert.equal(await cast("rpc", "anvil_impersonateAccount", whale), "null");
  const held = await provider.getBalance(someone);
  await cast("send", "--unlocked", "--from", whale, someone, "--value", "100");
  assert.equal(await provider.getBalance(someone), held + 100n);
  assert.equal(await provider.getTransactionCount(whale), 1);
  const signer = await provider.getSigner(whale);
  const deployed = await within(WAIT_MS, "a deployment by an impersonated account", new ContractFactory(Token.abi, Token.bytecode, signer).deploy("Whale", "WHL", 9n));
  await within(WAIT_MS, "deployed", deployed.waitForDeployment());
  assert.equal(await deployed.getAddress(), ethers.getCreateAddress({ from: whale, nonce: 1 }));
  assert.equal(await deployed.balanceOf(whale), 9n);
  const sent = await provider.getTransaction(deployed.deploymentTransaction().hash);
  assert.equal(sent.from, whale);
  // Traced like any transaction: the impersonated account's deployment, from it.
  const created = await provider.send("debug_traceTransaction", [sent.hash, { tracer: "callTracer" }]);
  assert.equal(created.type, "CREATE");
  assert.equal(created.from, whale.toLowerCase());
  assert.equal(created.to, (await deployed.getAddress()).toLowerCase());
  const flat = await provider.send("trace_transaction", [sent.hash]);
  assert.equal(flat[0].action.from, whale.toLowerCase());
  assert.equal(await cast("rpc", "anvil_stopImpersonatingAccount", whale), "null");
  await assert.rejects(provider.send("eth_sendTransaction", [pay]), /unknown account/);

  // Concurrent dev methods (a test's Promise.all) each take the authority's next nonce.
  const many = Array.from({ length: 4 }, () => ethers.Wallet.createRandom().address);
  await Promise.all(many.map((a, i) => provider.send("anvil_setBalance", [a, `0x${(i + 1).toString(16)}`])));
  for (const [i, a] of many.entries()) assert.equal(await provider.getBalance(a), BigInt(i + 1));

  // Bad input: a precise error, nothing written.
  await assert.rejects(provider.send("evm_increaseTime", [2 ** 45]), /past/);
  await assert.rejects(provider.send("evm_setNextBlockTimestamp", [2 ** 45]), /past/);
  await assert.rejects(provider.send("anvil_setBalance", ["0x12", "0x1"]), /invalid address/);
  await assert.rejects(provider.send("anvil_setNonce", [someone, "0xzz"]), /invalid nonce/);
});
