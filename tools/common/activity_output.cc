#include "tools/common/activity_output.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "core/base/logger.h"
#include "core/flows/activity.h"

namespace sesame {
namespace {

// Bytes that are not printed as they are keep the columns from lining up
// exactly; the table is for reading, --json is for scripts.
std::string Cell(const std::string& text) { return text.empty() ? "-" : SanitizeForDisplay(text); }

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
    row.push_back(e.detail.empty() ? "" : SanitizeForDisplay(e.detail));
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
