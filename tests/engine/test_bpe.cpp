// Tests for the byte-level BPE (gpt2) tokenizer: byte alphabet, pre-tokenizer splits, merge order, special tokens,
// round trips on arbitrary bytes, and vocab-only GGUF files.
#include "engine/format/gguffile.h"
#include "engine/format/ggufwriter.h"
#include "engine/text/bpe.h"
#include "engine/text/pretokenizer.h"
#include "engine/text/tokenizer.h"
#include "engine/text/utf8.h"
#include "engine/text/vocabulary.h"
#include "testsupport.h"

#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <thread>
#include <unordered_set>

using namespace engine;
using namespace testsupport;

namespace {

// A small byte-level vocabulary laid out so ids can be worked out by hand:
//   ids 0..255: the byte alphabet in byte order (id == byte value: 'a' is 97, ' ' is 32, '\n' is 10);
//   ids 256..: one token per merge below, in rank order (merge k makes token 256 + k);
//   then "xyz" (a piece no merge makes), then the special tokens.
// Merges are written as raw bytes and spelled in the alphabet here, as a converter would.
const std::pair<const char*, const char*> kMerges[] = {
    { " ", "t" }, // 0 -> 256 " t"
    { " t", "h" }, // 1 -> 257 " th"
    { "h", "e" }, // 2 -> 258 "he"
    { " th", "e" }, // 3 -> 259 " the"
    { "e", "r" }, // 4 -> 260 "er"
    { "l", "l" }, // 5 -> 261 "ll"
    { "H", "e" }, // 6 -> 262 "He"
    { "He", "ll" }, // 7 -> 263 "Hell"
    { "Hell", "o" }, // 8 -> 264 "Hello"
    { " ", "w" }, // 9 -> 265 " w"
    { "o", "r" }, // 10 -> 266 "or"
    { " w", "or" }, // 11 -> 267 " wor"
    { "l", "d" }, // 12 -> 268 "ld"
    { " wor", "ld" }, // 13 -> 269 " world"
    { "1", "2" }, // 14 -> 270 "12"
    { "12", "3" }, // 15 -> 271 "123"
    { " ", "1" }, // 16 -> 272 " 1"
    { " 1", "2" }, // 17 -> 273 " 12"
    { " 12", "3" }, // 18 -> 274 " 123"
    { " ", " " }, // 19 -> 275 "  "
    { "\n", "\n" }, // 20 -> 276 "\n\n"
    { "'", "t" }, // 21 -> 277 "'t"
    { "d", "o" }, // 22 -> 278 "do"
    { "n", "'t" }, // 23 -> 279 "n't"
    { "y", "z" }, // 24 -> 280 "yz"
    { "x", "y" }, // 25 -> 281 "xy" (ranked after "yz": "xyz" merges y+z first)
    { "\xC3", "\xA9" }, // 26 -> 282 "é"
    { "\xE4", "\xB8" }, // 27 -> 283
    { "\xE4\xB8", "\xAD" }, // 28 -> 284 "中"
};
constexpr int32_t kXyz = 285;
constexpr int32_t kEndOfText = 286;
constexpr int32_t kImStart = 287;
constexpr int32_t kImEnd = 288;
constexpr int32_t kBeginOfText = 289;
constexpr int32_t kThink = 290; // user-defined
constexpr int32_t kEnd = 291;
constexpr int32_t kEndDone = 292; // "<|end|>done": longer special starting like another

Vocabulary makeBpeVocab(const std::string& pre = "gpt2")
{
    Vocabulary v;
    v.model = "gpt2";
    v.pre = pre;
    auto add = [&](const std::string& piece, TokenType type) {
        v.tokens.push_back(piece);
        v.types.push_back(type);
    };
    for (int b = 0; b < 256; ++b)
        add(BytePairEncoding::bytesToPiece(std::string(1, char(b))), TokenType::Normal);
    for (const auto& [left, right] : kMerges) {
        const std::string l = BytePairEncoding::bytesToPiece(left);
        const std::string r = BytePairEncoding::bytesToPiece(right);
        v.merges.push_back(l + " " + r);
        add(l + r, TokenType::Normal);
    }
    add("xyz", TokenType::Normal);
    add("<|endoftext|>", TokenType::Control);
    add("<|im_start|>", TokenType::Control);
    add("<|im_end|>", TokenType::Control);
    add("<|begin_of_text|>", TokenType::Control);
    add("<think>", TokenType::UserDefined);
    add("<|end|>", TokenType::Control);
    add("<|end|>done", TokenType::Control);
    v.scores.assign(v.tokens.size(), 0.0f);
    v.bosId = kBeginOfText;
    v.eosId = kEndOfText;
    v.addBos = false;
    v.addSpacePrefix = false;
    return v;
}

QList<QByteArray> words(const BytePairEncoding& bpe, const QByteArray& text)
{
    QList<QByteArray> out;
    for (std::string_view w : bpe.preTokenize(view(text)))
        out << bytes(w);
    return out;
}

// Random valid UTF-8 mixing what pre-tokenizers treat differently: letters that merge, digits, apostrophes,
// punctuation, spaces, tabs, newlines, Latin-1, CJK and emoji.
std::string randomText(std::mt19937_64& rng, int maxChars)
{
    static const char32_t pool[] = { 'H', 'e', 'l', 'o', ' ', ' ', ' ', 'w', 'r', 'd', 't', 'h', '1', '2', '3', '\'',
        's', 'M', '\n', '\r', '\t', '!', '?', '.', 'x', 'y', 'z', 0xE9, 0xEF, 0xC7, 0x4E2D, 0x6587, 0x3002, 0x1F600,
        0x1F44D, 0x1F3FD, 0xA0, 0x2003, 0x0663 /* Arabic-Indic digit */, 0x301 /* combining acute */ };
    std::string s;
    const int length = int(rng() % uint64_t(maxChars + 1));
    for (int i = 0; i < length; ++i) {
        char32_t cp;
        switch (rng() % 4) {
        case 0:
        case 1:
            cp = pool[rng() % std::size(pool)];
            break;
        case 2:
            cp = char32_t(0x20 + rng() % 0x5F);
            break;
        default:
            cp = char32_t(0x80 + rng() % (0x110000 - 0x80));
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD;
        }
        appendUtf8(s, cp);
    }
    return s;
}

const char* const kAllPreNames[] = { "gpt2", "default", "llama-bpe", "dbrx", "qwen2", "qwen35", "smollm", "falcon",
    "deepseek-coder", "deepseek-v3", "gpt-4o", "tekken", "bloom", "viking", "seed-coder", "bailingmoe" };

} // namespace

class TestBpe : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void byteAlphabetIsGpt2s()
    {
        QCOMPARE(bytes(BytePairEncoding::bytesToPiece(" ")), QByteArray("\xC4\xA0")); // U+0120 Ġ
        QCOMPARE(bytes(BytePairEncoding::bytesToPiece("\n")), QByteArray("\xC4\x8A")); // U+010A Ċ
        QCOMPARE(bytes(BytePairEncoding::bytesToPiece("\t")), QByteArray("\xC4\x89")); // U+0109 ĉ
        QCOMPARE(bytes(BytePairEncoding::bytesToPiece(std::string(1, '\0'))), QByteArray("\xC4\x80")); // U+0100
        QCOMPARE(bytes(BytePairEncoding::bytesToPiece("\x7F")), QByteArray("\xC4\xA1")); // DEL -> U+0121
        QCOMPARE(bytes(BytePairEncoding::bytesToPiece("\xAD")), QByteArray("\xC5\x83")); // soft hyphen -> U+0143
        QCOMPARE(bytes(BytePairEncoding::bytesToPiece("a~!")), QByteArray("a~!")); // printable ASCII
        QCOMPARE(bytes(BytePairEncoding::bytesToPiece("\xC3\xA9")), QByteArray("\xC3\x83\xC2\xA9")); // é -> "Ã©"
        // All 256 bytes map to distinct characters and back.
        const BytePairEncoding bpe(makeBpeVocab());
        std::set<std::string> seen;
        for (int b = 0; b < 256; ++b) {
            const std::string piece = BytePairEncoding::bytesToPiece(std::string(1, char(b)));
            QVERIFY(seen.insert(piece).second);
            QCOMPARE(bpe.pieceBytes(piece), std::string(1, char(b)));
        }
    }

    void preTokenizerSplitsLikeItsRegex_data()
    {
        QTest::addColumn<QString>("pre");
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QList<QByteArray>>("expected");
        using L = QList<QByteArray>;
        // GPT-2: " ?\p{L}+" keeps one leading space; "\s+(?!\S)" leaves the last space of a run to the next word.
        QTest::newRow("gpt2 words and spaces")
            << "gpt2" << QByteArray("Hello world  123") << L { "Hello", " world", " ", " 123" };
        QTest::newRow("gpt2 leading spaces") << "gpt2" << QByteArray("  hi") << L { " ", " hi" };
        QTest::newRow("gpt2 trailing spaces") << "gpt2" << QByteArray("hi  ") << L { "hi", "  " };
        QTest::newRow("gpt2 newlines split") << "gpt2" << QByteArray("a\n\nb") << L { "a", "\n", "\n", "b" };
        QTest::newRow("gpt2 digits grouped") << "gpt2" << QByteArray("x 1234567") << L { "x", " 1234567" };
        QTest::newRow("gpt2 punctuation") << "gpt2" << QByteArray("Hi!!! ok?") << L { "Hi", "!!!", " ok", "?" };
        QTest::newRow("gpt2 bracket is its own word") << "gpt2" << QByteArray("(hello)") << L { "(", "hello", ")" };
        QTest::newRow("gpt2 contractions") << "gpt2" << QByteArray("don't") << L { "don", "'t" };
        QTest::newRow("gpt2 contractions are case-sensitive") << "gpt2" << QByteArray("I'M") << L { "I", "'", "M" };
        QTest::newRow("gpt2 emoji") << "gpt2" << QByteArray("a \xF0\x9F\x98\x80\xF0\x9F\x98\x80")
                                    << L { "a", " \xF0\x9F\x98\x80\xF0\x9F\x98\x80" };
        QTest::newRow("gpt2 CJK letters")
            << "gpt2" << QByteArray("\xE4\xB8\xAD\xE6\x96\x87 test") << L { "\xE4\xB8\xAD\xE6\x96\x87", " test" };
        QTest::newRow("gpt2 accented Latin")
            << "gpt2" << QByteArray("caf\xC3\xA9 na\xC3\xAFve") << L { "caf\xC3\xA9", " na\xC3\xAFve" };
        QTest::newRow("gpt2 tab before word") << "gpt2" << QByteArray("a\tb") << L { "a", "\t", "b" };
        // Llama-3: a word takes one leading non-letter, digits go in threes, newline runs stay together.
        QTest::newRow("llama3 words and spaces")
            << "llama-bpe" << QByteArray("Hello world  123") << L { "Hello", " world", " ", " ", "123" };
        QTest::newRow("llama3 digits in threes") << "llama-bpe" << QByteArray("1234567") << L { "123", "456", "7" };
        QTest::newRow("llama3 newlines together") << "llama-bpe" << QByteArray("a\n\nb") << L { "a", "\n\n", "b" };
        QTest::newRow("llama3 bracket joins word") << "llama-bpe" << QByteArray("(hello)") << L { "(hello", ")" };
        QTest::newRow("llama3 contractions any case")
            << "llama-bpe" << QByteArray("I'M don't") << L { "I", "'M", " don", "'t" };
        QTest::newRow("llama3 punctuation takes newlines")
            << "llama-bpe" << QByteArray("end.\n\nNext") << L { "end", ".\n\n", "Next" };
        QTest::newRow("llama3 name llama3") << "llama3" << QByteArray("1234") << L { "123", "4" };
        // Qwen2: as Llama-3 but every digit alone.
        QTest::newRow("qwen2 single digits")
            << "qwen2" << QByteArray("1234567") << L { "1", "2", "3", "4", "5", "6", "7" };
        QTest::newRow("qwen2 space before digits") << "qwen2" << QByteArray("x 42") << L { "x", " ", "4", "2" };
        QTest::newRow("qwen2 contractions any case") << "qwen2" << QByteArray("WE'LL") << L { "WE", "'LL" };
        // SmolLM / StarCoder: digits split out first, then GPT-2's split on what is left.
        QTest::newRow("smollm digits then gpt2")
            << "smollm" << QByteArray("abc 123") << L { "abc", " ", "1", "2", "3" };
        // Unknown names fall back to GPT-2.
        QTest::newRow("unknown pre is gpt2") << "no-such-pre" << QByteArray("x 1234567") << L { "x", " 1234567" };
        QTest::newRow("missing pre is gpt2") << "" << QByteArray("I'M") << L { "I", "'", "M" };
        // Invalid UTF-8: valid runs split as usual, each invalid byte a word of its own.
        QTest::newRow("invalid byte is its own word") << "gpt2"
                                                      << QByteArray("ab\xFF"
                                                                    "cd")
                                                      << L { "ab", "\xFF", "cd" };
        QTest::newRow("truncated sequence bytes")
            << "gpt2" << QByteArray("a \xE4\xB8") << L { "a", " ", "\xE4", "\xB8" };
        QTest::newRow("empty text") << "gpt2" << QByteArray() << L {};
    }

    void preTokenizerSplitsLikeItsRegex()
    {
        QFETCH(QString, pre);
        QFETCH(QByteArray, text);
        QFETCH(QList<QByteArray>, expected);
        const BytePairEncoding bpe(makeBpeVocab(pre.toStdString()));
        QCOMPARE(words(bpe, text), expected);
    }

    void preTokenizerNamesMapToKnownSplits()
    {
        QCOMPARE(bpePreTokenizer("llama-bpe").name, std::string_view("llama3"));
        QCOMPARE(bpePreTokenizer("smaug-bpe").name, std::string_view("dbrx"));
        QCOMPARE(bpePreTokenizer("deepseek-r1-qwen").name, std::string_view("qwen2"));
        QCOMPARE(bpePreTokenizer("smollm").name, std::string_view("starcoder"));
        QCOMPARE(bpePreTokenizer("gpt-2").name, std::string_view("gpt2"));
        QCOMPARE(bpePreTokenizer("whatever").name, std::string_view("gpt2"));
        QVERIFY(findBpePreTokenizer("whatever") == nullptr);
        QVERIFY(bpePreTokenizer("llama-bpe").ignoreMerges && bpePreTokenizer("llama-bpe").addsBos);
        QVERIFY(!bpePreTokenizer("qwen2").addsBos);
        // Every pattern of every known split compiles (the constructor throws otherwise).
        for (const char* name : kAllPreNames) {
            const BytePairEncoding bpe(makeBpeVocab(name));
            QVERIFY2(findBpePreTokenizer(name) != nullptr, name);
        }
    }

    void encodeAppliesLowestRankFirst_data()
    {
        QTest::addColumn<QString>("pre");
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<std::vector<int32_t>>("expected");
        using V = std::vector<int32_t>;
        QTest::newRow("merges build on merges") << "gpt2" << QByteArray("Hello") << V { 264 };
        // " w"(9) < "or"(10) < " wor"(11) < "ld"(12) < " world"(13).
        QTest::newRow("word with leading space") << "gpt2" << QByteArray("Hello world") << V { 264, 269 };
        // " t"(0) before "he"(2): merging "he" first would strand " t" (there is no " t"+"he" merge).
        QTest::newRow("lowest rank, not leftmost or longest") << "gpt2" << QByteArray(" the") << V { 259 };
        QTest::newRow("no leading space: he") << "gpt2" << QByteArray("the") << V { 't', 258 };
        // "yz"(24) outranks "xy"(25) although "xy" is further left.
        QTest::newRow("rank beats position") << "gpt2" << QByteArray("xyz") << V { 'x', 280 };
        // Llama-3 ignores merges for a word that is itself a piece.
        QTest::newRow("llama3 whole-word piece") << "llama-bpe" << QByteArray("xyz") << V { kXyz };
        QTest::newRow("gpt2 digits") << "gpt2" << QByteArray("12345") << V { 271, '4', '5' };
        QTest::newRow("llama3 digits") << "llama-bpe" << QByteArray("12345") << V { 271, '4', '5' };
        QTest::newRow("qwen2 digits") << "qwen2" << QByteArray("12345") << V { '1', '2', '3', '4', '5' };
        // "12"(14) goes before " 1"(16), and nothing joins " " to "12": " 123"(18) is never reached.
        QTest::newRow("gpt2 space digits") << "gpt2" << QByteArray("a 123") << V { 'a', ' ', 271 };
        QTest::newRow("two spaces") << "gpt2" << QByteArray("  ") << V { 275 };
        QTest::newRow("gpt2 newlines apart") << "gpt2" << QByteArray("a\n\nb") << V { 'a', '\n', '\n', 'b' };
        QTest::newRow("llama3 newlines merged") << "llama-bpe" << QByteArray("a\n\nb") << V { 'a', 276, 'b' };
        QTest::newRow("trailing newlines") << "gpt2" << QByteArray("\n\n") << V { 276 };
        QTest::newRow("gpt2 contraction") << "gpt2" << QByteArray("don't") << V { 278, 'n', 277 };
        QTest::newRow("accented") << "gpt2" << QByteArray("caf\xC3\xA9") << V { 'c', 'a', 'f', 282 };
        QTest::newRow("CJK") << "gpt2" << QByteArray("\xE4\xB8\xAD") << V { 284 };
        QTest::newRow("emoji as bytes") << "gpt2" << QByteArray("\xF0\x9F\x98\x80") << V { 0xF0, 0x9F, 0x98, 0x80 };
        QTest::newRow("invalid byte") << "gpt2" << QByteArray("x\xFF") << V { 'x', 0xFF };
        QTest::newRow("NUL byte") << "gpt2" << QByteArray("a\0b", 3) << V { 'a', 0, 'b' };
        QTest::newRow("empty") << "gpt2" << QByteArray() << V {};
    }

    void encodeAppliesLowestRankFirst()
    {
        QFETCH(QString, pre);
        QFETCH(QByteArray, text);
        QFETCH(std::vector<int32_t>, expected);
        const Tokenizer tok(makeBpeVocab(pre.toStdString()));
        QCOMPARE(tok.encode(view(text), false), expected);
    }

    void specialTokensAreMatchedWhole_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<std::vector<int32_t>>("expected");
        using V = std::vector<int32_t>;
        // "user": u s e r with "er"; "\n" alone; "Hi" has no merge.
        QTest::newRow("chat markup") << QByteArray("<|im_start|>user\nHi<|im_end|>")
                                     << V { kImStart, 'u', 's', 260, '\n', 'H', 'i', kImEnd };
        QTest::newRow("adjacent to text") << QByteArray("a<|endoftext|>b") << V { 'a', kEndOfText, 'b' };
        QTest::newRow("back to back") << QByteArray("<|im_end|><|im_start|>") << V { kImEnd, kImStart };
        QTest::newRow("space before is text") << QByteArray("Hello <|im_end|>") << V { 264, ' ', kImEnd };
        QTest::newRow("partial special is text") << QByteArray("<|im_st") << V { '<', '|', 'i', 'm', '_', 's', 't' };
        QTest::newRow("longest special wins") << QByteArray("<|end|>done") << V { kEndDone };
        QTest::newRow("shorter special when the longer fails") << QByteArray("<|end|>don") << V { kEnd, 278, 'n' };
        QTest::newRow("user-defined token") << QByteArray("x<think>y") << V { 'x', kThink, 'y' };
    }

    void specialTokensAreMatchedWhole()
    {
        QFETCH(QByteArray, text);
        QFETCH(std::vector<int32_t>, expected);
        const Tokenizer tok(makeBpeVocab());
        const auto ids = tok.encode(view(text), false);
        QCOMPARE(ids, expected);
        QCOMPARE(tok.encode(view(text), false, true), expected); // the gpt2 default parses special tokens
    }

    void controlTokensAreTextWhenNotParsed()
    {
        const Tokenizer tok(makeBpeVocab());
        const auto ids = tok.encode("a<|endoftext|>", false, false);
        QVERIFY(std::find(ids.begin(), ids.end(), kEndOfText) == ids.end());
        QCOMPARE(rawBytes(tok, ids), std::string("a<|endoftext|>"));
        // User-defined tokens are matched either way, as llama.cpp does.
        QCOMPARE(tok.encode("<think>", false, false), std::vector<int32_t> { kThink });
    }

    void bosFollowsTheRequest()
    {
        const Tokenizer tok(makeBpeVocab());
        QCOMPARE(tok.encode("Hello", true), (std::vector<int32_t> { kBeginOfText, 264 }));
        QCOMPARE(tok.encode("", true), std::vector<int32_t> { kBeginOfText });
        QCOMPARE(tok.encode("Hello", false), std::vector<int32_t> { 264 });
        QVERIFY(!tok.addsSpacePrefix());
        QVERIFY(tok.isByteLevel());
    }

    void tokenBytesDecodesTheAlphabet()
    {
        const Tokenizer tok(makeBpeVocab());
        QCOMPARE(tok.tokenBytes(269), std::string(" world"));
        QCOMPARE(tok.tokenBytes(275), std::string("  "));
        QCOMPARE(tok.tokenBytes(276), std::string("\n\n"));
        QCOMPARE(tok.tokenBytes(282), std::string("\xC3\xA9"));
        QCOMPARE(tok.tokenBytes(0xE4), std::string("\xE4")); // one byte of a character: incomplete UTF-8
        QCOMPARE(tok.tokenBytes(0), std::string(1, '\0'));
        // Control tokens print nothing; user-defined ones their text.
        QCOMPARE(tok.tokenBytes(kImStart), std::string());
        QCOMPARE(tok.tokenBytes(kEndOfText), std::string());
        QCOMPARE(tok.tokenBytes(kThink), std::string("<think>"));
        QCOMPARE(tok.piece(kImStart), std::string("<|im_start|>"));
    }

    void endOfGenerationKnowsChatEnds()
    {
        const Tokenizer tok(makeBpeVocab());
        QVERIFY(tok.isEndOfGeneration(kEndOfText)); // EOS
        QVERIFY(tok.isEndOfGeneration(kImEnd)); // ChatML end of turn
        QVERIFY(tok.isEndOfGeneration(kEnd)); // Phi-3 end of turn
        QVERIFY(!tok.isEndOfGeneration(kImStart));
        QVERIFY(!tok.isEndOfGeneration(kBeginOfText));
        QVERIFY(!tok.isEndOfGeneration(264));
    }

    void roundTripRandomValidUtf8()
    {
        for (const char* pre : kAllPreNames) {
            const Tokenizer tok(makeBpeVocab(pre));
            std::mt19937_64 rng(20240607);
            for (int round = 0; round < 200; ++round) {
                const std::string s = randomText(rng, 40);
                QVERIFY(isValidUtf8(s));
                const auto ids = tok.encode(s, false);
                if (rawBytes(tok, ids) != s || decodeAll(tok, ids, true) != s) {
                    QFAIL(qPrintable(QStringLiteral("pre %1: round trip failed for \"%2\"")
                                         .arg(QLatin1String(pre), QString::fromStdString(s))));
                }
            }
        }
    }

    void roundTripInvalidUtf8Bytes()
    {
        const Tokenizer tok(makeBpeVocab("llama-bpe"));
        std::mt19937_64 rng(99);
        for (int round = 0; round < 500; ++round) {
            std::string s;
            const int length = int(rng() % 32);
            for (int i = 0; i < length; ++i)
                s += char(rng() % 4 == 0 ? ' ' : char(rng() % 256));
            const auto ids = tok.encode(s, false);
            QCOMPARE(bytes(rawBytes(tok, ids)), bytes(s));
            QVERIFY(isValidUtf8(decodeAll(tok, ids, true))); // the stream shows invalid parts as U+FFFD
        }
    }

    void encodeIsSafeFromSeveralThreads()
    {
        const Tokenizer tok(makeBpeVocab("qwen2"));
        std::mt19937_64 rng(5);
        std::vector<std::string> texts;
        for (int i = 0; i < 64; ++i)
            texts.push_back(randomText(rng, 200));
        std::vector<std::vector<int32_t>> expected;
        for (const std::string& t : texts)
            expected.push_back(tok.encode(t, false));
        std::atomic<int> mismatches = 0;
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&] {
                for (int repeat = 0; repeat < 5; ++repeat) {
                    for (size_t i = 0; i < texts.size(); ++i) {
                        if (tok.encode(texts[i], false) != expected[i])
                            ++mismatches;
                    }
                }
            });
        }
        for (std::thread& thread : threads)
            thread.join();
        QCOMPARE(mismatches.load(), 0);
    }

    void largeVocabularyEncodesQuickly()
    {
        // ~150k pieces built by random merges of existing pieces, like a real Qwen-sized vocabulary.
        Vocabulary v = makeBpeVocab("qwen2");
        std::mt19937_64 rng(11);
        std::unordered_set<std::string> have(v.tokens.begin(), v.tokens.end());
        std::vector<std::string> mergeable;
        for (const char* c : { "a", "b", "c", "d", "e", "n", "o", "r", "s", "t", " " })
            mergeable.push_back(BytePairEncoding::bytesToPiece(c));
        while (v.tokens.size() < 150000) {
            const std::string& l = mergeable[rng() % mergeable.size()];
            const std::string& r = mergeable[rng() % std::min<size_t>(mergeable.size(), 2000)];
            if (l.size() + r.size() > 24 || !have.insert(l + r).second)
                continue;
            v.merges.push_back(l + " " + r);
            v.tokens.push_back(l + r);
            v.types.push_back(TokenType::Normal);
            v.scores.push_back(0);
            mergeable.push_back(l + r);
        }
        const auto start = std::chrono::steady_clock::now();
        const Tokenizer tok(v);
        std::string text;
        while (text.size() < 1'000'000)
            text += "a rose stands on the east bank; notes to none; dense stars  \n";
        const auto ids = tok.encode(text, false);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        QCOMPARE(rawBytes(tok, ids), text);
        QVERIFY(ids.size() < text.size()); // the merges did apply
        // Generous for a shared machine: the work is ~0.3 s here; quadratic behaviour would take minutes.
        QVERIFY2(seconds < 20.0, qPrintable(QString::number(seconds)));
        qInfo("150k vocabulary: built and encoded 1 MB in %.2f s (%zu tokens)", seconds, ids.size());
    }

    void vocabOnlyGgufTokenizes()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = tempPath(dir, QStringLiteral("bpe-vocab.gguf"));
        Vocabulary original = makeBpeVocab("llama-bpe");
        original.addBos = true;
        original.chatTemplate = "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}";
        writeVocabGguf(original, path);

        const GgufFile file = GgufFile::open(path);
        QVERIFY(file.tensors().empty());
        const Vocabulary loaded = Vocabulary::fromGguf(file);
        QCOMPARE(loaded.model, std::string("gpt2"));
        QCOMPARE(loaded.pre, std::string("llama-bpe"));
        QCOMPARE(loaded.merges, original.merges);
        QCOMPARE(loaded.tokens, original.tokens);
        QVERIFY(loaded.types == original.types);
        QCOMPARE(loaded.chatTemplate, original.chatTemplate);
        QCOMPARE(loaded.bosId, kBeginOfText);
        QCOMPARE(loaded.eosId, kEndOfText);

        const Tokenizer tok(loaded);
        // Llama-3 split and ignore_merges: "xyz" is a word and a piece, so it is taken whole.
        QCOMPARE(tok.encode("<|im_start|>Hello world\nxyz", loaded.addBos),
            (std::vector<int32_t> { kBeginOfText, kImStart, 264, 269, '\n', kXyz }));
    }

    void gpt2DefaultsFollowThePreTokenizer_data()
    {
        QTest::addColumn<QString>("pre");
        QTest::addColumn<bool>("addBos");
        QTest::newRow("Llama-3 files add BOS") << "llama-bpe" << true;
        QTest::newRow("Qwen2 files do not") << "qwen2" << false;
        QTest::newRow("GPT-2 files do not") << "gpt-2" << false;
        QTest::newRow("no pre key") << "" << false;
    }

    void gpt2DefaultsFollowThePreTokenizer()
    {
        QFETCH(QString, pre);
        QFETCH(bool, addBos);
        GgufWriter writer;
        writer.setString("tokenizer.ggml.model", "gpt2");
        if (!pre.isEmpty())
            writer.setString("tokenizer.ggml.pre", pre.toStdString());
        const Vocabulary source = makeBpeVocab();
        writer.setStringArray("tokenizer.ggml.tokens", source.tokens);
        writer.setStringArray("tokenizer.ggml.merges", source.merges);
        writer.setUInt32("tokenizer.ggml.bos_token_id", uint32_t(kBeginOfText));
        const std::vector<uint8_t> data = writer.toBytes();
        const GgufFile file = GgufFile::fromMemory(data, "defaults.gguf");
        const Vocabulary v = Vocabulary::fromGguf(file);
        QCOMPARE(v.addBos, addBos);
        QCOMPARE(v.addSpacePrefix, false);
        QVERIFY(v.chatTemplate.empty());
        // Without token types every piece is Normal: "<|im_start|>" is then plain text.
        const Tokenizer tok(v);
        QCOMPARE(rawBytes(tok, tok.encode("<|im_start|>", false)), std::string("<|im_start|>"));
        QVERIFY(tok.encode("<|im_start|>", false).size() > 1);
    }

    void mergesNamingMissingPiecesAreSkipped()
    {
        Vocabulary v = makeBpeVocab();
        v.merges.insert(v.merges.begin(), "q \xC4\xA0zz"); // right piece not in the vocabulary
        v.merges.insert(v.merges.begin(), "nospace"); // malformed line
        const BytePairEncoding bpe(v);
        QCOMPARE(bpe.mergeCount(), std::size(kMerges));
        // Ranks are positions in the list, so the two bad lines shift them but keep their order.
        const Tokenizer tok(v);
        QCOMPARE(tok.encode(" the", false), std::vector<int32_t> { 259 });
    }
};

QTEST_APPLESS_MAIN(TestBpe)
#include "test_bpe.moc"
