// Command-line flags of the client examples: "--name value" pairs, --help, and usage errors,
// kept small so that each example still reads on its own.
// Thread-safety: call from main before starting threads.
#ifndef EXAMPLES_EXAMPLE_FLAGS_H_
#define EXAMPLES_EXAMPLE_FLAGS_H_

#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <utility>

// Parses argv: each name in `strings` takes any value, each in `ints` a positive integer.
// Returns -1 to go on, else the exit code: 0 after printing `usage` for --help, 2 after a usage
// error ("<program>: unknown option --x", "--x needs a value", "--x must be a positive integer").
inline int ParseExampleFlags(int argc, char** argv, const char* program, const char* usage,
                             std::initializer_list<std::pair<const char*, std::string*>> strings,
                             std::initializer_list<std::pair<const char*, int*>> ints) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("%s", usage);
      return 0;
    }
    std::string* string_value = nullptr;
    int* int_value = nullptr;
    for (const auto& [name, value] : strings) {
      if (arg == name) string_value = value;
    }
    for (const auto& [name, value] : ints) {
      if (arg == name) int_value = value;
    }
    if (string_value == nullptr && int_value == nullptr) {
      std::fprintf(stderr, "%s: unknown option %s\n%s", program, arg.c_str(), usage);
      return 2;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s: %s needs a value\n%s", program, arg.c_str(), usage);
      return 2;
    }
    const std::string value = argv[++i];
    if (string_value != nullptr) {
      *string_value = value;
      continue;
    }
    char* end = nullptr;
    const long n = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || n < 1 || n > 1000000000) {
      std::fprintf(stderr, "%s: %s must be a positive integer, not \"%s\"\n", program, arg.c_str(),
                   value.c_str());
      return 2;
    }
    *int_value = static_cast<int>(n);
  }
  return -1;
}

#endif  // EXAMPLES_EXAMPLE_FLAGS_H_
