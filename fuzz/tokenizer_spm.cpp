// Fuzz target: the llama (SentencePiece) tokenizer. The first byte picks encode or decode and their flags; the
// rest is text to encode, or 16-bit token ids to decode (some of them outside the vocabulary).
// Encoding then decoding valid UTF-8 without special-token parsing must give the text back (after the dummy space
// prefix), since every byte has a token. Fine: std::out_of_range for an id outside the vocabulary (documented by
// Tokenizer::piece). Anything else is a finding.
#include "fuzzsupport.h"

#include "engine/text/utf8.h"

#include <cstdlib>
#include <stdexcept>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    fuzz::FuzzBytes in(data, size);
    const uint8_t mode = in.byte();
    const engine::Tokenizer& tokenizer = fuzz::sentencePieceTokenizer();
    if (mode & 1) {
        engine::Detokenizer detokenizer(tokenizer, (mode & 2) != 0);
        std::string text;
        while (in.remaining() >= 2) {
            const int32_t id = int32_t(in.u16()) % (tokenizer.size() + 4) - 2;
            try {
                text += detokenizer.push(id);
                (void)tokenizer.isEndOfGeneration(id);
            } catch (const std::out_of_range&) {
                if (id >= 0 && id < tokenizer.size())
                    std::abort(); // refused an id of the vocabulary
            }
        }
        text += detokenizer.flush();
        if (!engine::isValidUtf8(text))
            std::abort(); // the detokenizer promises valid UTF-8
        return 0;
    }
    const bool addBos = (mode & 2) != 0;
    const bool parseSpecial = (mode & 4) != 0;
    const std::string_view text = in.rest();
    const std::vector<int32_t> ids = tokenizer.encode(text, addBos, parseSpecial);
    std::string back;
    for (const int32_t id : ids) {
        if (id < 0 || id >= tokenizer.size())
            std::abort(); // an id outside the vocabulary
        back += tokenizer.tokenBytes(id);
    }
    // U+2581 in the text decodes as a space, by SentencePiece's design; otherwise the bytes come back.
    if (!parseSpecial && !text.empty() && engine::isValidUtf8(text)
        && text.find("\xe2\x96\x81") == std::string_view::npos) {
        std::string expected = tokenizer.addsSpacePrefix() ? " " : "";
        expected.append(text);
        if (back != expected)
            std::abort();
    }
    return 0;
}
