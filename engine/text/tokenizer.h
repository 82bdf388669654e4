// Text <-> token ids for the `llama` (SentencePiece-style BPE by scores with byte fallback) and `gpt2` (byte-level
// BPE with merges, see bpe.h) vocabulary kinds, with special-token matching, BOS, and streaming UTF-8 decoding.
#pragma once

#include "engine/text/utf8.h"
#include "engine/text/vocabulary.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace engine {

class BytePairEncoding;

class Tokenizer {
public:
    // Throws std::runtime_error if the vocabulary kind is not supported (message names it and the supported ones).
    explicit Tokenizer(Vocabulary vocab);

    // Encodes UTF-8 text. Invalid UTF-8 bytes are encoded through byte tokens, never dropped.
    // With addBos (and a BOS id in the vocabulary) the BOS id comes first; nothing else is added (not EOS).
    // parseSpecial: control-token pieces in the text ("<|im_start|>", "<|eot_id|>", "</s>") become those tokens,
    // matched whole, longest first, before any other splitting. Off, they are plain text. User-defined pieces are
    // always matched whole. In the llama kind, text after a matched control token gets the dummy space prefix again,
    // as llama.cpp (and HF's legacy Llama tokenizer) do.
    std::vector<int32_t> encode(std::string_view text, bool addBos, bool parseSpecial) const;
    // Text given in pieces, each with its own parseSpecial: control tokens are matched only inside the pieces that
    // allow it (a chat template's markers), never in the others (messages), and never across a boundary. Plain text
    // next to plain text, from one piece or several, is encoded as one run, so the result equals
    // encode(joined, addBos, true) whenever the pieces without parseSpecial hold no control-token text.
    struct TextSegment {
        std::string_view text;
        bool parseSpecial = false;
    };
    std::vector<int32_t> encode(std::span<const TextSegment> segments, bool addBos) const;
    // Each kind's own convention: SentencePiece (llama) never turns text into control tokens; byte-level BPE (gpt2)
    // tokenizers, like HF's, match their special tokens in text.
    std::vector<int32_t> encode(std::string_view text, bool addBos) const
    {
        return encode(text, addBos, m_bpe != nullptr);
    }

    // The raw bytes a token stands for: llama: U+2581 becomes ' ', <0xNN> becomes that byte; gpt2: each character of
    // the byte alphabet becomes its byte ("Ġ" -> ' '). Control tokens (BOS/EOS, <|im_start|>...) give "", so chat
    // markup never shows in generated text; use piece() to display them. User-defined tokens give their text.
    // May be an incomplete UTF-8 sequence.
    std::string tokenBytes(int32_t id) const;
    const std::string& piece(int32_t id) const; // as stored
    bool isEndOfGeneration(int32_t id) const; // EOS (and other end-of-turn ids the vocabulary marks)

    const Vocabulary& vocab() const { return m_vocab; }
    int32_t size() const { return int32_t(m_vocab.tokens.size()); }
    int32_t bos() const { return m_vocab.bosId; }
    int32_t eos() const { return m_vocab.eosId; }
    bool isByteLevel() const { return m_bpe != nullptr; } // the gpt2 kind
    // Whether encoding puts SentencePiece's dummy space in front of the text (never for gpt2).
    bool addsSpacePrefix() const { return !m_bpe && m_vocab.addSpacePrefix; }

private:
    // Cuts text at special tokens: calls emit(text, -1) for plain text (possibly empty) and emit({}, id) for each
    // matched special token, in order.
    template <typename Emit> void splitSpecial(std::string_view text, bool parseControl, Emit&& emit) const;
    void encodeSentencePiece(std::string_view text, bool spacePrefix, std::vector<int32_t>& out) const;
    // One run of plain text (no control tokens in it any more); atStartOrAfterSpecial: where SentencePiece puts its
    // dummy prefix, cleared here.
    void encodeText(std::string_view text, bool& atStartOrAfterSpecial, std::vector<int32_t>& out) const;

    Vocabulary m_vocab;
    std::shared_ptr<const BytePairEncoding> m_bpe; // gpt2 kind only; immutable, so copies of the Tokenizer share it
    std::unordered_map<std::string, int32_t> m_pieceToId; // llama kind: text pieces
    int32_t m_byteTokens[256]; // llama kind: byte value -> id of its <0xNN> token, -1 if the vocabulary has none
    std::vector<int32_t> m_endOfGeneration; // EOS and end-of-turn control tokens, sorted
    size_t m_maxUserDefinedBytes = 0; // llama kind: longest UserDefined piece (0: none, skip the pre-match)
    // Special tokens matched whole in text (Control; and UserDefined in the gpt2 kind), grouped by first byte and
    // longest first within a group: m_specials[m_specialStart[b] .. m_specialStart[b + 1]) start with byte b.
    std::vector<int32_t> m_specials;
    uint32_t m_specialStart[257] = {};
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

} // namespace engine
