// Building a lesson's explanation from its measurements: the text is a template whose numbers are placeholders,
// so every number in it is one Measurement::text() by construction.
#pragma once

#include "engine/lessons/lesson.h"

#include <string>
#include <string_view>

namespace engine::lessons {

// Replaces every "{name}" in `text` with measured.text(name). Throws std::out_of_range for a name that was not
// measured and std::logic_error for a digit outside a placeholder (a number the measurement did not give; digits
// inside words such as Q8_0 or 110M are allowed) or an unclosed brace.
std::string fillText(const Measured& measured, std::string_view text);

// How every lesson's text begins to say that its measurement did not show the usual result (tests look for it).
inline constexpr const char* kContradictionOpening = "This measurement does not show the usual lesson: ";

// "{a} and {b}" for thread-count lists and the like: each name's text, joined with ", " and a final " and ".
std::string joinTexts(const Measured& measured, const std::vector<std::string>& names);

} // namespace engine::lessons
