// Fuzz target: the gpt2 (byte-level BPE) tokenizer under each pre-tokenizer split. The first byte picks encode or
// decode and the flags, the second the pre-tokenizer; the rest is text to encode, or 16-bit token ids to decode.
// Encoding without special-token parsing must give the bytes back, valid UTF-8 or not (byte-level BPE keeps every
// byte). Fine: std::out_of_range for an id outside the vocabulary. Anything else is a finding.
#include "fuzzsupport.h"

#include "engine/text/utf8.h"

#include <cstdlib>
#include <stdexcept>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    fuzz::FuzzBytes in(data, size);
    const uint8_t mode = in.byte();
    const engine::Tokenizer& tokenizer = fuzz::byteLevelTokenizer(in.byte());
    if (mode & 1) {
        engine::Detokenizer detokenizer(tokenizer);
        std::string text;
        while (in.remaining() >= 2) {
            const int32_t id = int32_t(in.u16()) % (tokenizer.size() + 4) - 2;
            try {
                text += detokenizer.push(id);
            } catch (const std::out_of_range&) {
                if (id >= 0 && id < tokenizer.size())
                    std::abort();
            }
        }
        text += detokenizer.flush();
        if (!engine::isValidUtf8(text))
            std::abort();
        return 0;
    }
    const bool parseSpecial = (mode & 4) != 0;
    const std::string_view text = in.rest();
    const std::vector<int32_t> ids = tokenizer.encode(text, (mode & 2) != 0, parseSpecial);
    std::string back;
    for (const int32_t id : ids) {
        if (id < 0 || id >= tokenizer.size())
            std::abort();
        back += tokenizer.tokenBytes(id);
    }
    if (!parseSpecial && back != text)
        std::abort();
    return 0;
}
