// Small statistics shared by the measurements: the median that every figure of a bench or sweep is.
#pragma once

#include <vector>

namespace engine {

// Median of a list; 0 for an empty one.
double median(std::vector<double> values);

} // namespace engine
