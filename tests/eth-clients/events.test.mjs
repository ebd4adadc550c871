// ethers v6, unmodified, following events of a real `nvm node --dev`: `contract.on` over HTTP
// (polling filters: eth_newFilter, eth_getFilterChanges) and over WebSocket (eth_subscribe
// "logs"), `provider.on("block")` and `provider.on("pending")` over WebSocket (eth_subscribe
// "newHeads", "newPendingTransactions"). Needs NVM_RPC_URL and NVM_ARTIFACTS.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { ContractFactory, HDNodeWallet, JsonRpcProvider, Mnemonic, WebSocketProvider } from "ethers";

import { within } from "../js-common/rpc.mjs";

const url = process.env.NVM_RPC_URL;
const artifacts = JSON.parse(fs.readFileSync(process.env.NVM_ARTIFACTS, "utf8"));
const http = new JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
http.pollingInterval = 100;
const phrase = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
// Accounts of their own: the other client tests use 0 to 2.
const sender = HDNodeWallet.fromMnemonic(phrase, "m/44'/60'/0'/0/3").connect(http);
const receiver = HDNodeWallet.fromMnemonic(phrase, "m/44'/60'/0'/0/4").address;
const WAIT_MS = 30_000;

/// The first event `emitter.on(name, …)` delivers whose arguments pass `wanted`.
function first(emitter, name, wanted = () => true) {
  return new Promise((resolve) => {
    const listener = (...args) => {
      if (wanted(...args)) {
        emitter.off(name, listener);
        resolve(args);
      }
    };
    emitter.on(name, listener);
  });
}

let token;
test("a token to watch", { timeout: 60_000 }, async () => {
  const { Token } = artifacts;
  const factory = new ContractFactory(Token.abi, Token.bytecode, sender);
  token = await factory.deploy("Watched", "WAT", 1_000_000n);
  await within(WAIT_MS, "the deployment", token.deploymentTransaction().wait(1, WAIT_MS));
});

test("contract.on over HTTP receives a Transfer through polling filters", { timeout: 60_000 }, async () => {
  const seen = first(token, "Transfer", (_from, to) => to === receiver);
  // ethers installs its filter on the next poll: give it one before the event happens.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const tx = await token.transfer(receiver, 7n);
  const [from, to, value, event] = await within(WAIT_MS, "the Transfer over HTTP", seen);
  assert.equal(from, sender.address);
  assert.equal(to, receiver);
  assert.equal(value, 7n);
  assert.equal(event.log.transactionHash, tx.hash);
  await token.removeAllListeners();
});

test("over WebSocket: new blocks, pending transactions and a Transfer, pushed", { timeout: 60_000 }, async () => {
  const ws = new WebSocketProvider(url.replace("http://", "ws://"));
  try {
    const start = await ws.getBlockNumber();
    const [block] = await within(WAIT_MS, "a new block over WebSocket", first(ws, "block", (n) => n > start));
    assert.ok(block > start);

    const watched = token.connect(ws);
    const transfer = first(watched, "Transfer", (_from, _to, value) => value === 11n);
    const pending = [];
    const pendingListener = (hash) => pending.push(hash);
    await ws.on("pending", pendingListener);
    // Subscriptions are set up asynchronously: let them reach the node first.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const tx = await token.transfer(receiver, 11n);
    const [, , value, event] = await within(WAIT_MS, "the Transfer over WebSocket", transfer);
    assert.equal(value, 11n);
    assert.equal(event.log.transactionHash, tx.hash);
    assert.ok(pending.includes(tx.hash), `pending hashes ${pending} lack ${tx.hash}`);
    await ws.off("pending", pendingListener);
    await watched.removeAllListeners();
    // ethers sends eth_unsubscribe without waiting for the answer: let those land before the
    // socket closes (a request cancelled by destroy() would be an unhandled rejection).
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await ws.destroy();
  }
});
