// What the fuzz targets share: reading typed values off the fuzzer's bytes, and the tokenizers they run on.
//
// Every target's LLVMFuzzerTestOneInput catches exactly the exceptions its reader documents for bad input (a
// refusal is the right answer to garbage) and lets everything else escape: libFuzzer reports an uncaught exception
// as a crash, as it does an ASan/UBSan report, a timeout or an allocation beyond -rss_limit_mb / -malloc_limit_mb.
#pragma once

#include "engine/text/tokenizer.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace fuzz {

// Consumes the input front to back; past the end every read gives zeros / empty strings.
class FuzzBytes {
public:
    FuzzBytes(const uint8_t* data, size_t size)
        : m_data(data)
        , m_size(size)
    {
    }
    size_t remaining() const { return m_size - m_pos; }
    uint8_t byte() { return m_pos < m_size ? m_data[m_pos++] : 0; }
    uint16_t u16() // little-endian; the two reads are sequenced, so every compiler reads the same value
    {
        const uint8_t low = byte();
        const uint8_t high = byte();
        return uint16_t(low | (high << 8));
    }
    // Up to `maxLength` bytes, ending before the next `separator` byte (which is consumed).
    std::string until(char separator, size_t maxLength = 4096)
    {
        std::string s;
        while (m_pos < m_size && s.size() < maxLength) {
            const char c = char(m_data[m_pos++]);
            if (c == separator)
                break;
            s.push_back(c);
        }
        return s;
    }
    std::string_view rest()
    {
        const std::string_view s(reinterpret_cast<const char*>(m_data + m_pos), m_size - m_pos);
        m_pos = m_size;
        return s;
    }

private:
    const uint8_t* m_data;
    size_t m_size;
    size_t m_pos = 0;
};

// The llama (SentencePiece) kind: the shipped default model's vocabulary, plus control tokens ("<|im_start|>",
// "<|im_end|>", "<|eot_id|>") and a user-defined one ("<tool>") so special-token matching is exercised too.
const engine::Tokenizer& sentencePieceTokenizer();

// The gpt2 (byte-level BPE) kind: GPT-2's byte alphabet, merges for a few common words, specials, and the
// pre-tokenizer split chosen by `which` (modulo the number of splits tried).
const engine::Tokenizer& byteLevelTokenizer(unsigned which);
size_t byteLevelTokenizerCount();

} // namespace fuzz
