#include "engine/lessons/explaintext.h"

#include <cctype>
#include <stdexcept>

namespace engine::lessons {

namespace {

bool wordChar(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }

} // namespace

std::string fillText(const Measured& measured, std::string_view text)
{
    std::string out;
    out.reserve(text.size() + 64);
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '{') {
            const size_t close = text.find('}', i);
            if (close == std::string_view::npos)
                throw std::logic_error("unclosed '{' in lesson text: " + std::string(text));
            out += measured.text(std::string(text.substr(i + 1, close - i - 1)));
            i = close;
            continue;
        }
        if (std::isdigit(static_cast<unsigned char>(c))) {
            // A run of digits touching a letter names something (Q8_0, F32, 110M); a bare one would be a number
            // written into the template instead of measured.
            size_t end = i;
            while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end])))
                ++end;
            if (!(i > 0 && wordChar(text[i - 1])) && !(end < text.size() && wordChar(text[end])))
                throw std::logic_error("a number written into lesson text instead of measured: " + std::string(text));
            out += text.substr(i, end - i);
            i = end - 1;
            continue;
        }
        out += c;
    }
    return out;
}

std::string joinTexts(const Measured& measured, const std::vector<std::string>& names)
{
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) {
        if (i > 0)
            out += i + 1 == names.size() ? " and " : ", ";
        out += measured.text(names[i]);
    }
    return out;
}

} // namespace engine::lessons
