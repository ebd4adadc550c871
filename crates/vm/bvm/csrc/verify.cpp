// Verifies a Bitcoin transaction's inputs with Bitcoin Core's interpreter (the one
// libbitcoinconsensus 26 compiles, linked from the `bitcoinconsensus` crate), reporting Core's
// own ScriptError for a failing input — which libbitcoinconsensus's C API discards — and taking
// any of Core's verification flags, its policy ones included. The transaction is deserialized and
// its signature-hash data precomputed once; its inputs can then be verified in parallel.

#include <primitives/transaction.h>
#include <script/interpreter.h>
#include <script/script.h>
#include <script/script_error.h>
#include <serialize.h>
#include <span.h>
#include <version.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <ios>
#include <memory>
#include <string>
#include <vector>

namespace {

// The transaction's bytes as a stream Core's Unserialize reads (Core's own streams.h needs
// headers the bitcoinconsensus crate does not ship).
class ByteReader
{
public:
    ByteReader(const unsigned char* data, size_t len) : m_data(data), m_remaining(len) {}

    void read(Span<std::byte> dst)
    {
        if (dst.size() > m_remaining) throw std::ios_base::failure("end of data");
        if (dst.size() > 0) std::memcpy(dst.data(), m_data, dst.size());
        m_data += dst.size();
        m_remaining -= dst.size();
    }

    template <typename T>
    ByteReader& operator>>(T&& obj)
    {
        ::Unserialize(*this, obj);
        return *this;
    }

    int GetVersion() const { return PROTOCOL_VERSION; }
    bool empty() const { return m_remaining == 0; }

private:
    const unsigned char* m_data;
    size_t m_remaining;
};

} // namespace

// A transaction ready to have its inputs verified, from any number of threads at once: the
// transaction and its signature-hash data are read-only once prepared (as in Core's parallel
// script checks).
struct NvmPreparedTx {
    CTransaction tx;
    PrecomputedTransactionData txdata;
};

extern "C" {

// What the functions below found.
enum NvmVerifyStatus {
    NVM_VERIFY_OK = 0,
    NVM_VERIFY_SCRIPT_FAILED = 1,       // the input failed with *script_error
    NVM_VERIFY_MALFORMED = 2,           // the bytes are not exactly one transaction
    NVM_VERIFY_SPENT_MISMATCH = 3,      // n_spent is not *n_inputs, the number of inputs
    NVM_VERIFY_INPUT_OUT_OF_RANGE = 4,  // no such input
    NVM_VERIFY_INVALID_FLAGS = 5,       // flags the interpreter asserts against (it would abort)
};

// Deserializes the transaction `tx_bytes` and precomputes its signature-hash data over the outputs
// its inputs spend — scripts[i] of script_lens[i] bytes holding amounts[i] satoshi, for each of
// its n_spent inputs. Returns null with *status set if it cannot; *n_inputs is its input count.
NvmPreparedTx* nvm_prepare_tx(const unsigned char* tx_bytes, size_t tx_len,
                              const unsigned char* const* scripts, const size_t* script_lens,
                              const int64_t* amounts, size_t n_spent, int* status, size_t* n_inputs)
{
    try {
        ByteReader reader{tx_bytes, tx_len};
        std::unique_ptr<NvmPreparedTx> prepared{
            new NvmPreparedTx{CTransaction(deserialize, reader), PrecomputedTransactionData{}}};
        if (!reader.empty()) {
            *status = NVM_VERIFY_MALFORMED;
            return nullptr;
        }
        const CTransaction& tx = prepared->tx;
        *n_inputs = tx.vin.size();
        if (n_spent != tx.vin.size()) {
            *status = NVM_VERIFY_SPENT_MISMATCH;
            return nullptr;
        }
        std::vector<CTxOut> spent;
        spent.reserve(n_spent);
        for (size_t i = 0; i < n_spent; i++) {
            spent.emplace_back(CAmount{amounts[i]}, CScript(scripts[i], scripts[i] + script_lens[i]));
        }
        prepared->txdata.Init(tx, std::move(spent));
        *status = NVM_VERIFY_OK;
        return prepared.release();
    } catch (const std::exception&) {
        *status = NVM_VERIFY_MALFORMED;
        return nullptr;
    }
}

// Verifies input `input` of a prepared transaction under `flags`; safe to call from several
// threads at once on the same transaction.
int nvm_verify_prepared_input(const NvmPreparedTx* prepared, size_t input, unsigned int flags,
                              int* script_error)
{
    // VerifyScript asserts that WITNESS comes with P2SH, and CLEANSTACK with both.
    if ((flags & SCRIPT_VERIFY_WITNESS) && !(flags & SCRIPT_VERIFY_P2SH)) return NVM_VERIFY_INVALID_FLAGS;
    if ((flags & SCRIPT_VERIFY_CLEANSTACK) && !((flags & SCRIPT_VERIFY_P2SH) && (flags & SCRIPT_VERIFY_WITNESS))) {
        return NVM_VERIFY_INVALID_FLAGS;
    }
    if (flags >= (1U << 21)) return NVM_VERIFY_INVALID_FLAGS;
    const CTransaction& tx = prepared->tx;
    if (input >= tx.vin.size()) return NVM_VERIFY_INPUT_OUT_OF_RANGE;
    try {
        const CTxOut& prevout = prepared->txdata.m_spent_outputs[input];
        ScriptError error = SCRIPT_ERR_UNKNOWN_ERROR;
        const TransactionSignatureChecker checker(&tx, static_cast<unsigned int>(input), prevout.nValue,
                                                  prepared->txdata, MissingDataBehavior::FAIL);
        if (!VerifyScript(tx.vin[input].scriptSig, prevout.scriptPubKey, &tx.vin[input].scriptWitness,
                          flags, checker, &error)) {
            *script_error = static_cast<int>(error);
            return NVM_VERIFY_SCRIPT_FAILED;
        }
        return NVM_VERIFY_OK;
    } catch (const std::exception&) {
        return NVM_VERIFY_MALFORMED;
    }
}

void nvm_free_prepared_tx(NvmPreparedTx* prepared)
{
    delete prepared;
}

} // extern "C"
