// rs_admin: the admin command line of rocketstore, with mqadmin's everyday verbs and option
// letters (updateTopic, deleteTopic, topicList, topicRoute, topicStatus, clusterList,
// brokerStatus, queryMsgById, queryMsgByKey, queryMsgByOffset, consumerProgress, sendMessage,
// consumeMessage, resetOffsetByTime). Tables by default, --json for machine output.
// Exit status: 0 done, 1 a request failed (the reason is on stderr), 2 a usage error.
// Usage: rs_admin <verb> -n ip:port[;ip:port] [options] [--json]; rs_admin <verb> --help
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tools/admin_verbs.h"

namespace {

using rsadmin::kExitFailed;
using rsadmin::kExitOk;
using rsadmin::kExitUsage;

std::string TopHelp() {
  std::string out =
      "rs_admin: administration of rocketstore name servers and brokers, with mqadmin's verbs\n"
      "and option letters.\n\n"
      "usage: rs_admin <verb> -n <namesrvAddr> [options] [--json]\n"
      "       rs_admin <verb> --help      options of one verb\n\n"
      "verbs:\n";
  for (const rsadmin::Verb& v : rsadmin::Verbs()) {
    std::string name = "  " + v.spec.name;
    name.resize(22, ' ');
    out += name + v.spec.summary + "\n";
  }
  out +=
      "\ncommon options (every verb):\n"
      "  -n, --namesrvAddr <value>  name servers, \"ip:port;ip:port\" (default: $NAMESRV_ADDR)\n"
      "      --json                 print JSON instead of tables\n"
      "      --timeout <ms>         wait at most this long for each answer (default 5000)\n"
      "  -h, --help                 help\n\n"
      "exit status: 0 done, 1 a request failed (the reason is printed on stderr), 2 usage error\n";
  return out;
}

const rsadmin::Verb* FindVerb(const std::string& name) {
  for (const rsadmin::Verb& v : rsadmin::Verbs()) {
    if (v.spec.name == name) return &v;
  }
  return nullptr;
}

// A verb spelled with another case ("updatetopic"), for the error message.
const rsadmin::Verb* FindVerbIgnoringCase(const std::string& name) {
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (const rsadmin::Verb& v : rsadmin::Verbs()) {
    if (lower(v.spec.name) == lower(name)) return &v;
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // Common options may come before the verb too: rs_admin -n addr --json topicList.
  std::vector<std::string> leading;
  size_t i = 0;
  for (; i < args.size() && !args[i].empty() && args[i][0] == '-'; ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::fputs(TopHelp().c_str(), stdout);
      return kExitOk;
    }
    leading.push_back(a);
    if ((a == "-n" || a == "--namesrvAddr" || a == "--timeout") && i + 1 < args.size()) {
      leading.push_back(args[++i]);
    }
  }
  if (i >= args.size()) {
    std::fprintf(stderr, "rs_admin: no verb given\n\n%s", TopHelp().c_str());
    return kExitUsage;
  }
  std::string verb_name = args[i++];
  if (verb_name == "help") {
    if (i >= args.size()) {
      std::fputs(TopHelp().c_str(), stdout);
      return kExitOk;
    }
    verb_name = args[i++];
    leading.push_back("--help");
  }
  const rsadmin::Verb* verb = FindVerb(verb_name);
  if (verb == nullptr) {
    const rsadmin::Verb* near = FindVerbIgnoringCase(verb_name);
    std::fprintf(stderr, "rs_admin: unknown verb '%s'%s (rs_admin --help lists the verbs)\n",
                 verb_name.c_str(),
                 near != nullptr ? (", did you mean " + near->spec.name + "?").c_str() : "");
    return kExitUsage;
  }
  std::vector<std::string> verb_args = leading;
  verb_args.insert(verb_args.end(), args.begin() + static_cast<ptrdiff_t>(i), args.end());
  absl::StatusOr<rsadmin::ParsedArgs> parsed = rsadmin::ParseArgs(verb->spec, verb_args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "rs_admin %s\n", std::string(parsed.status().message()).c_str());
    return kExitUsage;
  }
  if (parsed->Has("help")) {
    std::fputs(rsadmin::VerbHelp(verb->spec).c_str(), stdout);
    return kExitOk;
  }
  std::string namesrv = parsed->Get("namesrvAddr");
  if (namesrv.empty()) {
    const char* env = std::getenv("NAMESRV_ADDR");
    if (env != nullptr) namesrv = env;
  }
  if (namesrv.empty()) {
    std::fprintf(stderr, "rs_admin %s: no name server: pass -n ip:port (or set NAMESRV_ADDR)\n",
                 verb->spec.name.c_str());
    return kExitUsage;
  }
  absl::StatusOr<std::vector<std::string>> addrs = rsclient::ParseNamesrvAddr(namesrv);
  if (!addrs.ok()) {
    std::fprintf(stderr, "rs_admin %s: -n: %s\n", verb->spec.name.c_str(),
                 std::string(addrs.status().message()).c_str());
    return kExitUsage;
  }
  absl::StatusOr<int64_t> timeout_ms =
      rsadmin::ParseInt("--timeout", parsed->Get("timeout", "5000"), 1, 600000);
  if (!timeout_ms.ok()) {
    std::fprintf(stderr, "rs_admin %s: %s\n", verb->spec.name.c_str(),
                 std::string(timeout_ms.status().message()).c_str());
    return kExitUsage;
  }
  rsadmin::AdminClient admin(*std::move(addrs), std::chrono::milliseconds(*timeout_ms));
  rsadmin::VerbContext ctx;
  ctx.spec = &verb->spec;
  ctx.args = *std::move(parsed);
  ctx.json = ctx.args.Has("json");
  ctx.admin = &admin;
  const int code = verb->run(ctx);
  std::fflush(stdout);
  return code == kExitOk || code == kExitUsage ? code : kExitFailed;
}
