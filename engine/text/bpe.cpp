#include "engine/text/bpe.h"

#include "engine/text/pretokenizer.h"
#include "engine/text/utf8.h"
#include "engine/text/vocabulary.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <queue>
#include <stdexcept>

namespace engine {

namespace {

// --- GPT-2's byte alphabet (bytes_to_unicode in encoder.py): printable Latin-1 bytes stand for themselves, the
// other 68 (controls, space, DEL, NBSP, soft hyphen...) are moved to U+0100.. in byte order, so every byte is a
// visible character and no piece contains a space.
struct ByteAlphabet {
    std::array<std::string, 256> piece; // byte -> UTF-8 of its character
    std::array<int16_t, 324> byteOf; // code point (< 324) -> byte, -1 if not in the alphabet
};

const ByteAlphabet& byteAlphabet()
{
    static const ByteAlphabet alphabet = [] {
        ByteAlphabet a;
        a.byteOf.fill(-1);
        char32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            const char32_t cp = printable ? char32_t(b) : next++;
            appendUtf8(a.piece[size_t(b)], cp);
            a.byteOf[cp] = int16_t(b);
        }
        return a;
    }();
    return alphabet;
}

// Decodes one UTF-8 character of a well-formed piece; returns its length, or 0 if the bytes are not one.
size_t decodeUtf8(std::string_view s, char32_t& cp)
{
    const auto b0 = static_cast<unsigned char>(s[0]);
    size_t length;
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    } else if ((b0 & 0xE0) == 0xC0) {
        length = 2;
        cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
        length = 3;
        cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
        length = 4;
        cp = b0 & 0x07;
    } else {
        return 0;
    }
    if (s.size() < length)
        return 0;
    for (size_t i = 1; i < length; ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if ((b & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (b & 0x3F);
    }
    return length;
}

uint64_t pairKey(int32_t left, int32_t right) { return (uint64_t(uint32_t(left)) << 32) | uint32_t(right); }

} // namespace

// A compiled pattern. pcre2_code is read-only during matching, so one compiled pattern serves every thread; each
// match call brings its own match data.
struct BytePairEncoding::Regex {
    pcre2_code* code = nullptr;
    ~Regex() { pcre2_code_free(code); }
};

BytePairEncoding::BytePairEncoding(const Vocabulary& vocab)
    : m_pre(bpePreTokenizer(vocab.pre))
{
    for (std::string_view pattern : m_pre.patterns) {
        int error = 0;
        PCRE2_SIZE errorOffset = 0;
        auto regex = std::make_unique<Regex>();
        regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
            &error, &errorOffset, nullptr);
        if (!regex->code) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(error, message, sizeof message);
            throw std::runtime_error("tokenizer: pre-tokenizer '" + std::string(m_pre.name)
                + "' pattern does not compile at " + std::to_string(errorOffset) + ": "
                + reinterpret_cast<const char*>(message));
        }
        // JIT is an optimisation only: without it (e.g. a PCRE2 built without JIT) pcre2_match interprets.
        pcre2_jit_compile(regex->code, PCRE2_JIT_COMPLETE);
        m_regexes.push_back(std::move(regex));
    }

    const size_t n = vocab.tokens.size();
    m_pieceToId.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        const TokenType type = i < vocab.types.size() ? vocab.types[i] : TokenType::Normal;
        if (type != TokenType::Control)
            m_pieceToId.emplace(vocab.tokens[i], int32_t(i)); // a duplicate piece keeps its first (lowest) id
    }
    const ByteAlphabet& alphabet = byteAlphabet();
    for (int b = 0; b < 256; ++b) {
        const auto it = m_pieceToId.find(alphabet.piece[size_t(b)]);
        m_byteTokens[b] = it == m_pieceToId.end() ? -1 : it->second;
    }
    m_unkId = vocab.unkId;

    m_merges.reserve(vocab.merges.size());
    for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
        const std::string& merge = vocab.merges[rank];
        const size_t space = merge.find(' ', 1); // from 1, as llama.cpp: a piece never starts with a space
        if (space == std::string::npos)
            continue;
        const auto left = m_pieceToId.find(merge.substr(0, space));
        const auto right = m_pieceToId.find(merge.substr(space + 1));
        const auto result = m_pieceToId.find(merge.substr(0, space) + merge.substr(space + 1));
        if (left == m_pieceToId.end() || right == m_pieceToId.end() || result == m_pieceToId.end())
            continue;
        m_merges.emplace(pairKey(left->second, right->second), Merge { int32_t(rank), result->second });
    }
}

BytePairEncoding::~BytePairEncoding() = default;

std::string BytePairEncoding::bytesToPiece(std::string_view bytes)
{
    const ByteAlphabet& alphabet = byteAlphabet();
    std::string piece;
    piece.reserve(bytes.size() * 2);
    for (char c : bytes)
        piece += alphabet.piece[static_cast<unsigned char>(c)];
    return piece;
}

std::string BytePairEncoding::pieceBytes(std::string_view piece) const
{
    const ByteAlphabet& alphabet = byteAlphabet();
    std::string bytes;
    bytes.reserve(piece.size());
    for (size_t pos = 0; pos < piece.size();) {
        char32_t cp = 0;
        const size_t length = decodeUtf8(piece.substr(pos), cp);
        if (length == 0) {
            bytes += piece[pos++]; // not UTF-8 at all: keep the byte
            continue;
        }
        if (cp < alphabet.byteOf.size() && alphabet.byteOf[cp] >= 0)
            bytes += char(alphabet.byteOf[cp]);
        else
            bytes.append(piece.substr(pos, length));
        pos += length;
    }
    return bytes;
}

std::vector<std::string_view> BytePairEncoding::preTokenize(std::string_view text) const
{
    std::vector<std::string_view> words;
    // PCRE2 in UTF mode refuses invalid UTF-8, and the pieces could not carry it anyway: cut the text into valid
    // runs, and give each invalid byte a word of its own (it still maps through the byte alphabet).
    for (size_t pos = 0; pos < text.size();) {
        const size_t valid = validUtf8Prefix(text.substr(pos));
        if (valid == 0) {
            words.push_back(text.substr(pos, 1));
            ++pos;
            continue;
        }
        splitRun(text.substr(pos, valid), words);
        pos += valid;
    }
    return words;
}

// Applies the patterns in turn to valid UTF-8; text between matches stays a word, so nothing is ever dropped.
void BytePairEncoding::splitRun(std::string_view run, std::vector<std::string_view>& words) const
{
    std::vector<std::string_view> pieces { run };
    std::vector<std::string_view> next;
    for (const auto& regex : m_regexes) {
        std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
            pcre2_match_data_create_from_pattern(regex->code, nullptr), &pcre2_match_data_free);
        if (!match)
            throw std::bad_alloc();
        next.clear();
        for (std::string_view piece : pieces) {
            const auto subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
            size_t offset = 0;
            while (offset < piece.size()) {
                // The run was validated once above; checking again on every call would make the loop quadratic.
                // NOTEMPTY: an empty match would split nothing and never advance.
                const uint32_t options = PCRE2_NO_UTF_CHECK | PCRE2_NOTEMPTY;
                int rc = pcre2_match(regex->code, subject, piece.size(), offset, options, match.get(), nullptr);
                if (rc == PCRE2_ERROR_JIT_STACKLIMIT) // JIT's small default stack; the interpreter uses the heap
                    rc = pcre2_match(
                        regex->code, subject, piece.size(), offset, options | PCRE2_NO_JIT, match.get(), nullptr);
                if (rc < 0)
                    break; // no further match (or a resource limit): the rest stays one word
                const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
                const size_t begin = ovector[0];
                const size_t end = ovector[1];
                if (begin > offset)
                    next.push_back(piece.substr(offset, begin - offset));
                next.push_back(piece.substr(begin, end - begin));
                offset = end;
            }
            if (offset < piece.size())
                next.push_back(piece.substr(offset));
        }
        pieces.swap(next);
    }
    words.insert(words.end(), pieces.begin(), pieces.end());
}

int32_t BytePairEncoding::byteId(unsigned char byte) const
{
    const int32_t id = m_byteTokens[byte];
    return id >= 0 ? id : m_unkId;
}

void BytePairEncoding::encode(std::string_view text, std::vector<int32_t>& out) const
{
    for (std::string_view word : preTokenize(text))
        encodeWord(word, out);
}

// BPE on one word: start from one symbol per byte, then repeatedly apply the lowest-ranked merge among adjacent
// pairs (ties: the leftmost), as HF's BPE::merge_word and llama.cpp do. Queue entries go stale when a neighbour
// merges; they are recognised by the symbol ids no longer matching and skipped.
void BytePairEncoding::encodeWord(std::string_view word, std::vector<int32_t>& out) const
{
    if (word.empty())
        return;
    if (word.size() == 1) {
        if (const int32_t id = byteId(static_cast<unsigned char>(word[0])); id >= 0)
            out.push_back(id);
        return;
    }
    if (m_pre.ignoreMerges) {
        // Llama-3's tokenizer.json sets ignore_merges: a word that is a piece is taken whole, even where the merges
        // would have cut it differently.
        const auto it = m_pieceToId.find(bytesToPiece(word));
        if (it != m_pieceToId.end()) {
            out.push_back(it->second);
            return;
        }
    }

    struct Symbol {
        int32_t id; // token id, -1 for a byte the vocabulary lacks (it never merges)
        int prev;
        int next;
        bool alive;
    };
    std::vector<Symbol> symbols(word.size());
    for (size_t i = 0; i < word.size(); ++i)
        symbols[i] = { m_byteTokens[static_cast<unsigned char>(word[i])], int(i) - 1,
            i + 1 < word.size() ? int(i) + 1 : -1, true };

    struct Candidate {
        int32_t rank;
        int left;
        int right;
        int32_t leftId;
        int32_t rightId;
        int32_t result;
    };
    auto later = [](const Candidate& a, const Candidate& b) {
        return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    };
    std::priority_queue<Candidate, std::vector<Candidate>, decltype(later)> queue(later);
    auto consider = [&](int left, int right) {
        if (left < 0 || right < 0)
            return;
        const int32_t leftId = symbols[size_t(left)].id;
        const int32_t rightId = symbols[size_t(right)].id;
        if (leftId < 0 || rightId < 0)
            return;
        const auto it = m_merges.find(pairKey(leftId, rightId));
        if (it != m_merges.end())
            queue.push({ it->second.rank, left, right, leftId, rightId, it->second.result });
    };
    for (size_t i = 1; i < symbols.size(); ++i)
        consider(int(i) - 1, int(i));

    while (!queue.empty()) {
        const Candidate c = queue.top();
        queue.pop();
        Symbol& left = symbols[size_t(c.left)];
        Symbol& right = symbols[size_t(c.right)];
        if (!left.alive || !right.alive || left.next != c.right || left.id != c.leftId || right.id != c.rightId)
            continue; // stale
        left.id = c.result;
        left.next = right.next;
        right.alive = false;
        if (right.next >= 0)
            symbols[size_t(right.next)].prev = c.left;
        consider(left.prev, c.left);
        consider(c.left, left.next);
    }

    for (int i = 0; i >= 0; i = symbols[size_t(i)].next) {
        const Symbol& s = symbols[size_t(i)];
        if (s.id >= 0)
            out.push_back(s.id);
        else if (m_unkId >= 0)
            out.push_back(m_unkId); // the vocabulary has no piece for this byte (never so in real files)
    }
}

} // namespace engine
