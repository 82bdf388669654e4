// UTF-8 scanning, validation, encoding and a whole-characters byte stream, shared by the tokenizers and detokenizer.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace engine {

enum class Utf8Status { Complete, Incomplete, Invalid };

struct Utf8Scan {
    Utf8Status status;
    size_t length; // Complete: bytes of the character; Invalid: bytes of the maximal ill-formed subpart (>= 1)
};

// Classifies the sequence at the start of `s` (non-empty) by the well-formed byte ranges of the Unicode
// standard (table 3-7), which excludes overlongs, surrogates and code points above U+10FFFF. An invalid
// sequence's length is its "maximal subpart", so each maximal subpart becomes one U+FFFD, as the Unicode
// standard recommends and as browsers and Python do.
Utf8Scan scanUtf8(std::string_view s);

// Appends the UTF-8 encoding of a code point (<= U+10FFFF; surrogates are the caller's business).
void appendUtf8(std::string& s, char32_t cp);

// True if `text` is entirely valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool isValidUtf8(std::string_view text);
// Length in bytes of the longest prefix of `text` that is valid UTF-8 (whole characters only).
size_t validUtf8Prefix(std::string_view text);

// Turns a stream of raw bytes into valid UTF-8 text: incomplete multi-byte sequences are held
// until they complete; bytes that can never form valid UTF-8 become U+FFFD.
class Utf8Stream {
public:
    std::string push(std::string_view bytes); // returns the text that is complete so far
    std::string flush(); // whatever is held, invalid parts as U+FFFD
private:
    std::string m_pending;
};

} // namespace engine
