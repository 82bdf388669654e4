// Text <-> token ids for the `llama` (SentencePiece-style BPE by scores with byte fallback) vocabulary kind.
#pragma once

#include "vocabulary.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace engine {

class Tokenizer {
public:
    // Throws std::runtime_error if the vocabulary kind is not supported (message names it).
    explicit Tokenizer(Vocabulary vocab);

    // Encodes UTF-8 text. Invalid UTF-8 bytes are encoded through byte-fallback tokens, never dropped.
    // With addBos (and a BOS id in the vocabulary) the BOS id comes first.
    std::vector<int32_t> encode(std::string_view text, bool addBos) const;

    // The raw bytes a token stands for: U+2581 becomes ' ', <0xNN> becomes that byte, control
    // tokens (BOS/EOS...) give "". May be an incomplete UTF-8 sequence.
    std::string tokenBytes(int32_t id) const;
    const std::string& piece(int32_t id) const; // as stored
    bool isEndOfGeneration(int32_t id) const;   // EOS (and other end-of-turn ids the vocabulary marks)

    const Vocabulary& vocab() const { return m_vocab; }
    int32_t size() const { return int32_t(m_vocab.tokens.size()); }
    int32_t bos() const { return m_vocab.bosId; }
    int32_t eos() const { return m_vocab.eosId; }

private:
    Vocabulary m_vocab;
    std::unordered_map<std::string, int32_t> m_pieceToId;
    int32_t m_byteTokens[256]; // byte value -> id of its <0xNN> token, -1 if the vocabulary has none
    std::vector<int32_t> m_endOfGeneration; // EOS and end-of-turn control tokens, sorted
    size_t m_maxUserDefinedBytes = 0;       // longest UserDefined piece (0: none, skip the pre-match)
};

// Turns a stream of raw bytes into valid UTF-8 text: incomplete multi-byte sequences are held
// until they complete; bytes that can never form valid UTF-8 become U+FFFD.
class Utf8Stream {
public:
    std::string push(std::string_view bytes); // returns the text that is complete so far
    std::string flush();                      // whatever is held, invalid parts as U+FFFD
private:
    std::string m_pending;
};

// Streams generated token ids as valid UTF-8 text. Strips the single leading space SentencePiece
// adds to the first piece when the vocabulary uses the dummy space prefix and stripLeadingSpace is set.
class Detokenizer {
public:
    explicit Detokenizer(const Tokenizer& tokenizer, bool stripLeadingSpace = false);
    std::string push(int32_t id);
    std::string flush();

private:
    const Tokenizer& m_tokenizer;
    Utf8Stream m_stream;
    bool m_stripLeadingSpace;
    bool m_first = true;
};

// True if `text` is entirely valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool isValidUtf8(std::string_view text);

} // namespace engine
