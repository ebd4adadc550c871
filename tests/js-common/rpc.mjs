// Helpers for the client-library tests: JSON-RPC over HTTP (plain fetch: the node's own `nvm_*`,
// Ethereum and Solana methods, beside what each library under test calls itself) and polling.

/// Calls `method` with `params` at `url`; an error answer throws with the node's message.
export async function call(url, method, params) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/// Polls `probe` every 200 ms until it returns something truthy, within `seconds`, or fails
/// naming `what`.
export async function until(what, probe, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/// `promise`, or a failure naming `what` once `ms` have passed. The timer is cleared either way,
/// so it never keeps the process alive.
export async function within(ms, what, promise) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/// The JSON-RPC error of a call that must fail, sent through an ethers `provider`: the node's own
/// error object (ethers keeps it even where it also names a category of its own, e.g.
/// INSUFFICIENT_FUNDS for an "insufficient funds" message).
export async function rpcErrorOf(provider, method, params) {
  try {
    await provider.send(method, params);
  } catch (e) {
    return e.info?.error ?? e.error ?? e;
  }
  throw new Error(`${method} should have failed`);
}
