// Progress of long work (units done / total, bytes, rate, ETA): a bar redrawn in place on a
// terminal, plain periodic lines otherwise (logs, batch jobs), nothing when disabled.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace moerge::progress {

enum class Style { automatic, bar, lines };  // automatic: bar on a TTY, lines otherwise

struct Options {
  bool enabled = true;  // false when --quiet, and on every rank but 0
  std::FILE* out = stderr;
  Style style = Style::automatic;
  std::chrono::milliseconds delay{500};            // work shorter than this shows nothing
  std::chrono::milliseconds bar_interval{100};     // at most this often a redraw of the bar
  std::chrono::milliseconds line_interval{10000};  // at most this often a plain line
};

/// Options for a reporter that prints only on rank 0 and only when not quiet.
Options options_for(bool quiet, int rank);

/// Human-readable sizes and durations, as the reporter prints them ("1.5 MiB", "1:02:03").
std::string format_bytes(double n_byte);
std::string format_duration(double seconds);

class Progress {
 public:
  /// `label` names the work ("import lora_a"), `unit` what is counted ("tensors"). A total of 0
  /// means unknown (no percentage or ETA from it).
  Progress(std::string label, std::string unit, std::uint64_t n_unit_total, std::uint64_t n_byte_total,
           Options options = {});
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Record `n_unit` more units and `n_byte` more bytes done; may print.
  void advance(std::uint64_t n_unit, std::uint64_t n_byte = 0);
  /// Print the final state (when anything was shown, or the work outlasted the delay) and stop.
  void finish();

  /// One line describing the current state, e.g.
  /// "import lora_a: 12/40 tensors (30%), 1.2 MiB/4.0 MiB, 85.3 MiB/s, ETA 0:14".
  std::string status_line() const;

 private:
  void maybe_print(bool final);
  double elapsed_seconds() const;

  std::string label_;
  std::string unit_;
  std::uint64_t n_unit_total_ = 0;
  std::uint64_t n_byte_total_ = 0;
  std::uint64_t n_unit_done_ = 0;
  std::uint64_t n_byte_done_ = 0;
  Options options_;
  bool bar_ = false;
  bool shown_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
};

}  // namespace moerge::progress
