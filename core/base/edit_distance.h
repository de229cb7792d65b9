// Levenshtein distance, for "did you mean" in the config parser and the
// tools' command tables.
#ifndef SESAME_CORE_BASE_EDIT_DISTANCE_H_
#define SESAME_CORE_BASE_EDIT_DISTANCE_H_

#include <cstddef>
#include <string_view>

namespace sesame {

size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace sesame

#endif  // SESAME_CORE_BASE_EDIT_DISTANCE_H_
