#!/usr/bin/env node
// Side by side: ERC-20 transfer throughput over JSON-RPC against a fresh `nvm node --dev` and a
// fresh `anvil`, with the same client, the same block gas limit, the same block time and the same
// pre-signed transactions. See README.md.
//
// Per run (one mode, one node, one fresh process): deploy tests/eth-clients/contracts/Token.sol
// from dev account 0, fund the senders (dev accounts 1..S) with tokens, pre-sign every transfer
// (not timed), then time from the first send until every sender's `latest` nonce shows all its
// accepted transfers included.
import { spawn, execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import solc from "solc";
import { HDNodeWallet, Interface, Mnemonic, Transaction, getAddress, keccak256, toUtf8Bytes } from "ethers";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "../..");
const TOKEN_SOL = path.join(REPO, "tests/eth-clients/contracts/Token.sol");
const MNEMONIC = "test test test test test test test test test test test junk";
const CHAIN_ID = 31337n;
const GWEI = 10n ** 9n;
const TRANSFER_GAS = 60_000n;
const DEPLOY_GAS = 2_000_000n;
const FUND_GAS = 100_000n;
const SUPPLY = 10n ** 30n;
const PER_SENDER_TOKENS = 10n ** 24n; // each transfer moves 1 unit
const MAX_PRIORITY_FEE = 1n * GWEI;
const DEFAULT_MAX_FEE = 200n * GWEI; // base fee starts at 1 gwei on both; raised if a node's is higher
const DEFAULT_GAS_LIMIT = 36_000_000;

// ---------------------------------------------------------------------------------------------
// Arguments

const USAGE = `usage: node bench.mjs [options]
  --mode single|batch|both   workload(s) to run (default both)
  --rounds R                 rounds; each runs every mode on both nodes, fresh processes (default 2)
  --gas-limit G              block gas limit for both nodes (default $BENCH_GAS_LIMIT or 36000000)
  --no-gas-limit             pass --disable-block-gas-limit to both nodes instead
  --block-time-ms T          block time for both nodes (default 400)
  --n N                      single mode: transfers from one sender (default 1000)
  --concurrency C            single mode: requests in flight (default 32)
  --senders S                batch mode: senders (default 8)
  --per-sender M             batch mode: transfers per sender (default 1000)
  --batch-size B             batch mode: transactions per JSON-RPC batch (default 100)
  --recipients K             distinct recipients, used round robin; 0 = a fresh address per transfer (default 16)
  --timeout SECONDS          bound on every wait/phase (default 120)
  --only nvm|anvil           run one node only (no ratio)
  --nvm PATH                 nvm binary (default $NVM_BIN, else a release, else a debug build in $CARGO_TARGET_DIR, ~/.cache/nvm-target or target/)
  --anvil PATH               anvil binary (default $ANVIL_BIN, else the npm package's)
  --keep                     keep every run's temp dir and logs (failed runs' are always kept)
  --json                     machine-readable result on stdout (progress stays on stderr)`;

function parseArgs(argv) {
  const opts = {
    mode: "both",
    rounds: 2,
    gasLimit: Number(process.env.BENCH_GAS_LIMIT ?? DEFAULT_GAS_LIMIT),
    noGasLimit: false,
    blockTimeMs: 400,
    n: 1000,
    concurrency: 32,
    senders: 8,
    perSender: 1000,
    batchSize: 100,
    recipients: 16,
    timeout: 120,
    only: null,
    nvm: null,
    anvil: null,
    keep: false,
    json: false,
  };
  const numeric = {
    "--rounds": "rounds", "--gas-limit": "gasLimit", "--block-time-ms": "blockTimeMs", "--n": "n",
    "--concurrency": "concurrency", "--senders": "senders", "--per-sender": "perSender",
    "--batch-size": "batchSize", "--recipients": "recipients", "--timeout": "timeout",
  };
  const strings = { "--mode": "mode", "--only": "only", "--nvm": "nvm", "--anvil": "anvil" };
  const flags = { "--no-gas-limit": "noGasLimit", "--keep": "keep", "--json": "json" };
  for (let i = 0; i < argv.length; i++) {
    let [key, value] = argv[i].split(/=(.*)/s);
    if (key === "-h" || key === "--help") {
      console.log(USAGE);
      process.exit(0);
    }
    if (flags[key]) {
      opts[flags[key]] = true;
      continue;
    }
    if (!numeric[key] && !strings[key]) fail(`unknown argument ${argv[i]}\n${USAGE}`);
    if (value === undefined) value = argv[++i];
    if (value === undefined) fail(`${key} needs a value`);
    if (numeric[key]) {
      const n = Number(value.replaceAll("_", "").replaceAll(",", ""));
      if (!Number.isSafeInteger(n) || n < 0) fail(`${key}: not a whole number: ${value}`);
      opts[numeric[key]] = n;
    } else {
      opts[strings[key]] = value;
    }
  }
  if (!["single", "batch", "both"].includes(opts.mode)) fail(`--mode must be single, batch or both`);
  if (opts.only && !["nvm", "anvil"].includes(opts.only)) fail(`--only must be nvm or anvil`);
  if (!Number.isSafeInteger(opts.gasLimit) || opts.gasLimit <= 0) fail(`bad gas limit ${opts.gasLimit}`);
  for (const k of ["rounds", "n", "concurrency", "senders", "perSender", "batchSize", "timeout", "blockTimeMs"]) {
    if (opts[k] < 1) fail(`--${k} must be at least 1`);
  }
  return opts;
}

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Child processes: every node we start is tracked and killed on any exit, error or signal.

const live = new Set();

function killAllSync() {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {}
  }
}
const activeDirs = new Set();
process.on("exit", () => {
  killAllSync();
  for (const dir of activeDirs) console.error(`left ${dir} (node data and log of the interrupted run)`);
});
for (const [signal, number] of [["SIGINT", 2], ["SIGTERM", 15], ["SIGHUP", 1]]) {
  process.on(signal, () => {
    console.error(`\n${signal}: killing ${live.size} node process(es) and exiting`);
    killAllSync();
    process.exit(128 + number);
  });
}

function startProcess(bin, args, logPath) {
  const fd = fs.openSync(logPath, "a");
  const child = spawn(bin, args, { stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  live.add(child);
  child.exitInfo = null;
  child.exited = new Promise((resolve) => {
    const done = (info) => {
      if (child.exitInfo) return;
      child.exitInfo = info;
      live.delete(child);
      resolve();
    };
    child.once("exit", (code, signal) => done({ code, signal }));
    child.once("error", (error) => done({ error: error.message }));
  });
  return child;
}

async function stopProcess(child) {
  if (child.exitInfo) return;
  child.kill("SIGTERM");
  if ((await Promise.race([child.exited.then(() => true), sleep(10_000).then(() => false)])) === false) {
    child.kill("SIGKILL");
    await child.exited;
  }
}

function describeExit(info) {
  if (!info) return "running";
  if (info.error) return `failed to start: ${info.error}`;
  return info.signal ? `killed by ${info.signal}` : `exited with code ${info.code}`;
}

function logTail(logPath, lines = 15) {
  try {
    return fs.readFileSync(logPath, "utf8").replace(/\x1b\[[0-9;]*m/g, "").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC over plain fetch (the same client for both nodes)

let nextId = 1;

class RpcError extends Error {}

async function post(url, body, timeoutMs) {
  let res;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    if (e.name === "TimeoutError") throw new Error(`no HTTP answer within ${timeoutMs / 1000} s`);
    throw new Error(`HTTP request failed: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
  }
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
}

function errorText(error) {
  if (!error || typeof error !== "object") return String(error);
  return `${error.code ?? "?"}: ${error.message ?? JSON.stringify(error)}`;
}

async function rpc(url, method, params = [], timeoutMs = 30_000) {
  let body;
  try {
    body = await post(url, { jsonrpc: "2.0", id: nextId++, method, params }, timeoutMs);
  } catch (e) {
    throw new Error(`${method}: ${e.message}`);
  }
  if (body.error) throw new RpcError(`${method}: ${errorText(body.error)}`);
  return body.result;
}

/// Several calls in one JSON-RPC batch (a plain request when there is one): results in order.
async function rpcMany(url, calls, timeoutMs = 30_000) {
  if (calls.length === 1) return [await rpc(url, calls[0][0], calls[0][1], timeoutMs)];
  const first = nextId;
  nextId += calls.length;
  const body = calls.map(([method, params], i) => ({ jsonrpc: "2.0", id: first + i, method, params }));
  let answer;
  try {
    answer = await post(url, body, timeoutMs);
  } catch (e) {
    throw new Error(`batch of ${calls[0][0]}: ${e.message}`);
  }
  if (!Array.isArray(answer)) throw new Error(`batch of ${calls[0][0]}: not an array: ${JSON.stringify(answer).slice(0, 200)}`);
  const byId = new Map(answer.map((r) => [r.id, r]));
  return calls.map(([method], i) => {
    const r = byId.get(first + i);
    if (!r) throw new Error(`batch: no answer for ${method} id ${first + i}`);
    if (r.error) throw new RpcError(`${method}: ${errorText(r.error)}`);
    return r.result;
  });
}

/// Calls `step` until it returns a truthy value; fails naming `what` after `timeoutMs`.
async function waitFor(what, timeoutMs, step, intervalMs = 100, progress = () => "") {
  const deadline = performance.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await step();
      if (value) return value;
      lastError = undefined;
    } catch (e) {
      if (e.fatal) throw e;
      lastError = e;
    }
    if (performance.now() > deadline) {
      const detail = [progress(), lastError && `last error: ${lastError.message}`].filter(Boolean).join("; ");
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${detail ? ` (${detail})` : ""}`);
    }
    await sleep(intervalMs);
  }
}

/// `promise`, or a failure naming `what` after `ms`.
async function within(ms, what, promise) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Binaries and the contract

function findNvm(opts) {
  const candidates = [
    [opts.nvm, "--nvm"],
    [process.env.NVM_BIN, "$NVM_BIN"],
    // Cargo's target directory: $CARGO_TARGET_DIR, the one .ci/run uses, or the repository's.
    ...[process.env.CARGO_TARGET_DIR, path.join(os.homedir(), ".cache/nvm-target"), path.join(REPO, "target")]
      .filter(Boolean)
      .flatMap((dir) => [
        [path.join(dir, "release/nvm"), "default release build"],
        [path.join(dir, "debug/nvm"), "default debug build"],
      ]),
  ];
  for (const [bin, source] of candidates) {
    if (!bin) continue;
    if (source.startsWith("default") && !fs.existsSync(bin)) continue;
    if (!fs.existsSync(bin)) fail(`nvm binary from ${source} does not exist: ${bin}`);
    const help = execFileSync(bin, ["node", "--help"], { encoding: "utf8", timeout: 30_000 });
    const profile = /\/release\//.test(bin) ? "release" : /\/debug\//.test(bin) ? "debug" : "unknown profile";
    return {
      bin,
      source,
      profile,
      hasGasLimit: help.includes("--gas-limit"),
      hasDisableGasLimit: help.includes("--disable-block-gas-limit"),
    };
  }
  fail("no nvm binary: set NVM_BIN or build one (cargo build --release -p nvm-cli)");
}

function findAnvil(opts) {
  let bin = opts.anvil ?? process.env.ANVIL_BIN;
  if (!bin) {
    const require = createRequire(import.meta.url);
    let pkgJson;
    try {
      pkgJson = require.resolve("@foundry-rs/anvil-linux-amd64/package.json");
    } catch {
      fail("anvil npm package missing: run `npm ci` in bench/rpc (or pass --anvil PATH)");
    }
    const pkg = JSON.parse(fs.readFileSync(pkgJson, "utf8"));
    bin = path.join(path.dirname(pkgJson), typeof pkg.bin === "string" ? pkg.bin : pkg.bin.anvil);
  }
  if (!fs.existsSync(bin)) fail(`anvil binary does not exist: ${bin}`);
  const version = execFileSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000 }).split("\n")[0].trim();
  return { bin, version };
}

function compileToken() {
  const input = {
    language: "Solidity",
    sources: { "Token.sol": { content: fs.readFileSync(TOKEN_SOL, "utf8") } },
    settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { "*": { Token: ["abi", "evm.bytecode.object"] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length) fail(errors.map((e) => e.formattedMessage).join("\n"));
  const token = output.contracts["Token.sol"].Token;
  return { abi: token.abi, bytecode: "0x" + token.evm.bytecode.object, solc: solc.version() };
}

// ---------------------------------------------------------------------------------------------
// Nodes

const nodeKinds = {
  anvil(env, port) {
    const args = ["--port", String(port), "--host", "127.0.0.1", "--block-time", String(env.opts.blockTimeMs / 1000), "--silent"];
    if (env.opts.noGasLimit) args.push("--disable-block-gas-limit");
    else args.push("--gas-limit", String(env.gasLimit));
    return { bin: env.anvil.bin, args };
  },
  nvm(env, port, dir) {
    const args = [
      "node", "--dev",
      "--data-dir", path.join(dir, "data"),
      "--rpc-addr", `127.0.0.1:${port}`,
      "--solana-rpc-addr", "127.0.0.1:0",
      "--tron-http-addr", "127.0.0.1:0",
      "--block-time-ms", String(env.opts.blockTimeMs),
      "--p2p-addr", "127.0.0.1:0",
    ];
    if (env.opts.noGasLimit) args.push("--disable-block-gas-limit");
    else if (env.nvm.hasGasLimit) args.push("--gas-limit", String(env.gasLimit));
    return { bin: env.nvm.bin, args };
  },
};

// ---------------------------------------------------------------------------------------------
// Transactions

const phrase = Mnemonic.fromPhrase(MNEMONIC);
const accounts = [];
function account(i) {
  return (accounts[i] ??= HDNodeWallet.fromMnemonic(phrase, `m/44'/60'/0'/0/${i}`));
}

function sign(wallet, fields) {
  const tx = Transaction.from({ type: 2, value: 0n, ...fields });
  tx.signature = wallet.signingKey.sign(tx.unsignedHash);
  return { raw: tx.serialized, hash: tx.hash };
}

function recipient(opts, senderIndex, j) {
  const seed = opts.recipients === 0 ? `nvm-rpc-bench fresh ${senderIndex} ${j}` : `nvm-rpc-bench recipient ${j % opts.recipients}`;
  return getAddress("0x" + keccak256(toUtf8Bytes(seed)).slice(-40));
}

// Identical transactions (same chain id, token address, nonces, fees) are signed once and sent to
// every node: on fresh nodes deploying from account 0's nonce 0 they come out byte for byte equal.
const signedCache = new Map();

async function presign(env, chainId, token, senderIndex, startNonce, count, maxFee) {
  const key = [chainId, token, senderIndex, startNonce, count, maxFee, env.opts.recipients].join("|");
  if (signedCache.has(key)) return signedCache.get(key);
  const wallet = account(senderIndex + 1);
  const txs = [];
  for (let j = 0; j < count; j++) {
    if (j % 100 === 99) await new Promise(setImmediate); // let Ctrl-C through during long signing
    txs.push(sign(wallet, {
      chainId,
      nonce: startNonce + j,
      to: token,
      data: env.iface.encodeFunctionData("transfer", [recipient(env.opts, senderIndex, j), 1n]),
      gasLimit: TRANSFER_GAS,
      maxFeePerGas: maxFee,
      maxPriorityFeePerGas: MAX_PRIORITY_FEE,
    }));
  }
  signedCache.set(key, txs);
  return txs;
}

async function waitReceipts(url, hashes, what, timeoutMs) {
  const receipts = new Map();
  await waitFor(what, timeoutMs, async () => {
    const missing = hashes.filter((h) => !receipts.has(h));
    const got = await rpcMany(url, missing.map((h) => ["eth_getTransactionReceipt", [h]]));
    got.forEach((r, i) => r && receipts.set(missing[i], r));
    return receipts.size === hashes.length;
  }, 100, () => `${receipts.size}/${hashes.length} receipts`);
  const failed = hashes.filter((h) => receipts.get(h).status !== "0x1");
  if (failed.length) throw new Error(`${what}: ${failed.length} reverted, e.g. ${failed[0]}`);
  return hashes.map((h) => receipts.get(h));
}

/// Deploys the token and funds `senders` accounts; returns what signing needs.
async function setup(env, url, senders, log) {
  const timeoutMs = env.opts.timeout * 1000;
  const chainId = BigInt(await rpc(url, "eth_chainId"));
  if (chainId !== CHAIN_ID) log(`note: chain id ${chainId}, not ${CHAIN_ID}`);
  const latest = await rpc(url, "eth_getBlockByNumber", ["latest", false]);
  const baseFee = BigInt(latest.baseFeePerGas ?? 0);
  let maxFee = DEFAULT_MAX_FEE;
  if (baseFee * 16n > maxFee) {
    maxFee = baseFee * 16n + MAX_PRIORITY_FEE;
    log(`note: base fee ${baseFee} wei is high; fee cap raised to ${maxFee}`);
  }
  const deployer = account(0);
  let nonce = Number(BigInt(await rpc(url, "eth_getTransactionCount", [deployer.address, "pending"])));
  const deployNonce = nonce;
  const data = env.token.bytecode + env.iface.encodeDeploy(["Bench", "BNC", SUPPLY]).slice(2);
  const deploy = sign(deployer, {
    chainId, nonce: nonce++, data, gasLimit: DEPLOY_GAS, maxFeePerGas: maxFee, maxPriorityFeePerGas: MAX_PRIORITY_FEE,
  });
  await rpc(url, "eth_sendRawTransaction", [deploy.raw]);
  const [deployed] = await waitReceipts(url, [deploy.hash], "the token deployment's receipt", timeoutMs);
  const token = getAddress(deployed.contractAddress);
  const funding = [];
  for (let s = 0; s < senders; s++) {
    const tx = sign(deployer, {
      chainId, nonce: nonce++, to: token, gasLimit: FUND_GAS, maxFeePerGas: maxFee, maxPriorityFeePerGas: MAX_PRIORITY_FEE,
      data: env.iface.encodeFunctionData("transfer", [account(s + 1).address, PER_SENDER_TOKENS]),
    });
    await rpc(url, "eth_sendRawTransaction", [tx.raw]);
    funding.push(tx.hash);
  }
  await waitReceipts(url, funding, `the ${senders} funding transfers' receipts`, timeoutMs);
  const balances = await rpcMany(url, Array.from({ length: senders }, (_, s) => [
    "eth_call", [{ to: token, data: env.iface.encodeFunctionData("balanceOf", [account(s + 1).address]) }, "latest"],
  ]));
  balances.forEach((b, s) => {
    if (BigInt(b) < PER_SENDER_TOKENS) throw new Error(`sender ${s + 1} holds ${BigInt(b)} tokens after funding`);
  });
  const startNonces = (await rpcMany(url, Array.from({ length: senders }, (_, s) => [
    "eth_getTransactionCount", [account(s + 1).address, "latest"],
  ]))).map((n) => Number(BigInt(n)));
  return { chainId, token, maxFee, startNonces, deployNonce };
}

// ---------------------------------------------------------------------------------------------
// Sending

/// One eth_sendRawTransaction per HTTP request, `concurrency` in flight. Returns per-transaction
/// refusal messages (null = accepted) and how many accepted hashes differed from ours.
async function sendSingle(url, txs, concurrency, timeoutMs, stop) {
  const refused = new Array(txs.length).fill(null);
  let mismatched = 0;
  let next = 0;
  async function worker() {
    while (next < txs.length && !stop.stopped) {
      const i = next++;
      try {
        const r = await post(url, { jsonrpc: "2.0", id: i, method: "eth_sendRawTransaction", params: [txs[i].raw] }, timeoutMs);
        if (r.error) refused[i] = errorText(r.error);
        else if (String(r.result).toLowerCase() !== txs[i].hash) mismatched++;
      } catch (e) {
        refused[i] = e.message;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, txs.length) }, worker));
  return { refused: [refused], mismatched };
}

/// Every sender's transactions as JSON-RPC batches of `batchSize`, one batch in flight per sender,
/// all senders at once.
async function sendBatches(url, perSender, batchSize, timeoutMs, stop) {
  let mismatched = 0;
  const refused = await Promise.all(perSender.map(async (txs) => {
    const out = new Array(txs.length).fill(null);
    for (let k = 0; k < txs.length && !stop.stopped; k += batchSize) {
      const chunk = txs.slice(k, k + batchSize);
      const body = chunk.map((t, j) => ({ jsonrpc: "2.0", id: k + j, method: "eth_sendRawTransaction", params: [t.raw] }));
      try {
        const answer = await post(url, body, timeoutMs);
        if (!Array.isArray(answer)) {
          const why = answer?.error ? errorText(answer.error) : `not a batch answer: ${JSON.stringify(answer).slice(0, 120)}`;
          for (let j = 0; j < chunk.length; j++) out[k + j] = why;
          continue;
        }
        const byId = new Map(answer.map((r) => [r.id, r]));
        for (let j = 0; j < chunk.length; j++) {
          const r = byId.get(k + j);
          if (!r) out[k + j] = "no answer in the batch";
          else if (r.error) out[k + j] = errorText(r.error);
          else if (String(r.result).toLowerCase() !== chunk[j].hash) mismatched++;
        }
      } catch (e) {
        for (let j = 0; j < chunk.length; j++) out[k + j] = e.message;
      }
    }
    return out;
  }));
  return { refused, mismatched };
}

// ---------------------------------------------------------------------------------------------
// One run: a fresh node, one mode

async function workload(env, mode, url, log) {
  const opts = env.opts;
  const timeoutMs = opts.timeout * 1000;
  const senders = mode === "single" ? 1 : opts.senders;
  const count = mode === "single" ? opts.n : opts.perSender;
  const t = performance.now();
  const s = await setup(env, url, senders, log);
  log(`token ${s.token} deployed and ${senders} sender(s) funded in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const t1 = performance.now();
  const perSender = [];
  for (let i = 0; i < senders; i++) perSender.push(await presign(env, s.chainId, s.token, i, s.startNonces[i], count, s.maxFee));
  log(`${senders * count} transfers signed in ${((performance.now() - t1) / 1000).toFixed(1)} s (not timed)`);

  const addresses = perSender.map((_, i) => account(i + 1).address);
  const blockBefore = Number(BigInt(await rpc(url, "eth_blockNumber")));
  const stop = { stopped: false };

  // --- timed from here
  const start = performance.now();
  let sent;
  try {
    sent = await within(timeoutMs, `sending ${senders * count} transactions (${mode})`, mode === "single"
      ? sendSingle(url, perSender[0], opts.concurrency, timeoutMs, stop)
      : sendBatches(url, perSender, opts.batchSize, timeoutMs, stop));
  } finally {
    stop.stopped = true;
  }
  const submitted = performance.now();

  // What each sender can get included: its nonces up to the first refused one.
  const expected = sent.refused.map((r, i) => {
    const gap = r.findIndex((x) => x !== null);
    return s.startNonces[i] + (gap < 0 ? count : gap);
  });
  const nonces = [...s.startNonces];
  const pending = new Set(expected.map((_, i) => i).filter((i) => expected[i] > s.startNonces[i]));
  const inclusionDeadline = submitted + timeoutMs;
  while (pending.size) {
    const waiting = [...pending];
    let got;
    try {
      got = await rpcMany(url, waiting.map((i) => ["eth_getTransactionCount", [addresses[i], "latest"]]), timeoutMs);
    } catch (e) {
      if (performance.now() > inclusionDeadline) throw e;
      log(`note: nonce poll failed: ${e.message}`);
      got = [];
    }
    got.forEach((n, k) => {
      const i = waiting[k];
      nonces[i] = Number(BigInt(n));
      if (nonces[i] >= expected[i]) pending.delete(i);
    });
    if (!pending.size) break;
    if (performance.now() > inclusionDeadline) {
      const inc = nonces.reduce((a, n, i) => a + n - s.startNonces[i], 0);
      const want = expected.reduce((a, n, i) => a + n - s.startNonces[i], 0);
      const stuck = waiting.map((i) => `sender ${i + 1} at nonce ${nonces[i]} of ${expected[i]}`).slice(0, 3).join(", ");
      throw new Error(`timed out after ${opts.timeout} s waiting for inclusion: ${inc}/${want} included (${stuck})`);
    }
    await sleep(20);
  }
  const noncesSeen = performance.now();
  // A nonce can show before the block is served (anvil's state moves while it mines, before it
  // stores the block): the run ends once each sender's last included transfer has a receipt.
  const lastHashes = perSender.map((txs, i) => txs[expected[i] - s.startNonces[i] - 1]?.hash).filter(Boolean);
  const noReceipt = new Set(lastHashes);
  while (noReceipt.size) {
    const waiting = [...noReceipt];
    let got = [];
    try {
      got = await rpcMany(url, waiting.map((h) => ["eth_getTransactionReceipt", [h]]), timeoutMs);
    } catch (e) {
      if (performance.now() > inclusionDeadline) throw e;
      log(`note: receipt poll failed: ${e.message}`);
    }
    got.forEach((r, k) => r && noReceipt.delete(waiting[k]));
    if (!noReceipt.size) break;
    if (performance.now() > inclusionDeadline) {
      throw new Error(`timed out after ${opts.timeout} s waiting for the receipts of ${noReceipt.size} senders' last transfers (their nonces show them included)`);
    }
    await sleep(20);
  }
  const end = performance.now();
  // --- timed until here

  const blockAfter = Number(BigInt(await rpc(url, "eth_blockNumber")));
  const included = nonces.reduce((a, n, i) => a + Math.min(n, s.startNonces[i] + count) - s.startNonces[i], 0);
  const refusedAll = sent.refused.flat().filter((x) => x !== null);
  const refusedMessages = {};
  for (const m of refusedAll) refusedMessages[m.slice(0, 160)] = (refusedMessages[m.slice(0, 160)] ?? 0) + 1;
  const stranded = sent.refused.reduce((a, r, i) => a + r.filter((x, j) => x === null && s.startNonces[i] + j >= expected[i]).length, 0);

  // A sample of receipts (first, last and spread out) must all say status 1.
  const includedHashes = perSender.flatMap((txs, i) => txs.slice(0, nonces[i] - s.startNonces[i]).map((t) => t.hash));
  const sample = [...new Set([0, includedHashes.length - 1, ...Array.from({ length: 18 }, (_, k) => Math.floor(((k + 1) * includedHashes.length) / 19))])]
    .filter((k) => k >= 0 && k < includedHashes.length)
    .map((k) => includedHashes[k]);
  let sampleFailed = 0;
  let sampleGas = 0n;
  if (sample.length) {
    const receipts = await rpcMany(url, sample.map((h) => ["eth_getTransactionReceipt", [h]]));
    for (const r of receipts) {
      if (!r || r.status !== "0x1") sampleFailed++;
      else sampleGas += BigInt(r.gasUsed);
    }
  }

  // Blocks from the one before the first send to now: how many held transfers, and the fullest.
  let blocks = { delta: blockAfter - blockBefore, withTxs: null, maxTxs: null, maxGasUsed: null };
  if (blockAfter - blockBefore <= 2000) {
    const numbers = Array.from({ length: blockAfter - blockBefore }, (_, k) => blockBefore + 1 + k);
    const counts = [];
    for (let k = 0; k < numbers.length; k += 50) {
      const got = await rpcMany(url, numbers.slice(k, k + 50).map((n) => ["eth_getBlockByNumber", ["0x" + n.toString(16), false]]));
      for (const b of got) counts.push({ txs: b?.transactions?.length ?? 0, gas: Number(BigInt(b?.gasUsed ?? 0)) });
    }
    const nonEmpty = counts.filter((c) => c.txs > 0);
    blocks = {
      delta: blockAfter - blockBefore,
      withTxs: nonEmpty.length,
      maxTxs: Math.max(0, ...counts.map((c) => c.txs)),
      maxGasUsed: Math.max(0, ...counts.map((c) => c.gas)),
      txsPerBlock: nonEmpty.map((c) => c.txs),
    };
  }

  const seconds = (end - start) / 1000;
  return {
    sent: senders * count,
    accepted: senders * count - refusedAll.length,
    refused: refusedAll.length,
    refusedMessages,
    stranded,
    hashMismatches: sent.mismatched,
    included,
    seconds,
    submitSeconds: (submitted - start) / 1000,
    nonceSeconds: (noncesSeen - start) / 1000,
    txPerSec: included / seconds,
    blocks,
    receipts: { sampled: sample.length, failed: sampleFailed, avgGasUsed: sample.length > sampleFailed ? Number(sampleGas / BigInt(sample.length - sampleFailed)) : null },
  };
}

async function runOne(env, node, mode, round) {
  const tag = `[round ${round} ${mode} ${node}]`;
  const log = (m) => console.error(`${tag} ${m}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nvm-rpc-bench-${node}-`));
  activeDirs.add(dir);
  const logPath = path.join(dir, `${node}.log`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { bin, args } = nodeKinds[node](env, port, dir);
  fs.writeFileSync(logPath, `$ ${bin} ${args.join(" ")}\n`);
  log(`starting ${node} on ${url} (log ${logPath})`);
  const child = startProcess(bin, args, logPath);
  let result;
  try {
    const t = performance.now();
    await waitFor(`${node} to answer eth_chainId on ${url}`, env.opts.timeout * 1000, async () => {
      if (child.exitInfo) throw Object.assign(new Error(`${node} ${describeExit(child.exitInfo)} before answering`), { fatal: true });
      return (await rpc(url, "eth_chainId", [], 2000)) !== undefined;
    }, 100);
    log(`ready in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    result = { ok: true, ...(await workload(env, mode, url, log)) };
    if (child.exitInfo) throw new Error(`${node} ${describeExit(child.exitInfo)} during the run`);
    const b = result.blocks;
    log(`${result.included}/${result.sent} included in ${result.seconds.toFixed(2)} s (sent in ${result.submitSeconds.toFixed(2)} s): ` +
      `${result.txPerSec.toFixed(1)} tx/s; ${result.refused} refused; blocks ${b.withTxs ?? "?"} with txs (max ${b.maxTxs ?? "?"}, ${b.delta} produced); ` +
      `receipts ${result.receipts.sampled - result.receipts.failed}/${result.receipts.sampled} status 1`);
  } catch (e) {
    const exit = child.exitInfo ? ` [${node} ${describeExit(child.exitInfo)}]` : "";
    result = { ok: false, error: `${e.message}${exit}`, log: logPath };
    log(`FAILED: ${result.error}\n--- last lines of ${logPath}:\n${logTail(logPath)}\n---`);
  } finally {
    await stopProcess(child);
  }
  activeDirs.delete(dir);
  if (result.ok && !env.opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  else result.dir = dir;
  return { round, mode, node, ...result };
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = (x, digits = 1) => (x === null || x === undefined || Number.isNaN(x) ? "-" : x.toFixed(digits));

function report(env, runs) {
  const { opts } = env;
  const lines = [];
  const nvmNote = env.nvm.profile === "debug" ? "  [DEBUG build: slow, not representative; measure a release build]" : "";
  lines.push(`nvm:   ${env.nvm.bin} (${env.nvm.profile}, from ${env.nvm.source})${nvmNote}`);
  lines.push(`anvil: ${env.anvil.bin} (${env.anvil.version})`);
  lines.push(`block gas limit: ${env.gasLimitNote}; block time ${opts.blockTimeMs} ms; transfer gasLimit ${TRANSFER_GAS}; ` +
    `recipients: ${opts.recipients === 0 ? "a fresh address per transfer" : `${opts.recipients}, round robin`}; Token.sol with solc ${env.token.solc.split("+")[0]}`);
  const summary = {};
  for (const mode of env.modes) {
    lines.push("");
    lines.push(mode === "single"
      ? `single: 1 sender x ${opts.n} transfers, one eth_sendRawTransaction per HTTP request, ${opts.concurrency} in flight`
      : `batch: ${opts.senders} senders x ${opts.perSender} transfers, JSON-RPC batches of ${opts.batchSize}, one in flight per sender`);
    const header = ["round", "nvm tx/s", "anvil tx/s", "nvm/anvil", "nvm s (send)", "anvil s (send)", "nvm blk/max", "anvil blk/max", "refused n/a"];
    const rows = [header];
    summary[mode] = [];
    const cell = (r, f) => (!r ? "-" : r.ok ? f(r) : "FAILED");
    for (let round = 1; round <= opts.rounds; round++) {
      const n = runs.find((r) => r.mode === mode && r.round === round && r.node === "nvm");
      const a = runs.find((r) => r.mode === mode && r.round === round && r.node === "anvil");
      const ratio = n?.ok && a?.ok ? n.txPerSec / a.txPerSec : null;
      summary[mode].push({ round, nvm: n?.ok ? n.txPerSec : null, anvil: a?.ok ? a.txPerSec : null, ratio });
      rows.push([
        String(round),
        cell(n, (r) => fmt(r.txPerSec)),
        cell(a, (r) => fmt(r.txPerSec)),
        ratio === null ? "-" : fmt(ratio, 2),
        cell(n, (r) => `${fmt(r.seconds, 2)} (${fmt(r.submitSeconds, 2)})`),
        cell(a, (r) => `${fmt(r.seconds, 2)} (${fmt(r.submitSeconds, 2)})`),
        cell(n, (r) => `${r.blocks.withTxs ?? "?"}/${r.blocks.maxTxs ?? "?"}`),
        cell(a, (r) => `${r.blocks.withTxs ?? "?"}/${r.blocks.maxTxs ?? "?"}`),
        `${n?.ok ? n.refused : "-"}/${a?.ok ? a.refused : "-"}`,
      ]);
    }
    const ok = (node) => runs.filter((r) => r.mode === mode && r.node === node && r.ok).map((r) => r.txPerSec);
    const mean = (xs) => (xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : null);
    if (opts.rounds > 1) {
      const [mn, ma] = [mean(ok("nvm")), mean(ok("anvil"))];
      rows.push(["mean", fmt(mn), fmt(ma), mn !== null && ma !== null ? fmt(mn / ma, 2) : "-", "", "", "", "", ""]);
    }
    const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    for (const r of rows) lines.push(("  " + r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join("  ")).trimEnd());
  }
  lines.push("");
  lines.push("tx/s = transfers included / seconds from the first send until every sender's latest nonce shows them");
  lines.push("       and its last transfer's receipt is served;");
  lines.push("s (send) = that time (time until every send was answered); blk/max = blocks holding transfers / most in one block.");
  const problems = [];
  for (const r of runs) {
    const tag = `round ${r.round} ${r.mode} ${r.node}`;
    if (!r.ok) {
      problems.push(`${tag}: FAILED: ${r.error} (log kept: ${r.log})`);
      continue;
    }
    if (r.refused) problems.push(`${tag}: ${r.refused} refused: ${Object.entries(r.refusedMessages).map(([m, c]) => `${c}x "${m}"`).join("; ")}` + (r.stranded ? `; ${r.stranded} accepted ones stranded behind a refused nonce` : ""));
    if (r.receipts.failed) problems.push(`${tag}: ${r.receipts.failed}/${r.receipts.sampled} sampled receipts not status 1`);
    if (r.hashMismatches) problems.push(`${tag}: ${r.hashMismatches} accepted transactions answered with a different hash`);
  }
  if (problems.length) lines.push("", "problems:", ...problems.map((p) => "  " + p));
  return { text: lines.join("\n"), summary };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const nvm = findNvm(opts);
  const anvil = findAnvil(opts);
  let gasLimit = opts.gasLimit;
  let gasLimitNote = `${gasLimit.toLocaleString("en-US")} on both`;
  if (opts.noGasLimit) {
    if (!nvm.hasDisableGasLimit) fail(`${nvm.bin} has no --disable-block-gas-limit`);
    gasLimitNote = "none (--disable-block-gas-limit on both)";
  } else if (!nvm.hasGasLimit) {
    if (gasLimit !== DEFAULT_GAS_LIMIT) console.error(`note: ${nvm.bin} has no --gas-limit; using its default 36,000,000 for anvil as well`);
    gasLimit = DEFAULT_GAS_LIMIT;
    gasLimitNote = `36,000,000 on both (this nvm binary has no --gas-limit; that is its default)`;
  }
  const token = compileToken();
  const env = { opts, nvm, anvil, gasLimit, gasLimitNote, token, iface: new Interface(token.abi) };
  env.modes = opts.mode === "both" ? ["single", "batch"] : [opts.mode];
  const nodes = opts.only ? [opts.only] : ["nvm", "anvil"];
  console.error(`nvm ${nvm.bin} (${nvm.profile}); anvil ${anvil.bin} (${anvil.version}); gas limit ${gasLimitNote}`);
  if (nvm.profile === "debug") console.error("note: debug nvm build — its figures are not representative");

  const runs = [];
  for (let round = 1; round <= opts.rounds; round++) {
    for (const mode of env.modes) {
      // Alternate which node goes first, so neither always runs right after the other's load.
      const order = round % 2 === 1 ? nodes : [...nodes].reverse();
      for (const node of order) runs.push(await runOne(env, node, mode, round));
    }
  }
  const { text, summary } = report(env, runs);
  if (opts.json) {
    console.log(JSON.stringify({
      config: { ...opts, gasLimit: opts.noGasLimit ? null : gasLimit, transferGasLimit: Number(TRANSFER_GAS), chainId: Number(CHAIN_ID) },
      nvm, anvil, solc: token.solc, runs, summary,
    }, null, 2));
    console.error("\n" + text);
  } else {
    console.log("\n" + text);
  }
  process.exitCode = runs.every((r) => r.ok) ? 0 : 1;
}

main().catch((e) => {
  console.error(`error: ${e.stack ?? e}`);
  killAllSync();
  process.exit(1);
});
