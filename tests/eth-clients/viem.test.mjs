// viem 2, unmodified, following a real `nvm node --dev`: `watchContractEvent` over HTTP (polling
// filters) and `watchBlockNumber` over WebSocket (eth_subscribe "newHeads"), with a Transfer sent
// by a viem wallet client; `simulateBlocks` (eth_simulateV1). Needs NVM_RPC_URL and NVM_ARTIFACTS.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { createPublicClient, createWalletClient, defineChain, encodeAbiParameters, encodeFunctionData, http, keccak256, pad, parseEther, toHex, webSocket } from "viem";
import { mnemonicToAccount } from "viem/accounts";

import { within } from "../js-common/rpc.mjs";

const url = process.env.NVM_RPC_URL;
const artifacts = JSON.parse(fs.readFileSync(process.env.NVM_ARTIFACTS, "utf8"));
const chain = defineChain({
  id: 31337,
  name: "n-VM dev",
  nativeCurrency: { name: "NVM", symbol: "NVM", decimals: 18 },
  rpcUrls: { default: { http: [url], webSocket: [url.replace("http://", "ws://")] } },
});
const phrase = "test test test test test test test test test test test junk";
// Accounts of their own: the other client tests use 0 to 4.
const sender = mnemonicToAccount(phrase, { addressIndex: 5 });
const receiver = mnemonicToAccount(phrase, { addressIndex: 6 }).address;
const client = createPublicClient({ chain, transport: http(url), pollingInterval: 100 });
const wallet = createWalletClient({ chain, transport: http(url), account: sender });
const WAIT_MS = 30_000;

test("watchContractEvent over HTTP sees a Transfer; watchBlockNumber over WebSocket sees blocks", { timeout: 90_000 }, async () => {
  const { Token } = artifacts;
  const deployment = await wallet.deployContract({
    abi: Token.abi,
    bytecode: `0x${Token.bytecode.replace(/^0x/, "")}`,
    args: ["Viewed", "VIE", 1_000_000n],
  });
  const deployed = await within(WAIT_MS, "the deployment", client.waitForTransactionReceipt({ hash: deployment }));
  const token = deployed.contractAddress;

  let stopEvents;
  const transfer = new Promise((resolve) => {
    stopEvents = client.watchContractEvent({
      address: token,
      abi: Token.abi,
      eventName: "Transfer",
      args: { to: receiver },
      onLogs: (logs) => resolve(logs[0]),
    });
  });
  const ws = createPublicClient({ chain, transport: webSocket(url.replace("http://", "ws://")) });
  let stopBlocks;
  const start = await client.getBlockNumber();
  const block = new Promise((resolve) => {
    stopBlocks = ws.watchBlockNumber({ onBlockNumber: (n) => n > start && resolve(n) });
  });
  try {
    // viem installs its filter on its first poll: let it, then send.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const hash = await wallet.writeContract({ address: token, abi: Token.abi, functionName: "transfer", args: [receiver, 9n] });
    const log = await within(WAIT_MS, "the Transfer over HTTP", transfer);
    assert.equal(log.transactionHash, hash);
    assert.equal(log.args.value, 9n);
    assert.equal(log.args.to, receiver);
    assert.ok((await within(WAIT_MS, "a new block over WebSocket", block)) > start);
  } finally {
    stopEvents();
    stopBlocks();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await (await ws.transport.getRpcClient()).close();
  }
});

test("simulateBlocks: calls in order over simulated blocks on overridden state, nothing written", { timeout: 60_000 }, async () => {
  const { Token } = artifacts;
  const ghost = "0x5a0b54d5dc17e482fe8b0bdca5320161b95fb929";
  const to = "0x000000000000000000000000000000000000bEEF";
  const tokenAt = "0x00000000000000000000000000000000000cafe5";
  const head = await client.getBlockNumber();
  const before = await client.getBalance({ address: to });
  // The ghost holds 100 tokens: Token's balanceOf mapping is its slot 3.
  const slot = keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [ghost, 3n]));
  const transfer = (amount) => encodeFunctionData({ abi: Token.abi, functionName: "transfer", args: [to, amount] });
  // At the block read above (one landing meanwhile would move "latest").
  const blocks = await client.simulateBlocks({
    blockNumber: head,
    blocks: [
      {
        stateOverrides: [
          { address: ghost, balance: parseEther("10") },
          {
            address: tokenAt,
            code: `0x${Token.deployedBytecode.replace(/^0x/, "")}`,
            stateDiff: [{ slot, value: pad(toHex(100n)) }],
          },
        ],
        calls: [
          { account: ghost, to, value: parseEther("1") },
          { account: ghost, to: tokenAt, data: transfer(30n) },
        ],
      },
      {
        calls: [
          // What the first block's calls changed carries over: 70 tokens left.
          { account: ghost, to, value: parseEther("2") },
          { account: ghost, abi: Token.abi, to: tokenAt, functionName: "balanceOf", args: [ghost] },
          { account: ghost, to: tokenAt, data: transfer(71n) },
        ],
      },
    ],
  });
  assert.equal(blocks.length, 2);
  assert.equal(blocks[0].number, head + 1n);
  assert.equal(blocks[1].number, head + 2n);
  assert.equal(blocks[1].parentHash, blocks[0].hash);
  assert.deepEqual(blocks[0].calls.map((c) => c.status), ["success", "success"]);
  assert.equal(blocks[0].calls[1].logs.length, 1, "the token's Transfer event");
  assert.deepEqual(blocks[1].calls.map((c) => c.status), ["success", "success", "failure"]);
  assert.equal(blocks[1].calls[1].result, 70n);
  assert.ok(blocks[1].calls[0].gasUsed >= 21000n);
  // Nothing was written.
  assert.equal(await client.getBalance({ address: to }), before);
  assert.equal(await client.getBalance({ address: ghost }), 0n);
  assert.equal(await client.getCode({ address: tokenAt }), undefined);
});

test("simulateBlocks: block overrides set what contracts read; skipped numbers come back empty", { timeout: 60_000 }, async () => {
  // A probe that returns NUMBER, TIMESTAMP, GASLIMIT and BASEFEE, placed by a state override.
  const probe = "0x0000000000000000000000000000000000c10c4a";
  const code = "0x435f5242602052456040524860605260805ff3";
  const head = await client.getBlock();
  const time = head.timestamp + 1000n;
  const [block] = await client.simulateBlocks({
    blockNumber: head.number,
    blocks: [{
      blockOverrides: { time, gasLimit: 50_000_000n, baseFeePerGas: 7n },
      stateOverrides: [{ address: probe, code }],
      calls: [{ to: probe, data: "0x" }],
    }],
  });
  assert.equal(block.number, head.number + 1n);
  assert.equal(block.timestamp, time);
  assert.equal(block.gasLimit, 50_000_000n);
  assert.equal(block.baseFeePerGas, 7n);
  const words = (data) => data.slice(2).match(/.{64}/g).map((w) => BigInt("0x" + w));
  assert.deepEqual(words(block.calls[0].data), [head.number + 1n, time, 50_000_000n, 7n]);

  // eth_simulateV1 itself (viem's simulateBlocks pairs answers with requested blocks one to one,
  // so it cannot take the blocks a skipped number adds).
  const simulate = async (overrides, calls = []) => {
    const params = [{ blockStateCalls: [{ blockOverrides: overrides, stateOverrides: { [probe]: { code } }, calls }] }, toHex(head.number)];
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_simulateV1", params }),
    });
    return response.json();
  };
  // The two numbers skipped are simulated as empty blocks, chained by their parent hashes.
  const { result } = await simulate({ number: toHex(head.number + 3n) }, [{ to: probe }]);
  assert.deepEqual(result.map((b) => BigInt(b.number)), [1n, 2n, 3n].map((n) => head.number + n));
  assert.deepEqual(result.map((b) => b.calls.length), [0, 0, 1]);
  assert.equal(result[2].parentHash, result[1].hash);
  assert.equal(words(result[2].calls[0].returnData)[0], head.number + 3n);

  // Out of order, too many, or a field not offered: geth's codes, nothing simulated.
  const refused = async (overrides) => (await simulate(overrides)).error ?? assert.fail(JSON.stringify(overrides));
  assert.equal((await refused({ number: toHex(head.number) })).code, -38020);
  assert.equal((await refused({ time: toHex(head.timestamp) })).code, -38021);
  assert.equal((await refused({ number: toHex(head.number + 1000n) })).code, -38026);
  assert.match((await refused({ feeRecipient: probe })).message, /feeRecipient is not offered/);
});

test("eth_simulateV1 with validation: each call pays its fees at its nonce; what a block would refuse ends the request with geth's code", { timeout: 60_000 }, async () => {
  const head = await client.getBlock();
  const ghost = "0x5a0b54d5dc17e482fe8b0bdca5320161b95fb92a";
  const payer = "0x5a0b54d5dc17e482fe8b0bdca5320161b95fb92b";
  const to = "0x000000000000000000000000000000000000bEEF";
  // PUSH20 ghost BALANCE PUSH0 MSTORE PUSH1 32 PUSH0 RETURN: the ghost's balance.
  const probe = "0x0000000000000000000000000000000000c10c4b";
  const code = `0x73${ghost.slice(2)}315f5260205ff3`;
  const fees = { maxFeePerGas: toHex(head.baseFeePerGas * 2n + 1n), maxPriorityFeePerGas: "0x1" };
  const pay = (extra = {}) => ({ from: ghost, to, value: "0x1", gas: toHex(21_000n), ...fees, ...extra });
  const simulate = async (calls, { balance = parseEther("1"), blockOverrides } = {}) => {
    const stateOverrides = { [ghost]: { balance: toHex(balance) }, [payer]: { balance: toHex(parseEther("1")) }, [probe]: { code } };
    const params = [{ blockStateCalls: [{ blockOverrides, stateOverrides, calls }], validation: true }, toHex(head.number)];
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_simulateV1", params }),
    });
    return response.json();
  };

  // Two payments, at nonce 0 and at the nonce 1 the second names, each paying 21,000 gas at the
  // base fee plus its priority fee: what the probe then reads of the ghost's balance.
  const read = { from: payer, to: probe, gas: toHex(100_000n), ...fees };
  const { result, error } = await simulate([pay(), pay({ nonce: "0x1" }), read]);
  assert.equal(error, undefined, JSON.stringify(error));
  assert.deepEqual(result[0].calls.map((c) => c.status), ["0x1", "0x1", "0x1"]);
  const price = BigInt(result[0].baseFeePerGas) + 1n;
  assert.equal(BigInt(result[0].calls[2].returnData), parseEther("1") - 2n - 2n * 21_000n * price);

  // What a block would refuse: geth's code, nothing simulated.
  const refusalCode = async (calls, options) => (await simulate(calls, options)).error?.code;
  assert.equal(await refusalCode([pay(), pay({ nonce: "0x0" })]), -38010, "a nonce already taken");
  assert.equal(await refusalCode([pay({ nonce: "0x5" })]), -38011, "a nonce ahead");
  assert.equal(await refusalCode([pay({ maxFeePerGas: "0x0", maxPriorityFeePerGas: "0x0" })]), -38012, "a fee below the base fee");
  assert.equal(await refusalCode([pay({ gas: toHex(20_000n) })]), -38013, "less gas than a transfer's intrinsic");
  assert.equal(await refusalCode([pay()], { balance: 1000n }), -38014, "too little for gas and value");
  assert.equal(await refusalCode([pay(), pay()], { blockOverrides: { gasLimit: toHex(30_000n) } }), -38015, "past the block's gas");
  // Without validation the same wrong nonce runs as eth_call would.
  const params = [{ blockStateCalls: [{ stateOverrides: { [ghost]: { balance: toHex(parseEther("1")) } }, calls: [pay({ nonce: "0x5" })] }] }, toHex(head.number)];
  const plain = await (await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_simulateV1", params }) })).json();
  assert.equal(plain.result[0].calls[0].status, "0x1");
});
