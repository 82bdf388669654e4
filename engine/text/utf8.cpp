#include "engine/text/utf8.h"

namespace engine {

namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD"; // U+FFFD

} // namespace

Utf8Scan scanUtf8(std::string_view s)
{
    const auto b0 = static_cast<unsigned char>(s[0]);
    if (b0 < 0x80)
        return { Utf8Status::Complete, 1 };
    size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF; // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 2;
    } else if (b0 == 0xE0) {
        need = 3;
        lo = 0xA0; // below: overlong
    } else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) {
        need = 3;
    } else if (b0 == 0xED) {
        need = 3;
        hi = 0x9F; // above: UTF-16 surrogates
    } else if (b0 == 0xF0) {
        need = 4;
        lo = 0x90; // below: overlong
    } else if (b0 >= 0xF1 && b0 <= 0xF3) {
        need = 4;
    } else if (b0 == 0xF4) {
        need = 4;
        hi = 0x8F; // above: beyond U+10FFFF
    } else {
        return { Utf8Status::Invalid, 1 }; // continuation byte, C0/C1 (always overlong), F5..FF
    }
    for (size_t i = 1; i < need; ++i) {
        if (i >= s.size())
            return { Utf8Status::Incomplete, i };
        const auto b = static_cast<unsigned char>(s[i]);
        const unsigned char l = i == 1 ? lo : 0x80;
        const unsigned char h = i == 1 ? hi : 0xBF;
        if (b < l || b > h)
            return { Utf8Status::Invalid, i };
    }
    return { Utf8Status::Complete, need };
}

std::string Utf8Stream::push(std::string_view bytes)
{
    m_pending.append(bytes);
    std::string out;
    out.reserve(m_pending.size());
    const std::string_view pending(m_pending);
    size_t pos = 0;
    while (pos < pending.size()) {
        const Utf8Scan scan = scanUtf8(pending.substr(pos));
        if (scan.status == Utf8Status::Incomplete)
            break; // may still complete with the next bytes
        if (scan.status == Utf8Status::Complete)
            out.append(pending.substr(pos, scan.length));
        else
            out.append(kReplacementChar);
        pos += scan.length;
    }
    m_pending.erase(0, pos);
    return out;
}

std::string Utf8Stream::flush()
{
    std::string out = push({});
    if (!m_pending.empty()) {
        // What is left is a truncated but otherwise valid prefix: one maximal subpart, one U+FFFD.
        out.append(kReplacementChar);
        m_pending.clear();
    }
    return out;
}

bool isValidUtf8(std::string_view text) { return validUtf8Prefix(text) == text.size(); }

size_t validUtf8Prefix(std::string_view text)
{
    size_t pos = 0;
    while (pos < text.size()) {
        const Utf8Scan scan = scanUtf8(text.substr(pos));
        if (scan.status != Utf8Status::Complete)
            break;
        pos += scan.length;
    }
    return pos;
}

void appendUtf8(std::string& s, char32_t cp)
{
    if (cp < 0x80) {
        s += char(cp);
    } else if (cp < 0x800) {
        s += char(0xC0 | (cp >> 6));
        s += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        s += char(0xE0 | (cp >> 12));
        s += char(0x80 | ((cp >> 6) & 0x3F));
        s += char(0x80 | (cp & 0x3F));
    } else {
        s += char(0xF0 | (cp >> 18));
        s += char(0x80 | ((cp >> 12) & 0x3F));
        s += char(0x80 | ((cp >> 6) & 0x3F));
        s += char(0x80 | (cp & 0x3F));
    }
}

} // namespace engine
