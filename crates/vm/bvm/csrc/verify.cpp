// Verifies a Bitcoin transaction's inputs with Bitcoin Core's interpreter (the one
// libbitcoinconsensus 26 compiles, linked from the `bitcoinconsensus` crate), reporting Core's
// own ScriptError for a failing input — which libbitcoinconsensus's C API discards — and taking
// any of Core's verification flags, its policy ones included. The transaction is deserialized and
// its signature-hash data precomputed once for all its inputs.

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

extern "C" {

// What nvm_verify_inputs found.
enum NvmVerifyStatus {
    NVM_VERIFY_OK = 0,
    NVM_VERIFY_SCRIPT_FAILED = 1,       // *failed_input failed with *script_error
    NVM_VERIFY_MALFORMED = 2,           // the bytes are not exactly one transaction
    NVM_VERIFY_SPENT_MISMATCH = 3,      // n_spent is not *failed_input, the number of inputs
    NVM_VERIFY_INPUT_OUT_OF_RANGE = 4,  // `only` names no input
    NVM_VERIFY_INVALID_FLAGS = 5,       // flags the interpreter asserts against (it would abort)
};

// Verifies input `only` of the transaction `tx` (or every input, in order, when `only` is
// SIZE_MAX) against the outputs its inputs spend — scripts[i] of script_lens[i] bytes holding
// amounts[i] satoshi, for each of its n_spent inputs — under `flags`. On a failure,
// `*failed_input` and `*script_error` (Core's ScriptError) say where and why.
int nvm_verify_inputs(const unsigned char* tx_bytes, size_t tx_len,
                      const unsigned char* const* scripts, const size_t* script_lens,
                      const int64_t* amounts, size_t n_spent, size_t only, unsigned int flags,
                      size_t* failed_input, int* script_error)
{
    // VerifyScript asserts that WITNESS comes with P2SH, and CLEANSTACK with both.
    if ((flags & SCRIPT_VERIFY_WITNESS) && !(flags & SCRIPT_VERIFY_P2SH)) return NVM_VERIFY_INVALID_FLAGS;
    if ((flags & SCRIPT_VERIFY_CLEANSTACK) && !((flags & SCRIPT_VERIFY_P2SH) && (flags & SCRIPT_VERIFY_WITNESS))) {
        return NVM_VERIFY_INVALID_FLAGS;
    }
    if (flags >= (1U << 21)) return NVM_VERIFY_INVALID_FLAGS;
    try {
        ByteReader reader{tx_bytes, tx_len};
        const CTransaction tx(deserialize, reader);
        if (!reader.empty()) return NVM_VERIFY_MALFORMED;
        if (n_spent != tx.vin.size()) {
            *failed_input = tx.vin.size();
            return NVM_VERIFY_SPENT_MISMATCH;
        }
        if (only != SIZE_MAX && only >= tx.vin.size()) return NVM_VERIFY_INPUT_OUT_OF_RANGE;

        std::vector<CTxOut> spent;
        spent.reserve(n_spent);
        for (size_t i = 0; i < n_spent; i++) {
            spent.emplace_back(CAmount{amounts[i]}, CScript(scripts[i], scripts[i] + script_lens[i]));
        }
        PrecomputedTransactionData txdata;
        txdata.Init(tx, std::move(spent));

        const size_t first = only == SIZE_MAX ? 0 : only;
        const size_t end = only == SIZE_MAX ? tx.vin.size() : only + 1;
        for (size_t i = first; i < end; i++) {
            const CTxOut& prevout = txdata.m_spent_outputs[i];
            ScriptError error = SCRIPT_ERR_UNKNOWN_ERROR;
            const TransactionSignatureChecker checker(&tx, static_cast<unsigned int>(i), prevout.nValue,
                                                      txdata, MissingDataBehavior::FAIL);
            if (!VerifyScript(tx.vin[i].scriptSig, prevout.scriptPubKey, &tx.vin[i].scriptWitness, flags,
                              checker, &error)) {
                *failed_input = i;
                *script_error = static_cast<int>(error);
                return NVM_VERIFY_SCRIPT_FAILED;
            }
        }
        return NVM_VERIFY_OK;
    } catch (const std::exception&) {
        return NVM_VERIFY_MALFORMED;
    }
}

} // extern "C"
