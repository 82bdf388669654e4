// Tests for the llama (SentencePiece BPE) tokenizer, UTF-8 streaming and the GGUF vocabulary loader.
#include "engine/format/gguffile.h"
#include "engine/format/ggufwriter.h"
#include "engine/text/tokenizer.h"
#include "engine/text/utf8.h"
#include "engine/text/vocabulary.h"
#include "testsupport.h"

#include <QTemporaryDir>
#include <QtTest>

#include <random>

using namespace engine;
using namespace testsupport;

namespace {

const std::string kSpace = "\xE2\x96\x81"; // U+2581, SentencePiece's space

// A small hand-made vocabulary, laid out like a SentencePiece BPE model with byte fallback:
// <unk>, <s>, </s>, the 256 byte tokens, then characters (score 0) and merged pieces. Merged pieces are
// scored so that the expected segmentations below can be worked out by hand:
//   "ab" -2, "bc" -1, "cd" -3   -> "abcd" merges "bc" first (highest score), not "ab" (leftmost)
//   "xy" -1, "yz" -1            -> equal scores: the leftmost pair wins
//   "ll" -4, "he" -5, "llo" -6, "hello" -7, "▁hello" -8, "el" -10
Vocabulary makeVocab(bool addSpacePrefix = true)
{
    Vocabulary v;
    v.model = "llama";
    auto add = [&](const std::string& piece, float score, TokenType type) {
        v.tokens.push_back(piece);
        v.scores.push_back(score);
        v.types.push_back(type);
    };
    add("<unk>", 0, TokenType::Unknown);
    add("<s>", 0, TokenType::Control);
    add("</s>", 0, TokenType::Control);
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        add(name, 0, TokenType::Byte);
    }
    for (const char* c : { "a", "b", "c", "d", "x", "y", "z", "h", "e", "l", "o", "\xC3\xA9" /* é */, "<", ">" })
        add(c, 0, TokenType::Normal);
    add(kSpace, 0, TokenType::Normal);
    add("ab", -2, TokenType::Normal);
    add("bc", -1, TokenType::Normal);
    add("cd", -3, TokenType::Normal);
    add("xy", -1, TokenType::Normal);
    add("yz", -1, TokenType::Normal);
    add("ll", -4, TokenType::Normal);
    add("he", -5, TokenType::Normal);
    add("llo", -6, TokenType::Normal);
    add("hello", -7, TokenType::Normal);
    add(kSpace + "hello", -8, TokenType::Normal);
    add("el", -10, TokenType::Normal);
    add("<s", -0.5f, TokenType::Normal); // makes "<s>" in text reachable only as text, never as BOS
    add("<sep>", 0, TokenType::UserDefined);
    v.bosId = 1;
    v.eosId = 2;
    v.unkId = 0;
    v.addSpacePrefix = addSpacePrefix;
    return v;
}

// The pieces of `ids`, joined by '|', with ▁ shown as '_' so expectations read easily.
QString piecesOf(const Tokenizer& tok, const std::vector<int32_t>& ids)
{
    QStringList parts;
    for (int32_t id : ids)
        parts << QString::fromStdString(tok.piece(id)).replace(QChar(0x2581), QLatin1Char('_'));
    return parts.join(QLatin1Char('|'));
}

} // namespace

class TestTokenizer : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void encodeSegmentsByScore_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<bool>("spacePrefix");
        QTest::addColumn<QString>("expected");
        QTest::newRow("highest score wins over leftmost") << QByteArray("abcd") << false << "a|bc|d";
        QTest::newRow("highest score wins, three chars") << QByteArray("abc") << false << "a|bc";
        QTest::newRow("single merge") << QByteArray("ab") << false << "ab";
        QTest::newRow("equal scores: leftmost wins") << QByteArray("xyz") << false << "xy|z";
        QTest::newRow("equal scores twice") << QByteArray("xyzxyz") << false << "xy|z|xy|z";
        // ll(-4) first, then he(-5), then llo(-6), then hello(-7); "el"(-10) never gets its turn.
        QTest::newRow("merges build on merges") << QByteArray("hello") << false << "hello";
        QTest::newRow("dummy prefix joins the word") << QByteArray("hello") << true << "_hello";
        QTest::newRow("spaces become U+2581") << QByteArray("hello hello") << true << "_hello|_hello";
        QTest::newRow("no prefix: space stays its own") << QByteArray("hello hello") << false << "hello|_hello";
        QTest::newRow("leading spaces are kept") << QByteArray("  hello") << true << "_|_|_hello";
        QTest::newRow("trailing space") << QByteArray("hello ") << true << "_hello|_";
        QTest::newRow("multi-byte character piece") << QByteArray("h\xC3\xA9") << false << "h|\xC3\xA9";
        QTest::newRow("emoji falls back to 4 bytes")
            << QByteArray("\xF0\x9F\x98\x80") << false << "<0xF0>|<0x9F>|<0x98>|<0x80>";
        QTest::newRow("missing ASCII falls back to its byte") << QByteArray("hi") << false << "h|<0x69>";
        QTest::newRow("newline and tab are bytes here") << QByteArray("a\n\tb") << false << "a|<0x0A>|<0x09>|b";
        // "<s>" is BOS's text, but control tokens are never produced from text.
        QTest::newRow("control piece in text is plain text") << QByteArray("<s>") << false << "<s|>";
        QTest::newRow("user-defined piece matched whole") << QByteArray("a<sep>b") << false << "a|<sep>|b";
        // The user-defined piece is frozen: "<s" (score -0.5) must not eat its first two characters.
        QTest::newRow("user-defined piece is not merged into") << QByteArray("<sep>") << false << "<sep>";
        QTest::newRow("invalid byte becomes a byte token") << QByteArray("a\xFF"
                                                                         "b")
                                                           << false << "a|<0xFF>|b";
        QTest::newRow("truncated sequence: bytes") << QByteArray("a\xC3") << false << "a|<0xC3>";
        QTest::newRow("empty text gives nothing") << QByteArray("") << true << "";
    }

    void encodeSegmentsByScore()
    {
        QFETCH(QByteArray, text);
        QFETCH(bool, spacePrefix);
        QFETCH(QString, expected);
        const Tokenizer tok(makeVocab(spacePrefix));
        const auto ids = tok.encode(std::string_view(text.constData(), size_t(text.size())), false);
        QCOMPARE(piecesOf(tok, ids), expected);
    }

    void bosIsAddedOnlyWhenAskedAndKnown()
    {
        const Tokenizer tok(makeVocab());
        QCOMPARE(tok.encode("hello", true), (std::vector<int32_t> { 1, tok.encode("hello", false)[0] }));
        QCOMPARE(tok.encode("hello", false).size(), size_t(1));
        QCOMPARE(tok.encode("", true), std::vector<int32_t> { 1 });
        QVERIFY(tok.encode("", false).empty());

        Vocabulary noBos = makeVocab();
        noBos.bosId = -1;
        const Tokenizer tok2(noBos);
        QCOMPARE(piecesOf(tok2, tok2.encode("hello", true)), QStringLiteral("_hello"));
    }

    void tokenBytesDecodesPieces_data()
    {
        QTest::addColumn<QByteArray>("piece");
        QTest::addColumn<QByteArray>("expected");
        QTest::newRow("space marker") << bytes(kSpace + "hello") << QByteArray(" hello");
        QTest::newRow("byte token") << QByteArray("<0x41>") << QByteArray("A");
        QTest::newRow("high byte token") << QByteArray("<0xF0>") << QByteArray("\xF0");
        QTest::newRow("byte token zero") << QByteArray("<0x00>") << QByteArray("\0", 1);
        QTest::newRow("control BOS") << QByteArray("<s>") << QByteArray("");
        QTest::newRow("control EOS") << QByteArray("</s>") << QByteArray("");
        // Decision: <unk> shows as SentencePiece's " ⁇ " so a model emitting it is visible.
        QTest::newRow("unknown") << QByteArray("<unk>") << QByteArray(" \xE2\x81\x87 ");
        QTest::newRow("user-defined") << QByteArray("<sep>") << QByteArray("<sep>");
    }

    void tokenBytesDecodesPieces()
    {
        QFETCH(QByteArray, piece);
        QFETCH(QByteArray, expected);
        const Tokenizer tok(makeVocab());
        int32_t id = -1;
        for (int32_t i = 0; i < tok.size(); ++i) {
            if (tok.piece(i) == piece.toStdString())
                id = i;
        }
        QVERIFY(id >= 0);
        QCOMPARE(bytes(tok.tokenBytes(id)), expected);
    }

    void outOfRangeIdsThrow()
    {
        const Tokenizer tok(makeVocab());
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, tok.tokenBytes(tok.size()));
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, tok.tokenBytes(-1));
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, tok.piece(1 << 30));
    }

    void endOfGenerationIsEos()
    {
        Vocabulary v = makeVocab();
        v.tokens.push_back("<|im_end|>");
        v.scores.push_back(0);
        v.types.push_back(TokenType::Control);
        const Tokenizer tok(v);
        QVERIFY(tok.isEndOfGeneration(2));
        QVERIFY(tok.isEndOfGeneration(tok.size() - 1));
        QVERIFY(!tok.isEndOfGeneration(1));
        QVERIFY(!tok.isEndOfGeneration(tok.encode("a", false)[0]));
    }

    void unsupportedModelKindIsNamed()
    {
        Vocabulary v = makeVocab();
        v.model = "bert";
        try {
            Tokenizer tok(v);
            QFAIL("a bert vocabulary was accepted");
        } catch (const std::runtime_error& e) {
            QCOMPARE(QString::fromUtf8(e.what()),
                QStringLiteral("tokenizer model 'bert' is not supported (supported: llama, gpt2)"));
        }
    }

    void controlTokensParsedOnlyWhenAsked_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<bool>("parseSpecial");
        QTest::addColumn<QString>("expected");
        QTest::newRow("default: control piece is text") << QByteArray("<s>") << false << "_|<s|>";
        QTest::newRow("parsed: control piece is the token") << QByteArray("<s>") << true << "<s>";
        // As llama.cpp: text after a control token gets the dummy prefix again.
        QTest::newRow("parsed: prefix after control") << QByteArray("hello</s>hello") << true << "_hello|</s>|_hello";
        QTest::newRow("parsed: partial control is text") << QByteArray("<s") << true << "_|<s";
        QTest::newRow("parsed: user-defined unchanged") << QByteArray("a<sep>b") << true << "_|a|<sep>|b";
    }

    void controlTokensParsedOnlyWhenAsked()
    {
        QFETCH(QByteArray, text);
        QFETCH(bool, parseSpecial);
        QFETCH(QString, expected);
        const Tokenizer tok(makeVocab());
        const auto ids = tok.encode(std::string_view(text.constData(), size_t(text.size())), false, parseSpecial);
        QCOMPARE(piecesOf(tok, ids), expected);
        if (!parseSpecial)
            QCOMPARE(ids, tok.encode(std::string_view(text.constData(), size_t(text.size())), false));
    }

    void roundTripRestoresText_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::newRow("ASCII") << QByteArray("Hello, world! abcd xyz hello");
        QTest::newRow("accented Latin") << QByteArray("\xC3\x87"
                                                      "a va? Tr\xC3\xA8s bien, na\xC3\xAFve caf\xC3\xA9");
        QTest::newRow("CJK") << QByteArray("\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C");
        QTest::newRow("emoji") << QByteArray("\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD \xF0\x9F\x9A\x80!");
        QTest::newRow("newlines") << QByteArray("line one\nline two\r\n\nend");
        QTest::newRow("tabs") << QByteArray("\tcol1\tcol2\t");
        QTest::newRow("multiple spaces") << QByteArray("a   b    c");
        QTest::newRow("leading spaces") << QByteArray("   hello");
        QTest::newRow("only spaces") << QByteArray("    ");
        QTest::newRow("control-like text") << QByteArray("<s> and </s> and <unk>");
    }

    void roundTripRestoresText()
    {
        QFETCH(QByteArray, text);
        const std::string s = text.toStdString();
        for (bool prefix : { true, false }) {
            const Tokenizer tok(makeVocab(prefix));
            const auto ids = tok.encode(s, true);
            // Raw bytes keep SentencePiece's dummy space; the stripping detokenizer removes it again.
            QCOMPARE(bytes(rawBytes(tok, ids)), bytes((prefix ? " " : "") + s));
            QCOMPARE(bytes(decodeAll(tok, ids, true)), text);
            QCOMPARE(bytes(decodeAll(tok, ids, false)), bytes((prefix ? " " : "") + s));
        }
    }

    void roundTripRandomValidUtf8()
    {
        const Tokenizer tok(makeVocab());
        std::mt19937_64 rng(20240601);
        for (int round = 0; round < 300; ++round) {
            std::string s;
            const int length = int(rng() % 40);
            for (int i = 0; i < length; ++i) {
                char32_t cp;
                switch (rng() % 4) {
                case 0: // the vocabulary's own letters and spaces, so merges happen
                    cp = char32_t("abcdxyzhelo  "[rng() % 13]);
                    break;
                case 1:
                    cp = char32_t(rng() % 0x80);
                    break;
                case 2:
                    cp = char32_t(0x80 + rng() % (0x10000 - 0x80));
                    break;
                default:
                    cp = char32_t(0x10000 + rng() % (0x110000 - 0x10000));
                }
                if (cp >= 0xD800 && cp <= 0xDFFF)
                    cp = 0xFFFD; // surrogates are not characters
                appendUtf8(s, cp);
            }
            QVERIFY(isValidUtf8(s));
            const auto ids = tok.encode(s, false);
            QCOMPARE(bytes(decodeAll(tok, ids, true)), bytes(s));
        }
    }

    void invalidUtf8RoundTripsThroughByteTokens()
    {
        const Tokenizer tok(makeVocab());
        std::mt19937_64 rng(7);
        for (int round = 0; round < 300; ++round) {
            std::string s;
            const int length = int(rng() % 24);
            for (int i = 0; i < length; ++i)
                s += char(rng() % 256);
            const auto ids = tok.encode(s, false);
            QCOMPARE(bytes(rawBytes(tok, ids)), bytes(s.empty() ? s : " " + s));
            // The stream turns the same ids into valid text (invalid parts as U+FFFD).
            QVERIFY(isValidUtf8(decodeAll(tok, ids, true)));
        }
        const auto ids = tok.encode("\xFF\xFE", false);
        QCOMPARE(piecesOf(tok, ids), QStringLiteral("_|<0xFF>|<0xFE>"));
        QCOMPARE(bytes(decodeAll(tok, ids, true)), QByteArray("\xEF\xBF\xBD\xEF\xBF\xBD"));
    }

    void vocabularyWithoutByteTokensUsesUnknown()
    {
        Vocabulary v;
        v.tokens = { "<unk>", "a", kSpace };
        v.types = { TokenType::Unknown, TokenType::Normal, TokenType::Normal };
        v.unkId = 0;
        v.addSpacePrefix = false;
        const Tokenizer tok(v);
        // Like SentencePiece without byte fallback: one <unk> for a run of unknown characters.
        QCOMPARE(tok.encode("a\xC3\xA9\xC3\xA9 a", false), (std::vector<int32_t> { 1, 0, 2, 1 }));
    }

    void byteTokensWithoutTypesAreRecognised()
    {
        // A file without tokenizer.ggml.token_type: "<0xNN>" pieces still act as byte fallback.
        Vocabulary v;
        v.tokens = { "<unk>", "<0x41>", "<0xC3>", "<0xA9>", "b" };
        v.addSpacePrefix = false;
        const Tokenizer tok(v);
        QCOMPARE(tok.encode("\xC3\xA9"
                            "b",
                     false),
            (std::vector<int32_t> { 2, 3, 4 }));
        QCOMPARE(tok.tokenBytes(1), std::string("A"));
    }

    void unusedPieceIsSplitBackIntoItsParts()
    {
        // SentencePiece may merge through an Unused piece but never outputs it: "ab" is split back.
        Vocabulary v;
        v.tokens = { "<unk>", "a", "b", "ab", "c" };
        v.scores = { 0, 0, 0, -1, 0 };
        v.types = { TokenType::Unknown, TokenType::Normal, TokenType::Normal, TokenType::Unused, TokenType::Normal };
        v.addSpacePrefix = false;
        const Tokenizer tok(v);
        QCOMPARE(tok.encode("abc", false), (std::vector<int32_t> { 1, 2, 4 }));
    }

    void detokenizerStripsOneLeadingSpace()
    {
        const Tokenizer tok(makeVocab());
        const auto ids = tok.encode("hello hello", true); // <s> ▁hello ▁hello
        QCOMPARE(bytes(decodeAll(tok, ids, true)), QByteArray("hello hello"));
        QCOMPARE(bytes(decodeAll(tok, ids, false)), QByteArray(" hello hello"));
        // Without the dummy prefix in the vocabulary there is nothing to strip.
        const Tokenizer noPrefix(makeVocab(false));
        QCOMPARE(bytes(decodeAll(noPrefix, noPrefix.encode(" hello", false), true)), QByteArray(" hello"));
    }

    void detokenizerHoldsPartialCharacters()
    {
        const Tokenizer tok(makeVocab(false));
        const auto ids = tok.encode("\xF0\x9F\x98\x80", false);
        QCOMPARE(ids.size(), size_t(4));
        Detokenizer detok(tok);
        QCOMPARE(detok.push(ids[0]), std::string());
        QCOMPARE(detok.push(ids[1]), std::string());
        QCOMPARE(detok.push(ids[2]), std::string());
        QCOMPARE(detok.push(ids[3]), std::string("\xF0\x9F\x98\x80"));
        QCOMPARE(detok.flush(), std::string());
    }

    void utf8StreamHoldsIncompleteSequences()
    {
        Utf8Stream stream;
        const std::string emoji = "\xF0\x9F\x98\x80";
        QCOMPARE(stream.push(emoji.substr(0, 1)), std::string());
        QCOMPARE(stream.push(emoji.substr(1, 1)), std::string());
        QCOMPARE(stream.push(emoji.substr(2, 1)), std::string());
        QCOMPARE(stream.push(emoji.substr(3, 1)), emoji);
        QCOMPARE(stream.push("a\xC3"), std::string("a"));
        QCOMPARE(stream.push("\xA9!"), std::string("\xC3\xA9!"));
        QCOMPARE(stream.flush(), std::string());
    }

    void utf8StreamReplacesInvalidSequences_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QByteArray>("pushed"); // what push() returns
        QTest::addColumn<QByteArray>("flushed"); // what flush() returns afterwards
        const QByteArray fffd("\xEF\xBF\xBD");
        QTest::newRow("lone continuation") << QByteArray("a\x80"
                                                         "b")
                                           << QByteArray("a" + fffd + "b") << QByteArray();
        QTest::newRow("invalid byte FF") << QByteArray("\xFF") << fffd << QByteArray();
        QTest::newRow("overlong C0 AF") << QByteArray("\xC0\xAF") << fffd + fffd << QByteArray();
        QTest::newRow("overlong E0 80 AF") << QByteArray("\xE0\x80\xAF") << fffd + fffd + fffd << QByteArray();
        QTest::newRow("surrogate ED A0 80") << QByteArray("\xED\xA0\x80") << fffd + fffd + fffd << QByteArray();
        QTest::newRow("above U+10FFFF") << QByteArray("\xF4\x90\x80\x80") << fffd + fffd + fffd + fffd << QByteArray();
        // A truncated sequence followed by a character that cannot continue it: one U+FFFD for the prefix.
        QTest::newRow("truncated then ASCII") << QByteArray("\xE2\x82"
                                                            "A")
                                              << QByteArray(fffd + "A") << QByteArray();
        QTest::newRow("held at the end, flushed") << QByteArray("ok\xF0\x9F\x98") << QByteArray("ok") << fffd;
        QTest::newRow("valid text passes")
            << QByteArray("na\xC3\xAFve \xE4\xB8\x96") << QByteArray("na\xC3\xAFve \xE4\xB8\x96") << QByteArray();
    }

    void utf8StreamReplacesInvalidSequences()
    {
        QFETCH(QByteArray, input);
        QFETCH(QByteArray, pushed);
        QFETCH(QByteArray, flushed);
        Utf8Stream stream;
        QCOMPARE(bytes(stream.push(input.toStdString())), pushed);
        QCOMPARE(bytes(stream.flush()), flushed);
        QCOMPARE(bytes(stream.flush()), QByteArray()); // flush leaves nothing behind
    }

    void isValidUtf8Table_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<bool>("valid");
        QTest::newRow("empty") << QByteArray() << true;
        QTest::newRow("ASCII") << QByteArray("plain text\n") << true;
        QTest::newRow("2-byte") << QByteArray("\xC3\xA9") << true;
        QTest::newRow("3-byte") << QByteArray("\xE2\x82\xAC") << true;
        QTest::newRow("4-byte") << QByteArray("\xF0\x9F\x98\x80") << true;
        QTest::newRow("U+10FFFF") << QByteArray("\xF4\x8F\xBF\xBF") << true;
        QTest::newRow("U+D7FF before surrogates") << QByteArray("\xED\x9F\xBF") << true;
        QTest::newRow("U+E000 after surrogates") << QByteArray("\xEE\x80\x80") << true;
        QTest::newRow("overlong 2-byte slash") << QByteArray("\xC0\xAF") << false;
        QTest::newRow("overlong C1") << QByteArray("\xC1\xBF") << false;
        QTest::newRow("overlong 3-byte") << QByteArray("\xE0\x9F\xBF") << false;
        QTest::newRow("overlong 4-byte") << QByteArray("\xF0\x8F\xBF\xBF") << false;
        QTest::newRow("surrogate U+D800") << QByteArray("\xED\xA0\x80") << false;
        QTest::newRow("surrogate U+DFFF") << QByteArray("\xED\xBF\xBF") << false;
        QTest::newRow("above U+10FFFF") << QByteArray("\xF4\x90\x80\x80") << false;
        QTest::newRow("F5 lead") << QByteArray("\xF5\x80\x80\x80") << false;
        QTest::newRow("truncated 2-byte") << QByteArray("\xC3") << false;
        QTest::newRow("truncated 4-byte") << QByteArray("a\xF0\x9F\x98") << false;
        QTest::newRow("lone continuation") << QByteArray("\x80") << false;
        QTest::newRow("FE") << QByteArray("\xFE") << false;
    }

    void isValidUtf8Table()
    {
        QFETCH(QByteArray, text);
        QFETCH(bool, valid);
        QCOMPARE(isValidUtf8(std::string_view(text.constData(), size_t(text.size()))), valid);
    }

    // --- vocabulary from GGUF

    void vocabOnlyGgufLoadsAndTokenizes()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = tempPath(dir, QStringLiteral("vocab.gguf"));
        Vocabulary original = makeVocab();
        original.padId = 0;
        original.addBos = false;
        original.addEos = true;
        writeVocabGguf(original, path);

        const GgufFile file = GgufFile::open(path);
        QVERIFY(file.tensors().empty());
        const Vocabulary loaded = Vocabulary::fromGguf(file);
        QCOMPARE(loaded.model, original.model);
        QCOMPARE(loaded.tokens, original.tokens);
        QCOMPARE(loaded.scores, original.scores);
        QVERIFY(loaded.types == original.types);
        QCOMPARE(loaded.bosId, 1);
        QCOMPARE(loaded.eosId, 2);
        QCOMPARE(loaded.unkId, 0);
        QCOMPARE(loaded.padId, 0);
        QCOMPARE(loaded.addBos, false);
        QCOMPARE(loaded.addEos, true);
        QCOMPARE(loaded.addSpacePrefix, true);

        const Tokenizer tok(loaded);
        QCOMPARE(piecesOf(tok, tok.encode("abcd hello", true)), QStringLiteral("<s>|_|a|bc|d|_hello"));
    }

    void vocabDefaultsWhenOptionalKeysAreAbsent()
    {
        GgufWriter writer;
        writer.setString("tokenizer.ggml.model", "llama");
        writer.setStringArray("tokenizer.ggml.tokens", { "<unk>", "a", "b" });
        const std::vector<uint8_t> data = writer.toBytes();
        const GgufFile file = GgufFile::fromMemory(data, "minimal.gguf");
        const Vocabulary v = Vocabulary::fromGguf(file);
        QCOMPARE(v.scores, (std::vector<float> { 0, 0, 0 }));
        QVERIFY(v.types == std::vector<TokenType>(3, TokenType::Normal));
        QCOMPARE(v.bosId, -1);
        QCOMPARE(v.eosId, -1);
        QCOMPARE(v.addBos, true);
        QCOMPARE(v.addSpacePrefix, true);
    }

    void malformedVocabIsModelFileError_data()
    {
        QTest::addColumn<QString>("defect");
        QTest::addColumn<QString>("messagePart");
        QTest::newRow("scores length mismatch") << "scores"
                                                << "tokenizer.ggml.scores";
        QTest::newRow("token types length mismatch") << "types"
                                                     << "tokenizer.ggml.token_type";
        QTest::newRow("token type out of range") << "typeValue"
                                                 << "tokenizer.ggml.token_type";
        QTest::newRow("BOS id out of range") << "bos"
                                             << "tokenizer.ggml.bos_token_id";
        QTest::newRow("EOS id out of range") << "eos"
                                             << "tokenizer.ggml.eos_token_id";
        QTest::newRow("empty token list") << "empty"
                                          << "tokenizer.ggml.tokens";
        QTest::newRow("missing token list") << "noTokens"
                                            << "tokenizer.ggml.tokens";
        QTest::newRow("missing model") << "noModel"
                                       << "tokenizer.ggml.model";
    }

    void malformedVocabIsModelFileError()
    {
        QFETCH(QString, defect);
        QFETCH(QString, messagePart);
        GgufWriter writer;
        if (defect != QLatin1String("noModel"))
            writer.setString("tokenizer.ggml.model", "llama");
        if (defect == QLatin1String("empty"))
            writer.setStringArray("tokenizer.ggml.tokens", {});
        else if (defect != QLatin1String("noTokens"))
            writer.setStringArray("tokenizer.ggml.tokens", { "<unk>", "<s>", "</s>", "a" });
        writer.setFloat32Array("tokenizer.ggml.scores",
            defect == QLatin1String("scores") ? std::vector<float> { 0, 0, 0 } : std::vector<float> { 0, 0, 0, 0 });
        if (defect == QLatin1String("types"))
            writer.setInt32Array("tokenizer.ggml.token_type", { 2, 3, 3, 1, 1 });
        else if (defect == QLatin1String("typeValue"))
            writer.setInt32Array("tokenizer.ggml.token_type", { 2, 3, 3, 9 });
        writer.setUInt32("tokenizer.ggml.bos_token_id", defect == QLatin1String("bos") ? 4 : 1);
        writer.setUInt32("tokenizer.ggml.eos_token_id", defect == QLatin1String("eos") ? 1000 : 2);
        const std::vector<uint8_t> data = writer.toBytes();
        const GgufFile file = GgufFile::fromMemory(data, "broken.gguf");
        try {
            Vocabulary::fromGguf(file);
            QFAIL("a malformed vocabulary was accepted");
        } catch (const ModelFileError& e) {
            QVERIFY2(QString::fromStdString(e.problem()).contains(messagePart), e.what());
            QCOMPARE(e.file(), std::string("broken.gguf"));
        }
    }
};

QTEST_APPLESS_MAIN(TestTokenizer)
#include "test_tokenizer.moc"
