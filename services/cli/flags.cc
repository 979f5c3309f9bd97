// Strict --flag parsing for the graphprobe subcommands.
#include "services/cli/flags.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/core/status.h"

namespace gp {

std::vector<std::string> TakePositional(std::vector<std::string>* args,
                                        const std::vector<FlagSpec>& specs) {
  std::vector<std::string> positional, rest;
  for (size_t i = 0; i < args->size(); ++i) {
    const std::string& arg = (*args)[i];
    if (arg.rfind("--", 0) != 0) {
      positional.push_back(arg);
      continue;
    }
    rest.push_back(arg);
    const std::string name = arg.substr(2);
    for (const FlagSpec& spec : specs) {
      if (spec.name == name && spec.takes_value && i + 1 < args->size())
        rest.push_back((*args)[++i]);
    }
  }
  *args = rest;
  return positional;
}

absl::StatusOr<Flags> Flags::Parse(const std::vector<std::string>& args,
                                   const std::vector<FlagSpec>& specs,
                                   const std::string& env_prefix) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (spec->takes_value && !inline_value) {
      if (i + 1 >= args.size())
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      value = args[++i];
    } else if (!spec->takes_value && inline_value) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
    }
    flags.values_[name] = value;
  }
  if (env_prefix.empty()) return flags;
  for (const FlagSpec& spec : specs) {
    if (flags.Has(spec.name)) continue;
    std::string variable = env_prefix;
    for (char c : spec.name) variable += c == '-' ? '_' : static_cast<char>(std::toupper(c));
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) continue;
    if (spec.takes_value) {
      flags.values_[spec.name] = value;
    } else if (std::string(value) == "1" || std::string(value) == "true") {
      flags.values_[spec.name] = "";
    } else if (std::string(value) != "0" && std::string(value) != "false" && *value != '\0') {
      return absl::InvalidArgumentError(
          absl::StrCat(variable, "='", value, "': expected 1, true, 0 or false"));
    }
  }
  return flags;
}

std::string Flags::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

absl::StatusOr<std::string> Flags::Required(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end())
    return absl::InvalidArgumentError(absl::StrCat("--", name, " is required"));
  return it->second;
}

absl::StatusOr<int64_t> Flags::Int(const std::string& name, int64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(it->second.c_str(), &end, 10);
  if (errno == ERANGE) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " '", it->second, "' is out of range"));
  }
  if (errno != 0 || end == it->second.c_str() || *end != '\0') {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " '", it->second, "' is not an integer"));
  }
  return static_cast<int64_t>(value);
}

absl::StatusOr<int64_t> Flags::IntIn(const std::string& name, int64_t fallback, int64_t min,
                                     int64_t max) const {
  GP_ASSIGN_OR_RETURN(const int64_t value, Int(name, fallback));
  if (value < min || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " ", value, ": expected ", min, "..", max));
  }
  return value;
}

absl::StatusOr<int> Flags::Int32(const std::string& name, int fallback) const {
  GP_ASSIGN_OR_RETURN(const int64_t value, Int(name, fallback));
  constexpr int64_t kLeast = std::numeric_limits<int>::min();
  constexpr int64_t kMost = std::numeric_limits<int>::max();
  if (value > kMost) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " ", value, ": too large (at most ", kMost, ")"));
  }
  if (value < kLeast) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " ", value, ": too small (at least ", kLeast, ")"));
  }
  return static_cast<int>(value);
}

absl::StatusOr<uint64_t> Flags::Seed(const std::string& name, uint64_t fallback) const {
  if (!Has(name)) return fallback;
  GP_ASSIGN_OR_RETURN(const int64_t value, IntIn(name, 0, 0, std::numeric_limits<int64_t>::max()));
  return static_cast<uint64_t>(value);
}

absl::StatusOr<double> Flags::Double(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  double value = 0;
  if (!absl::SimpleAtod(it->second, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " '", it->second, "' is not a number"));
  }
  // No flag means "nan" or "inf", and NaN slips through every range check (NaN < 0 is false).
  if (!std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " '", it->second, "': expected a finite number"));
  }
  return value;
}

absl::StatusOr<int> CpuThreadsFlag(const Flags& flags) {
  GP_ASSIGN_OR_RETURN(const int64_t threads, flags.IntIn("threads", 0, 0, 1024));
  return static_cast<int>(threads);
}

absl::Status NameFlagsInError(const absl::Status& status, const std::vector<FlagSpec>& specs,
                              const std::map<std::string, std::string>& field_flags) {
  std::map<std::string, std::string> flag_of = field_flags;
  for (const FlagSpec& spec : specs) {
    flag_of.emplace(absl::StrReplaceAll(spec.name, {{"-", "_"}}), "--" + spec.name);
  }
  const std::string message(status.message());
  const size_t end = message.find_first_of(" :");
  if (end == std::string::npos) return status;
  auto it = flag_of.find(message.substr(0, end));
  if (it == flag_of.end()) return status;
  return absl::Status(status.code(), it->second + message.substr(end));
}

int RunSubcommand(const std::string& name, const std::string& usage,
                  const std::vector<FlagSpec>& specs, const std::vector<std::string>& args,
                  std::ostream& out, const std::function<absl::Status(const Flags&)>& body,
                  const std::map<std::string, std::string>& field_flags,
                  const std::string& env_prefix) {
  auto flags = Flags::Parse(args, specs, env_prefix);
  if (flags.ok() && flags->Has("help")) {
    out << "usage: " << usage << "\n" << FlagsHelp(specs);
    return 0;
  }
  const absl::Status status =
      NameFlagsInError(flags.ok() ? body(*flags) : flags.status(), specs, field_flags);
  if (status.ok()) return 0;
  std::cerr << "graphprobe " << name << ": " << status.message() << "\n";
  const bool bad_input = status.code() == absl::StatusCode::kInvalidArgument ||
                         status.code() == absl::StatusCode::kNotFound;
  return bad_input ? 2 : 1;
}

std::string FlagsHelp(const std::vector<FlagSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    std::string left = absl::StrCat("  --", s.name, s.takes_value ? " VALUE" : "");
    left.resize(std::max<size_t>(left.size() + 2, 26), ' ');
    absl::StrAppend(&out, left, s.help, "\n");
  }
  return out;
}

}  // namespace gp
