// Tracing and older state, against a real `nvm node --dev`: Foundry's cast (1.7, from npm,
// unmodified) — `cast run` replays a committed transaction on the state of the block before it
// (read through eth_getBalance, eth_getCode and eth_getStorageAt at that block) and prints its call
// trace; cast reads state at older blocks by number and by hash — and geth's debug_trace* and
// parity's trace_* as ethers sends them. Needs NVM_RPC_URL and NVM_ARTIFACTS (from compile.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { ContractFactory, HDNodeWallet, JsonRpcProvider, Mnemonic, ethers } from "ethers";

import { within, rpcErrorOf } from "../js-common/rpc.mjs";
import { cast as castAt } from "./cast.mjs";

const url = process.env.NVM_RPC_URL;
const artifacts = JSON.parse(fs.readFileSync(process.env.NVM_ARTIFACTS, "utf8"));
const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
provider.pollingInterval = 100;
const phrase = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
// An account of its own (the other scripts use 0 and 2): its nonces are this script's.
const sender = HDNodeWallet.fromMnemonic(phrase, "m/44'/60'/0'/0/5").connect(provider);
const WAIT_MS = 30_000;
const cast = (...args) => castAt(url, ...args);

const mined = (tx, what) => within(WAIT_MS, `receipt of ${what} ${tx.hash}`, tx.wait(1, WAIT_MS + 1000));

test("cast run traces a committed transaction, and cast reads older blocks", { timeout: 180_000 }, async () => {
  const { Token } = artifacts;
  const factory = new ContractFactory(Token.abi, Token.bytecode, sender);
  const token = await within(WAIT_MS, "Token deployment", factory.deploy("Cast", "CST", ethers.parseEther("1000")));
  await within(WAIT_MS, "Token deployed", token.waitForDeployment());
  const address = await token.getAddress();
  const to = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
  const receipt = await mined(await token.transfer(to, 5n), "transfer");
  const before = receipt.blockNumber - 1;

  const trace = await cast("run", receipt.hash);
  assert.match(trace, /::transfer\(0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC, 5\)/, trace);
  assert.match(trace, /emit Transfer\(/, trace);
  assert.match(trace, /Transaction successfully executed/, trace);
  // cast's own EVM, replaying on our state of the block before, used what our block charged.
  const gas = /Gas used: (\d+)/.exec(trace);
  assert.ok(gas, trace);
  assert.equal(BigInt(gas[1]), receipt.gasUsed, trace);

  // The token balance before and after the transfer, at the blocks that saw each.
  const balanceOf = ["balanceOf(address)(uint256)", to];
  assert.equal(await cast("call", address, ...balanceOf, "--block", String(before)), "0");
  assert.equal(await cast("call", address, ...balanceOf, "--block", String(receipt.blockNumber)), "5");
  assert.equal(await cast("call", address, ...balanceOf, "--block", receipt.blockHash), "5");
  const nonce = Number(await cast("nonce", sender.address, "--block", String(before)));
  assert.equal(nonce + 1, Number(await cast("nonce", sender.address, "--block", String(receipt.blockNumber))));
  // Before its deployment, the token had no code.
  const deployed = await provider.getTransactionReceipt(token.deploymentTransaction().hash);
  assert.equal(await cast("code", address, "--block", String(deployed.blockNumber - 1)), "0x");
  assert.notEqual(await cast("code", address, "--block", String(deployed.blockNumber)), "0x");
  // A block past the head: cast reports the node's error.
  const head = await provider.getBlockNumber();
  await assert.rejects(cast("balance", to, "--block", String(head + 1000)), /header not found/);
});

/// The JSON-RPC error of a call that must fail.
const rpcError = (method, params) => rpcErrorOf(provider, method, params);

test("debug_trace* and trace_* show what a block ran, as geth and parity do", { timeout: 180_000 }, async () => {
  const { Token } = artifacts;
  const factory = new ContractFactory(Token.abi, Token.bytecode, sender);
  const token = await within(WAIT_MS, "Token deployment", factory.deploy("Trace", "TRC", 1000n));
  await within(WAIT_MS, "Token deployed", token.waitForDeployment());
  const address = (await token.getAddress()).toLowerCase();
  const to = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
  const receipt = await mined(await token.transfer(to, 7n), "transfer");
  const gasUsed = `0x${receipt.gasUsed.toString(16)}`;

  // callTracer: the call tree, with what went in and out.
  const calls = await provider.send("debug_traceTransaction", [receipt.hash, { tracer: "callTracer" }]);
  assert.equal(calls.type, "CALL");
  assert.equal(calls.from, sender.address.toLowerCase());
  assert.equal(calls.to, address);
  assert.equal(calls.input, token.interface.encodeFunctionData("transfer", [to, 7n]));
  assert.equal(BigInt(calls.output), 1n, "transfer returned true");
  assert.equal(calls.gasUsed, gasUsed, "the trace used what the block charged");
  const withLogs = await provider.send("debug_traceTransaction", [receipt.hash, { tracer: "callTracer", tracerConfig: { withLog: true } }]);
  assert.equal(withLogs.logs.length, 1);
  assert.equal(withLogs.logs[0].topics[0], token.interface.getEvent("Transfer").topicHash);

  // The struct logger (geth's default): every opcode; the same gas.
  const steps = await provider.send("debug_traceTransaction", [receipt.hash, {}]);
  assert.equal(steps.failed, false);
  assert.equal(BigInt(steps.gas), receipt.gasUsed);
  assert.ok(steps.structLogs.length > 50, `${steps.structLogs.length} steps`);
  assert.ok(steps.structLogs.some((s) => s.op === "SSTORE"), "the balances were stored");
  assert.equal(steps.structLogs.at(-1).op, "RETURN");

  // prestateTracer: what the transfer read, as it was — the recipient had no balance yet.
  const pre = await provider.send("debug_traceTransaction", [receipt.hash, { tracer: "prestateTracer" }]);
  assert.ok(pre[address]?.storage, JSON.stringify(pre));
  assert.ok(pre[sender.address.toLowerCase()]?.balance, JSON.stringify(pre));
  const diff = await provider.send("debug_traceTransaction", [receipt.hash, { tracer: "prestateTracer", tracerConfig: { diffMode: true } }]);
  const slots = Object.values(diff.post[address].storage);
  assert.ok(slots.some((v) => BigInt(v) === 7n), JSON.stringify(diff));

  // A traced call at the block after the transfer, and at the block before it.
  const call = { from: sender.address, to: address, data: token.interface.encodeFunctionData("balanceOf", [to]) };
  const after = await provider.send("debug_traceCall", [call, `0x${receipt.blockNumber.toString(16)}`, { tracer: "callTracer" }]);
  assert.equal(BigInt(after.output), 7n);
  const before = await provider.send("debug_traceCall", [call, `0x${(receipt.blockNumber - 1).toString(16)}`, { tracer: "callTracer" }]);
  assert.equal(BigInt(before.output), 0n);

  // The whole block, geth's way and parity's.
  const blockTag = `0x${receipt.blockNumber.toString(16)}`;
  const block = await provider.send("debug_traceBlockByNumber", [blockTag, { tracer: "callTracer" }]);
  const mine = block.find((t) => t.txHash === receipt.hash);
  assert.deepEqual(mine.result, calls);
  const byHash = await provider.send("debug_traceBlockByHash", [receipt.blockHash, { tracer: "callTracer" }]);
  assert.deepEqual(byHash, block);
  const parity = await provider.send("trace_transaction", [receipt.hash]);
  assert.equal(parity.length, 1);
  assert.equal(parity[0].action.callType, "call");
  assert.equal(parity[0].action.to, address);
  assert.equal(parity[0].transactionHash, receipt.hash);
  assert.equal(parity[0].blockNumber, receipt.blockNumber);
  const parityBlock = await provider.send("trace_block", [blockTag]);
  assert.ok(parityBlock.some((t) => t.transactionHash === receipt.hash));

  // eth_createAccessList: the token and the slots balanceOf reads, and the gas with that list.
  const listed = await provider.send("eth_createAccessList", [call, "latest"]);
  const entry = listed.accessList.find((e) => e.address === address);
  assert.ok(entry && entry.storageKeys.length >= 1, JSON.stringify(listed));
  assert.ok(BigInt(listed.gasUsed) > 21000n && listed.error === undefined, JSON.stringify(listed));
  const failing = await provider.send("eth_createAccessList", [{ ...call, data: token.interface.encodeFunctionData("transfer", [to, 10n ** 30n]) }]);
  assert.equal(failing.error, "execution reverted", JSON.stringify(failing));

  // Bad requests get geth's errors.
  const unknown = await rpcError("debug_traceTransaction", [`0x${"ab".repeat(32)}`, {}]);
  assert.equal(unknown.code, -32000);
  assert.match(unknown.message, /not found/);
  const badTracer = await rpcError("debug_traceTransaction", [receipt.hash, { tracer: "4byteTracer" }]);
  assert.equal(badTracer.code, -32602);
  assert.match(badTracer.message, /callTracer/);
});
