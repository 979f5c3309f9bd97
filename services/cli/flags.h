// Command-line flags of one subcommand: `--name value` and boolean `--name`, checked against
// the flags the subcommand declares, so a typo is an error instead of a silent default.
#pragma once

#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/core/status.h"

namespace gp {

struct FlagSpec {
  std::string name;  // without the leading "--"
  bool takes_value;
  std::string help;
};

class Flags {
 public:
  // With an `env_prefix` ("GRAPHPROBE_EXTRACTOR_"), a flag not on the command line is read
  // from the environment variable prefix + its name in capitals with '_' for '-'
  // (GRAPHPROBE_EXTRACTOR_MODEL_ROOT); a boolean flag is set by "1" or "true".
  static absl::StatusOr<Flags> Parse(const std::vector<std::string>& args,
                                     const std::vector<FlagSpec>& specs,
                                     const std::string& env_prefix = "");

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback) const;
  absl::StatusOr<std::string> Required(const std::string& name) const;
  absl::StatusOr<int64_t> Int(const std::string& name, int64_t fallback) const;
  // Int within [min, max]: beyond, "--NAME VALUE: expected MIN..MAX".
  absl::StatusOr<int64_t> IntIn(const std::string& name, int64_t fallback, int64_t min,
                                int64_t max) const;
  // For an option held in an int: a value beyond int's range is an error, never a silent wrap
  // (--graphs 5000000000 would otherwise ask for 705032704 graphs). The option's own
  // validation checks the range that makes sense.
  absl::StatusOr<int> Int32(const std::string& name, int fallback) const;
  // A seed: 0..2^63-1, as an ablation spec's seeds; a negative one is an error, not 2^64-1.
  absl::StatusOr<uint64_t> Seed(const std::string& name, uint64_t fallback) const;
  // A finite number: "nan" and "inf" are errors.
  absl::StatusOr<double> Double(const std::string& name, double fallback) const;

 private:
  std::map<std::string, std::string> values_;
};

// --threads: 0 (the default: libtorch's own choice, all cores) up to 1024; more is a typo, not
// a thread pool to start.
absl::StatusOr<int> CpuThreadsFlag(const Flags& flags);

// Takes the arguments that are neither flags nor the values of flags out of `args`, in order
// (`graphprobe submit --coordinator ADDR SPEC`: SPEC).
std::vector<std::string> TakePositional(std::vector<std::string>* args,
                                        const std::vector<FlagSpec>& specs);

// "  --model DIR   help" lines for usage messages.
std::string FlagsHelp(const std::vector<FlagSpec>& specs);

// Library errors name the fields of their options ("graphs 0: must be >= 1"); a CLI user typed
// flags. `field_flags` maps a field that starts a message to its flag ("graphs" -> "--graphs");
// every flag also maps from its own name with '_' for '-'.
absl::Status NameFlagsInError(const absl::Status& status, const std::vector<FlagSpec>& specs,
                              const std::map<std::string, std::string>& field_flags);

// The frame every subcommand shares: parse `args` against `specs`, print `usage` and the
// flags for --help (to `out`), run `body`, and turn an error into a message on stderr
// ("graphprobe NAME: ...", fields named as flags) and an exit code: 2 for bad input
// (InvalidArgument, NotFound), 1 for anything else, 0 on success.
// `env_prefix` as in Flags::Parse.
int RunSubcommand(const std::string& name, const std::string& usage,
                  const std::vector<FlagSpec>& specs, const std::vector<std::string>& args,
                  std::ostream& out, const std::function<absl::Status(const Flags&)>& body,
                  const std::map<std::string, std::string>& field_flags = {},
                  const std::string& env_prefix = "");

// A comma-separated flag value parsed item by item ("arrow,parents" -> notations); the first
// bad item's error, as `parse` words it.
template <typename T, typename Parse>
absl::StatusOr<std::vector<T>> ParseList(const std::string& text, Parse parse) {
  std::vector<T> out;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    GP_ASSIGN_OR_RETURN(T value, parse(std::string(item)));
    out.push_back(value);
  }
  return out;
}

// The comma-separated flag `name` parsed by ParseList, or `fallback` (the options' own
// default) when it is not given; a flag that names nothing is an error.
template <typename T, typename Parse>
absl::StatusOr<std::vector<T>> ListFlag(const Flags& flags, const std::string& name,
                                        std::vector<T> fallback, Parse parse) {
  if (!flags.Has(name)) return fallback;
  GP_ASSIGN_OR_RETURN(std::vector<T> out, ParseList<T>(flags.Get(name, ""), parse));
  if (out.empty()) return absl::InvalidArgumentError(absl::StrCat("--", name, ": none given"));
  return out;
}

}  // namespace gp
