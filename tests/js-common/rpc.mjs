// JSON-RPC over HTTP for the client-library tests (plain fetch: the node's own `nvm_*`, Ethereum and
// Solana methods, beside what each library under test calls itself).

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
