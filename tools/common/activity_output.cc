#include "tools/common/activity_output.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/flows/activity.h"

namespace sesame {
namespace {

// A table cell: as SanitizeForLog (control bytes, bytes above 0x7e and the
// backslash as \xNN, cut at max_len), but a double quote as it is. The log
// escapes it because its messages quote names; here the details quote app
// passwords' names themselves ("app password "Mail" accepted"), and \x22
// in every such line read as damage. A backslash stays escaped, so what
// reads \xNN was never a literal backslash.
std::string ForTable(std::string_view text, size_t max_len = 128) {
  std::string out;
  const size_t n = std::min(text.size(), max_len);
  out.reserve(n + 8);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  if (text.size() > max_len) out += "...";
  return out;
}

// Bytes that are not printed as they are keep the columns from lining up
// exactly; the table is for reading, --json is for scripts.
std::string Cell(const std::string& text) { return text.empty() ? "-" : ForTable(text); }

}  // namespace

std::string ActivityTable(const std::vector<SignInEvent>& events, bool with_user) {
  if (events.empty()) return "No sign-in activity.\n";
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {"TIME"};
  if (with_user) head.push_back("USER");
  for (const char* h : {"SERVICE", "FROM", "NEW", "METHOD", "OUTCOME", "DETAIL"}) head.push_back(h);
  rows.push_back(head);
  for (const SignInEvent& e : events) {
    std::vector<std::string> row = {LocalTimeText(e.time)};
    if (with_user) row.push_back(Cell(e.user));
    row.push_back(Cell(e.service));
    row.push_back(Cell(e.remote_host));
    row.push_back(e.new_host ? "new" : "");
    row.push_back(Cell(MethodWords(e.method)));
    row.push_back(Cell(e.outcome) + (e.count > 1 ? " x" + std::to_string(e.count) : ""));
    row.push_back(e.detail.empty() ? "" : ForTable(e.detail));
    rows.push_back(std::move(row));
  }
  std::vector<size_t> width(head.size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

void WriteActivityJson(JsonWriter& j, const std::vector<SignInEvent>& events) {
  j.BeginArray();
  for (const SignInEvent& e : events) {
    j.BeginObject()
        .Key("time")
        .Int(e.time)
        .Key("time_local")
        .String(LocalTimeIso(e.time))
        .Key("user")
        .String(e.user)
        .Key("service")
        .String(e.service)
        .Key("remote_host")
        .String(e.remote_host)
        .Key("method")
        .String(e.method)
        .Key("method_words")
        .String(MethodWords(e.method))
        .Key("outcome")
        .String(e.outcome)
        .Key("detail")
        .String(e.detail)
        .Key("count")
        .Int(e.count)
        .Key("new_host")
        .Bool(e.new_host)
        .EndObject();
  }
  j.EndArray();
}

}  // namespace sesame
