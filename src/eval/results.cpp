// The eval results CSV and its printed table (see include/moerge/eval/results.hpp).
#include "moerge/eval/results.hpp"

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "moerge/core/error.hpp"
#include "moerge/io/atomic.hpp"

namespace fs = std::filesystem;

namespace moerge::eval {

namespace {

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const auto comma = line.find(',', start);
    fields.push_back(
        line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

}  // namespace

std::string eval_csv_text(const std::vector<EvalRow>& rows) {
  std::string text = std::string(kEvalCsvHeader) + "\n";
  // fmt's "{}" for a double prints the shortest representation that reads back exactly.
  for (const EvalRow& row : rows)
    text +=
        fmt::format("{},{},{},{},{}\n", row.system, row.domain, row.split, row.n_bytes, row.bits_per_byte);
  return text;
}

void write_eval_csv(const fs::path& path, const std::vector<EvalRow>& rows) {
  if (!path.parent_path().empty() && !fs::is_directory(path.parent_path()))
    throw InputError(
        fmt::format("{}: the directory {} does not exist", path.string(), path.parent_path().string()));
  io::AtomicPath atomic(path, true);
  {
    std::ofstream out(atomic.temp(), std::ios::binary);
    if (!out) throw IoError(fmt::format("{}: cannot create", atomic.temp().string()));
    out << eval_csv_text(rows);
    out.close();
    if (!out) throw IoError(fmt::format("{}: write failed", atomic.temp().string()));
  }
  io::fsync_path(atomic.temp());
  atomic.commit();
}

std::vector<EvalRow> read_eval_csv(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open (results CSV)", path.string()));
  std::string line;
  std::vector<EvalRow> rows;
  if (!std::getline(in, line) || !line.starts_with(kEvalCsvHeader) ||
      (line.size() > std::string_view(kEvalCsvHeader).size() &&
       line[std::string_view(kEvalCsvHeader).size()] != ','))
    throw InputError(fmt::format("{}: line 1 must start with the header '{}' (found '{}')", path.string(),
                                 kEvalCsvHeader, line.substr(0, 80)));
  for (std::size_t line_idx = 2; std::getline(in, line); ++line_idx) {
    if (line.empty()) continue;
    const auto fields = split_fields(line);
    if (fields.size() < 5)
      throw InputError(fmt::format("{}: line {} has {} fields, expected at least 5", path.string(), line_idx,
                                   fields.size()));
    EvalRow row{
        .system = std::string(fields[0]), .domain = std::string(fields[1]), .split = std::string(fields[2])};
    const auto [n_end, n_error] =
        std::from_chars(fields[3].data(), fields[3].data() + fields[3].size(), row.n_bytes);
    if (n_error != std::errc() || n_end != fields[3].data() + fields[3].size() || row.n_bytes < 0)
      throw InputError(
          fmt::format("{}: line {}: n_bytes '{}' is not a count", path.string(), line_idx, fields[3]));
    const auto [b_end, b_error] =
        std::from_chars(fields[4].data(), fields[4].data() + fields[4].size(), row.bits_per_byte);
    if (b_error != std::errc() || b_end != fields[4].data() + fields[4].size() ||
        !std::isfinite(row.bits_per_byte))
      throw InputError(
          fmt::format("{}: line {}: bits_per_byte '{}' is not a number", path.string(), line_idx, fields[4]));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string eval_table(const std::vector<EvalRow>& rows) {
  std::size_t width = 6;
  for (const EvalRow& row : rows) width = std::max(width, row.domain.size());
  std::string text =
      fmt::format("{:<{}}  {:<15}  {:>9}  {:>13}\n", "domain", width, "split", "bytes", "bits/byte");
  std::map<std::string, std::pair<double, int>> mean_of_split;  // split -> (sum, count)
  bool one_system = !rows.empty();
  for (const EvalRow& row : rows) one_system = one_system && row.system == rows.front().system;
  for (const EvalRow& row : rows) {
    text += fmt::format("{:<{}}  {:<15}  {:>9}  {:>13.4f}\n", row.domain, width, row.split, row.n_bytes,
                        row.bits_per_byte);
    auto& [sum, count] = mean_of_split[row.split];
    sum += row.bits_per_byte;
    ++count;
  }
  for (const auto& [split, sum_count] : mean_of_split)
    text += fmt::format("{:<{}}  {:<15}  {:>9}  {:>13.4f}\n", "(mean)", width, split,
                        fmt::format("{} dom.", sum_count.second), sum_count.first / sum_count.second);
  return one_system ? fmt::format("system {}\n{}", rows.front().system, text) : text;
}

}  // namespace moerge::eval
