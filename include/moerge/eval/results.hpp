// The eval results file (design.md "Results files": system,domain,split,n_bytes,bits_per_byte,
// floats with round-trip digits) and the table printed beside it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace moerge::eval {

struct EvalRow {
  std::string system;
  std::string domain;
  std::string split;  // in_distribution or held_out
  std::int64_t n_bytes = 0;
  double bits_per_byte = 0.0;
};

inline constexpr const char* kEvalCsvHeader = "system,domain,split,n_bytes,bits_per_byte";

/// The CSV text: header row, then one row per observation; bits_per_byte printed with the
/// shortest digits that read back to the same double.
std::string eval_csv_text(const std::vector<EvalRow>& rows);
/// Write the CSV atomically (temp + fsync + rename): never a partial file under `path`.
void write_eval_csv(const std::filesystem::path& path, const std::vector<EvalRow>& rows);
/// Read a results CSV (this header first; extra columns after these are ignored). InputError
/// naming the file, the line and the bad field.
std::vector<EvalRow> read_eval_csv(const std::filesystem::path& path);

/// A plain-text table of the rows (domain, split, bytes, bits per byte), with the mean over the
/// domains of each split, for a person to read.
std::string eval_table(const std::vector<EvalRow>& rows);

}  // namespace moerge::eval
