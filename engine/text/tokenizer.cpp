#include "engine/text/tokenizer.h"

#include "engine/text/bpe.h"
#include "engine/text/utf8.h"

#include <algorithm>
#include <cstdio>
#include <queue>
#include <stdexcept>

namespace engine {

namespace {

// U+2581 LOWER ONE EIGHTH BLOCK: SentencePiece's visible stand-in for a space.
constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";
// What SentencePiece's decoder prints for <unk> (its default unk_surface " \u2047 ").
constexpr std::string_view kUnknownSurface = " \xE2\x81\x87 ";

// Parses "<0xNN>" (SentencePiece writes NN in uppercase hex; lowercase is accepted too). -1 if not that form.
int parseByteToken(std::string_view piece)
{
    if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>')
        return -1;
    int value = 0;
    for (char c : piece.substr(3, 2)) {
        int digit;
        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (c >= 'A' && c <= 'F')
            digit = c - 'A' + 10;
        else if (c >= 'a' && c <= 'f')
            digit = c - 'a' + 10;
        else
            return -1;
        value = value * 16 + digit;
    }
    return value;
}

// Pieces that plain text may turn into. SentencePiece keeps exactly these in its piece table; control,
// unknown and byte pieces live in a separate table that text never matches (so "<s>" typed by a user is
// three characters, not BOS).
bool isTextPiece(TokenType type)
{
    return type == TokenType::Normal || type == TokenType::UserDefined || type == TokenType::Unused
        || type == TokenType::Undefined;
}

} // namespace

Tokenizer::Tokenizer(Vocabulary vocab)
    : m_vocab(std::move(vocab))
{
    const bool byteLevel = m_vocab.model == "gpt2";
    if (m_vocab.model != "llama" && !byteLevel)
        throw std::runtime_error("tokenizer model '" + m_vocab.model + "' is not supported (supported: llama, gpt2)");
    const size_t n = m_vocab.tokens.size();
    if (n == 0)
        throw std::runtime_error("tokenizer: the vocabulary has no tokens");
    // Hand-built vocabularies may leave scores and types out; a file read by fromGguf always has both.
    if (m_vocab.scores.empty())
        m_vocab.scores.assign(n, 0.0f);
    if (m_vocab.types.empty())
        m_vocab.types.assign(n, TokenType::Normal);
    if (m_vocab.scores.size() != n || m_vocab.types.size() != n)
        throw std::runtime_error("tokenizer: the vocabulary has " + std::to_string(n) + " tokens but "
            + std::to_string(m_vocab.scores.size()) + " scores and " + std::to_string(m_vocab.types.size())
            + " token types");

    std::fill(std::begin(m_byteTokens), std::end(m_byteTokens), -1);
    if (byteLevel) {
        m_bpe = std::make_shared<const BytePairEncoding>(m_vocab);
    } else {
        m_pieceToId.reserve(n);
        for (size_t i = 0; i < n; ++i) {
            if (!isTextPiece(m_vocab.types[i]))
                continue;
            m_pieceToId.emplace(m_vocab.tokens[i], int32_t(i)); // a duplicate piece keeps its first (lowest) id
            if (m_vocab.types[i] == TokenType::UserDefined)
                m_maxUserDefinedBytes = std::max(m_maxUserDefinedBytes, m_vocab.tokens[i].size());
        }

        // Byte-fallback tokens are typed Byte. Files without token types still carry them as plain "<0xNN>"
        // pieces, so accept those when the vocabulary has no Byte-typed token at all.
        const bool hasByteTypes
            = std::find(m_vocab.types.begin(), m_vocab.types.end(), TokenType::Byte) != m_vocab.types.end();
        for (size_t i = 0; i < n; ++i) {
            if (hasByteTypes && m_vocab.types[i] != TokenType::Byte)
                continue;
            const int byte = parseByteToken(m_vocab.tokens[i]);
            if (byte >= 0 && m_byteTokens[byte] < 0)
                m_byteTokens[byte] = int32_t(i);
        }
    }

    // Pieces matched whole in text. SentencePiece's user-defined pieces are handled inside its own segmentation
    // (encodeSentencePiece); byte-level BPE matches them here, like HF's added tokens.
    for (size_t i = 0; i < n; ++i) {
        const TokenType type = m_vocab.types[i];
        if (!m_vocab.tokens[i].empty() && (type == TokenType::Control || (byteLevel && type == TokenType::UserDefined)))
            m_specials.push_back(int32_t(i));
    }
    std::sort(m_specials.begin(), m_specials.end(), [&](int32_t a, int32_t b) {
        const std::string& pa = m_vocab.tokens[size_t(a)];
        const std::string& pb = m_vocab.tokens[size_t(b)];
        const auto fa = static_cast<unsigned char>(pa[0]);
        const auto fb = static_cast<unsigned char>(pb[0]);
        if (fa != fb)
            return fa < fb;
        if (pa.size() != pb.size())
            return pa.size() > pb.size(); // longest match first
        return a < b;
    });
    for (int32_t id : m_specials)
        ++m_specialStart[static_cast<unsigned char>(m_vocab.tokens[size_t(id)][0]) + 1];
    for (size_t b = 1; b < 257; ++b)
        m_specialStart[b] += m_specialStart[b - 1];

    // Chat-tuned models end a turn with their own control token rather than EOS; stop on those too.
    if (m_vocab.eosId >= 0)
        m_endOfGeneration.push_back(m_vocab.eosId);
    static const std::string_view endOfTurnPieces[]
        = { "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>" };
    for (size_t i = 0; i < n; ++i) {
        if (m_vocab.types[i] != TokenType::Control)
            continue;
        for (std::string_view end : endOfTurnPieces) {
            if (m_vocab.tokens[i] == end)
                m_endOfGeneration.push_back(int32_t(i));
        }
    }
    std::sort(m_endOfGeneration.begin(), m_endOfGeneration.end());
    m_endOfGeneration.erase(std::unique(m_endOfGeneration.begin(), m_endOfGeneration.end()), m_endOfGeneration.end());
}

// SentencePiece BPE (as llama.cpp's llm_tokenizer_spm and sentencepiece's bpe_model.cc do it): start from one
// symbol per character, then repeatedly merge the adjacent pair whose concatenation is the highest-scoring
// piece (ties: the leftmost pair). A priority queue of candidate pairs with lazy invalidation makes this
// O(n log n) instead of rescanning all pairs after each merge.
template <typename Emit> void Tokenizer::splitSpecial(std::string_view text, bool parseControl, Emit&& emit) const
{
    size_t textStart = 0;
    for (size_t pos = 0; pos < text.size();) {
        const auto first = static_cast<unsigned char>(text[pos]);
        int32_t matched = -1;
        for (uint32_t k = m_specialStart[first]; k < m_specialStart[first + 1]; ++k) {
            const int32_t id = m_specials[k];
            if (!parseControl && m_vocab.types[size_t(id)] == TokenType::Control)
                continue;
            const std::string& piece = m_vocab.tokens[size_t(id)];
            if (text.compare(pos, piece.size(), piece) == 0) {
                matched = id;
                break;
            }
        }
        if (matched < 0) {
            ++pos;
            continue;
        }
        emit(text.substr(textStart, pos - textStart), -1);
        emit(std::string_view(), matched);
        pos += m_vocab.tokens[size_t(matched)].size();
        textStart = pos;
    }
    emit(text.substr(textStart), -1);
}

void Tokenizer::encodeText(std::string_view text, bool& atStartOrAfterSpecial, std::vector<int32_t>& out) const
{
    if (text.empty())
        return;
    if (m_bpe)
        m_bpe->encode(text, out);
    else
        encodeSentencePiece(text, atStartOrAfterSpecial && m_vocab.addSpacePrefix, out);
    atStartOrAfterSpecial = false;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool addBos, bool parseSpecial) const
{
    std::vector<int32_t> out;
    if (addBos && m_vocab.bosId >= 0)
        out.push_back(m_vocab.bosId);
    bool atStartOrAfterSpecial = true; // where SentencePiece puts its dummy prefix
    splitSpecial(text, parseSpecial, [&](std::string_view fragment, int32_t specialId) {
        if (specialId >= 0) {
            out.push_back(specialId);
            atStartOrAfterSpecial = true;
        } else {
            encodeText(fragment, atStartOrAfterSpecial, out);
        }
    });
    return out;
}

std::vector<int32_t> Tokenizer::encode(std::span<const TextSegment> segments, bool addBos) const
{
    std::vector<int32_t> out;
    if (addBos && m_vocab.bosId >= 0)
        out.push_back(m_vocab.bosId);
    bool atStartOrAfterSpecial = true;
    std::string pending; // plain text gathered across segments until the next special token
    for (const TextSegment& segment : segments) {
        splitSpecial(segment.text, segment.parseSpecial, [&](std::string_view fragment, int32_t specialId) {
            if (specialId < 0) {
                pending += fragment;
                return;
            }
            encodeText(pending, atStartOrAfterSpecial, out);
            pending.clear();
            out.push_back(specialId);
            atStartOrAfterSpecial = true;
        });
    }
    encodeText(pending, atStartOrAfterSpecial, out);
    return out;
}

void Tokenizer::encodeSentencePiece(std::string_view text, bool spacePrefix, std::vector<int32_t>& out) const
{
    if (text.empty())
        return; // SentencePiece adds no dummy prefix to empty input

    // 1. Normalise: the dummy prefix, then every space as U+2581.
    std::string normalized;
    normalized.reserve(text.size() * 2 + 3);
    if (spacePrefix)
        normalized += kSpaceMarker;
    for (char c : text) {
        if (c == ' ')
            normalized += kSpaceMarker;
        else
            normalized += c;
    }

    // 2. One symbol per UTF-8 character (an invalid byte is a symbol of its own); user-defined pieces are
    //    matched whole first (longest match) and frozen, as SentencePiece's prefix matcher does.
    struct Symbol {
        size_t offset;
        size_t length; // 0 once merged into the symbol on its left
        int prev;
        int next;
        bool frozen;
    };
    std::vector<Symbol> symbols;
    symbols.reserve(normalized.size());
    const std::string_view all(normalized);
    for (size_t pos = 0; pos < all.size();) {
        size_t length = 0;
        bool frozen = false;
        if (m_maxUserDefinedBytes > 0) {
            for (size_t len = std::min(m_maxUserDefinedBytes, all.size() - pos); len > 0; --len) {
                const auto it = m_pieceToId.find(std::string(all.substr(pos, len)));
                if (it != m_pieceToId.end() && m_vocab.types[size_t(it->second)] == TokenType::UserDefined) {
                    length = len;
                    frozen = true;
                    break;
                }
            }
        }
        if (length == 0) {
            const Utf8Scan scan = scanUtf8(all.substr(pos));
            length = scan.status == Utf8Status::Complete ? scan.length : 1;
        }
        const int index = int(symbols.size());
        symbols.push_back({ pos, length, index - 1, -1, frozen });
        if (index > 0)
            symbols[size_t(index - 1)].next = index;
        pos += length;
    }

    // 3. Merge by score.
    struct Bigram {
        int left;
        int right;
        float score;
        size_t length; // bytes of the merged piece, to detect entries made stale by other merges
    };
    auto lowerPriority
        = [](const Bigram& a, const Bigram& b) { return a.score < b.score || (a.score == b.score && a.left > b.left); };
    std::priority_queue<Bigram, std::vector<Bigram>, decltype(lowerPriority)> agenda(lowerPriority);
    // SentencePiece splits a final Unused piece back into the pair it was made from; remember those pairs.
    std::unordered_map<std::string, std::pair<std::string, std::string>> unusedSplits;

    auto tryAddBigram = [&](int left, int right) {
        if (left < 0 || right < 0)
            return;
        const Symbol& l = symbols[size_t(left)];
        const Symbol& r = symbols[size_t(right)];
        if (l.frozen || r.frozen)
            return;
        const std::string_view merged = all.substr(l.offset, l.length + r.length);
        const auto it = m_pieceToId.find(std::string(merged));
        if (it == m_pieceToId.end())
            return;
        const auto id = size_t(it->second);
        agenda.push({ left, right, m_vocab.scores[id], merged.size() });
        if (m_vocab.types[id] == TokenType::Unused) {
            unusedSplits[std::string(merged)]
                = { std::string(all.substr(l.offset, l.length)), std::string(all.substr(r.offset, r.length)) };
        }
    };
    for (size_t i = 1; i < symbols.size(); ++i)
        tryAddBigram(int(i - 1), int(i));

    while (!agenda.empty()) {
        const Bigram bigram = agenda.top();
        agenda.pop();
        Symbol& left = symbols[size_t(bigram.left)];
        Symbol& right = symbols[size_t(bigram.right)];
        // Stale: one side was merged away, or grew through another merge since this pair was queued.
        if (left.length == 0 || right.length == 0 || left.length + right.length != bigram.length)
            continue;
        left.length += right.length;
        right.length = 0;
        left.next = right.next;
        if (right.next >= 0)
            symbols[size_t(right.next)].prev = bigram.left;
        tryAddBigram(left.prev, bigram.left);
        tryAddBigram(bigram.left, left.next);
    }

    // 4. Symbols to ids, with byte fallback for characters the vocabulary lacks.
    bool previousWasUnknown = false;
    auto emitBytes = [&](std::string_view bytes) {
        for (char c : bytes) {
            const int32_t id = m_byteTokens[static_cast<unsigned char>(c)];
            if (id >= 0) {
                out.push_back(id);
                previousWasUnknown = false;
            } else if (m_vocab.unkId >= 0 && !previousWasUnknown) {
                // No byte token: SentencePiece emits <unk>, one for a run of unknown input.
                out.push_back(m_vocab.unkId);
                previousWasUnknown = true;
            }
            // Neither a byte token nor <unk>: the byte cannot be represented and is dropped.
        }
    };
    auto emitPiece = [&](auto&& self, const std::string& piece, int depth) -> void {
        const auto it = m_pieceToId.find(piece);
        if (it == m_pieceToId.end()) {
            emitBytes(piece);
            return;
        }
        if (m_vocab.types[size_t(it->second)] == TokenType::Unused && depth < 64) {
            const auto split = unusedSplits.find(piece);
            if (split != unusedSplits.end()) {
                self(self, split->second.first, depth + 1);
                self(self, split->second.second, depth + 1);
                return;
            }
        }
        out.push_back(it->second);
        previousWasUnknown = false;
    };
    for (int i = 0; i >= 0 && !symbols.empty(); i = symbols[size_t(i)].next) {
        const Symbol& s = symbols[size_t(i)];
        emitPiece(emitPiece, std::string(all.substr(s.offset, s.length)), 0);
    }
}

std::string Tokenizer::tokenBytes(int32_t id) const
{
    const std::string& p = piece(id);
    switch (m_vocab.types[size_t(id)]) {
    case TokenType::Control:
    case TokenType::Unused:
        return {};
    case TokenType::Unknown:
        // Visible rather than silent, so a model emitting <unk> shows it (SentencePiece's decoder does the same).
        return std::string(kUnknownSurface);
    case TokenType::UserDefined:
        if (m_bpe)
            return p; // added tokens are stored as their text, not in the byte alphabet
        break;
    default:
        break;
    }
    if (m_bpe)
        return m_bpe->pieceBytes(p);
    const int byte = parseByteToken(p);
    if (byte >= 0 && m_byteTokens[byte] == id)
        return std::string(1, char(byte));
    std::string bytes;
    bytes.reserve(p.size());
    for (size_t pos = 0; pos < p.size();) {
        if (p.compare(pos, kSpaceMarker.size(), kSpaceMarker) == 0) {
            bytes += ' ';
            pos += kSpaceMarker.size();
        } else {
            bytes += p[pos++];
        }
    }
    return bytes;
}

const std::string& Tokenizer::piece(int32_t id) const
{
    if (id < 0 || id >= size())
        throw std::out_of_range(
            "token id " + std::to_string(id) + " is outside the vocabulary (size " + std::to_string(size()) + ")");
    return m_vocab.tokens[size_t(id)];
}

bool Tokenizer::isEndOfGeneration(int32_t id) const
{
    return std::binary_search(m_endOfGeneration.begin(), m_endOfGeneration.end(), id);
}

Detokenizer::Detokenizer(const Tokenizer& tokenizer, bool stripLeadingSpace)
    : m_tokenizer(tokenizer)
    , m_stripLeadingSpace(stripLeadingSpace && tokenizer.addsSpacePrefix())
{
}

std::string Detokenizer::push(int32_t id)
{
    std::string text = m_stream.push(m_tokenizer.tokenBytes(id));
    if (m_first && !text.empty()) {
        m_first = false;
        if (m_stripLeadingSpace && text.front() == ' ')
            text.erase(0, 1);
    }
    return text;
}

std::string Detokenizer::flush()
{
    std::string text = m_stream.flush();
    if (m_first && !text.empty()) {
        m_first = false;
        if (m_stripLeadingSpace && text.front() == ' ')
            text.erase(0, 1);
    }
    return text;
}

} // namespace engine
