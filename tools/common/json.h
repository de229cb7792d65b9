// A small JSON writer for --json output (objects, arrays, strings, numbers,
// booleans). Strings are escaped per RFC 8259; bytes that are not UTF-8 are
// written as \u00XX of each byte so the output is always valid JSON.
#ifndef SESAME_TOOLS_COMMON_JSON_H_
#define SESAME_TOOLS_COMMON_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sesame {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Bool(bool value);
  const std::string& str() const { return out_; }

 private:
  void Separator();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool after_key_ = false;
};

std::string JsonEscape(std::string_view text);

}  // namespace sesame

#endif  // SESAME_TOOLS_COMMON_JSON_H_
