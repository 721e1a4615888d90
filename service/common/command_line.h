// The command line of lrsched's binaries, on top of Abseil's flags.
//
// --help prints the binary's usage message, then the flags of its own source
// file with their defaults, and exits 0. Abseil's own --help lists the flags
// of a file named after the program (lrsched-server.cc), which no binary
// here has, so it printed "No flags matched"; it names files by the path
// they were built from, and exits 1.
//
// ParseFlags returns a mistake rather than exiting 1, for a tool whose exit
// codes tell a wrong command line (2) from a server's refusal (1).
#ifndef LRSCHED_SERVICE_COMMON_COMMAND_LINE_H_
#define LRSCHED_SERVICE_COMMON_COMMAND_LINE_H_

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace lrsched {

namespace command_line_internal {

// The source root: this header's own path without its place in the tree.
inline absl::string_view SourceRoot() {
  constexpr absl::string_view kHere = __FILE__;
  constexpr absl::string_view kInTree = "service/common/command_line.h";
  return absl::EndsWith(kHere, kInTree) ? kHere.substr(0, kHere.size() - kInTree.size())
                                        : absl::string_view();
}

// A flag's file named from the source root (client/lrschedctl.cc), or as the
// library that defines it was built.
inline std::string FileOf(const absl::CommandLineFlag& flag) {
  std::string file = flag.Filename();
  absl::string_view root = SourceRoot();
  // Abseil's default normalization has taken the leading '/' off already.
  if (!absl::StartsWith(file, "/") && absl::StartsWith(root, "/")) root.remove_prefix(1);
  if (!root.empty() && absl::StartsWith(file, root)) file.erase(0, root.size());
  return file;
}

// --name=DEFAULT, then its help in lines of at most 80 columns.
inline std::string Describe(const absl::CommandLineFlag& flag) {
  std::string text = absl::StrCat("  --", flag.Name());
  const std::string default_value = flag.DefaultValue();
  absl::StrAppend(&text, "=", default_value.empty() ? "\"\"" : default_value, "\n");
  std::string line;
  for (absl::string_view word : absl::StrSplit(flag.Help(), ' ', absl::SkipEmpty())) {
    if (!line.empty() && 6 + line.size() + 1 + word.size() > 80) {
      absl::StrAppend(&text, "      ", line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) absl::StrAppend(&text, "      ", line, "\n");
  return text;
}

}  // namespace command_line_internal

// Sets the usage message and, when the command line asks for help (--help,
// -help, -h, --helpshort: the flags of `own_file`, the binary's main source from
// the source root, e.g. "service/main.cc"; --helpfull: every flag, by file),
// prints it and returns true: the caller exits 0. Call before
// absl::ParseCommandLine.
inline bool HandledHelp(int argc, char** argv, absl::string_view usage,
                        absl::string_view own_file) {
  absl::SetProgramUsageMessage(usage);
  bool full = false, asked = false;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--help" || arg == "-help" || arg == "-h" || arg == "--helpshort" ||
        arg == "-helpshort") {
      asked = true;
    } else if (arg == "--helpfull" || arg == "-helpfull") {
      asked = full = true;
    }
  }
  if (!asked) return false;
  std::vector<std::pair<std::string, const absl::CommandLineFlag*>> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    const std::string file = command_line_internal::FileOf(*flag);
    if (full || file == own_file) flags.emplace_back(file, flag);
  }
  std::sort(flags.begin(), flags.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.first, a.second->Name()) < std::make_pair(b.first, b.second->Name());
  });
  std::string text = absl::StrCat(usage, "\n\nFlags:\n");
  std::string file;
  for (const auto& [flag_file, flag] : flags) {
    if (full && flag_file != file) absl::StrAppend(&text, "\n ", flag_file, ":\n");
    file = flag_file;
    absl::StrAppend(&text, command_line_internal::Describe(*flag));
  }
  if (!full) absl::StrAppend(&text, "\n(--helpfull for the flags of the libraries too)\n");
  std::fputs(text.c_str(), stdout);
  return true;
}

namespace command_line_internal {

// What a flag's value must look like, by its type.
inline std::string Expected(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<bool>()) return "true or false";
  if (flag.IsOfType<absl::Duration>()) return "a duration such as 10s, 500ms or 2m";
  if (flag.IsOfType<int32_t>()) return "a whole number (of at most 10 digits)";
  if (flag.IsOfType<int64_t>()) return "a whole number";
  if (flag.IsOfType<double>()) return "a number";
  return absl::StrCat("a valid value (default ", flag.DefaultValue(), ")");
}

}  // namespace command_line_internal

// Parses flags as absl::ParseCommandLine does (--name=value, --name value,
// -name, --flag and --noflag for booleans; "--" ends the flags), setting
// them, the other arguments to `positional` (without argv[0]), and the names
// of the flags given to `given`. INVALID_ARGUMENT naming the flag and what
// is wrong with it on the first mistake.
inline absl::Status ParseFlags(int argc, char** argv, std::vector<std::string>* positional,
                               std::set<std::string>* given) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) positional->emplace_back(argv[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional->emplace_back(arg);
      continue;
    }
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    const size_t equals = arg.find('=');
    absl::string_view name = arg.substr(0, equals);
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    bool negated = false;
    if (flag == nullptr && absl::StartsWith(name, "no")) {
      flag = absl::FindCommandLineFlag(name.substr(2));
      negated = flag != nullptr && flag->IsOfType<bool>();
      if (!negated) flag = nullptr;
    }
    if (flag == nullptr || flag->IsRetired()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    std::string value;
    if (negated) {
      if (equals != absl::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      }
      value = "false";
    } else if (equals != absl::string_view::npos) {
      value = std::string(arg.substr(equals + 1));
    } else if (flag->IsOfType<bool>()) {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag->Name(), ": '", value, "' is not ",
                       command_line_internal::Expected(*flag)));
    }
    given->insert(std::string(flag->Name()));
  }
  return absl::OkStatus();
}

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_COMMON_COMMAND_LINE_H_
