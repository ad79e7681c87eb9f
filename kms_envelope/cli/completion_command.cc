// kms-envelope completion bash|zsh: a shell completion script generated from the CLI11
// definitions the parser itself uses (every subcommand, option and flag, walked at run time), so
// completion can never list a word the parser refuses or miss one it accepts.
//
//   source <(kms-envelope completion bash)
//   kms-envelope completion zsh > ~/.zfunc/_kms-envelope     # a directory on $fpath
//   (scripts/install.sh installs both: share/bash-completion/completions/kms-envelope and
//    share/zsh/vendor-completions/_kms-envelope)
//
// The script completes subcommand names at every level ("key create"), the options of the
// subcommand being typed after "-", and file names for positional arguments and for the value of
// an option (the word after an option that takes one). Any other shell name is a usage error.
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kms_envelope/cli/cli_common.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace cli {
namespace {

// One command level: "" is kms-envelope itself, "key create" a nested subcommand.
struct CommandNode {
  std::string path;
  std::vector<std::string> subcommands;
  std::vector<std::string> options;        // every name of every visible option and flag
  std::vector<std::string> value_options;  // those whose next word is their value
};

void AddOptions(const CLI::App* app, CommandNode* node) {
  for (const CLI::Option* option : app->get_options()) {
    if (!option->nonpositional() || option->get_group().empty()) continue;  // positional, hidden
    std::vector<std::string> names;
    for (const std::string& s : option->get_snames()) names.push_back("-" + s);
    for (const std::string& l : option->get_lnames()) names.push_back("--" + l);
    for (const std::string& name : names) {
      node->options.push_back(name);
      if (option->get_expected_max() != 0) node->value_options.push_back(name);
    }
  }
}

void Collect(CLI::App* app, const std::string& path, std::vector<CommandNode>* out) {
  CommandNode node;
  node.path = path;
  AddOptions(app, &node);
  std::vector<std::pair<std::string, CLI::App*>> children;
  for (CLI::App* sub : app->get_subcommands({})) {
    if (sub->get_name().empty()) {
      AddOptions(sub, &node);  // an option group: its options belong to this level
    } else if (!sub->get_group().empty()) {
      node.subcommands.push_back(sub->get_name());
      children.emplace_back(path.empty() ? sub->get_name() : path + " " + sub->get_name(), sub);
    }
  }
  out->push_back(std::move(node));
  for (auto& [child_path, child] : children) Collect(child, child_path, out);
}

// Single-quoted for sh; names come from our own definitions, quoted anyway.
std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The tables as shell functions that bash and zsh both read the same way.
std::string Tables(const std::vector<CommandNode>& nodes) {
  std::string subcommands, options, is_sub, takes_value;
  for (const CommandNode& n : nodes) {
    const std::string key = Quote(n.path);
    if (!n.subcommands.empty()) {
      absl::StrAppend(&subcommands, "    ", key, ") echo ",
                      Quote(absl::StrJoin(n.subcommands, " ")), " ;;\n");
    }
    absl::StrAppend(&options, "    ", key, ") echo ", Quote(absl::StrJoin(n.options, " ")),
                    " ;;\n");
    for (const std::string& s : n.subcommands) {
      absl::StrAppend(&is_sub, "    ", Quote(n.path + "|" + s), ") return 0 ;;\n");
    }
    for (const std::string& o : n.value_options) {
      absl::StrAppend(&takes_value, "    ", Quote(n.path + "|" + o), ") return 0 ;;\n");
    }
  }
  return absl::StrCat(
      "_kms_envelope_subcommands() {\n  case \"$1\" in\n", subcommands, "  esac\n}\n",
      "_kms_envelope_options() {\n  case \"$1\" in\n", options, "  esac\n}\n",
      "_kms_envelope_is_subcommand() {\n  case \"$1|$2\" in\n", is_sub, "  esac\n  return 1\n}\n",
      "_kms_envelope_takes_value() {\n  case \"$1|$2\" in\n", takes_value,
      "  esac\n  return 1\n}\n",
      // The words before the cursor -> "<subcommand path>|<1 when an option awaits its value>".
      "_kms_envelope_path() {\n"
      "  local cmd='' pending=0 w\n"
      "  for w in \"$@\"; do\n"
      "    if [ \"$pending\" = 1 ]; then pending=0; continue; fi\n"
      "    case \"$w\" in\n"
      "      --*=*) ;;\n"
      "      -*) if _kms_envelope_takes_value \"$cmd\" \"$w\"; then pending=1; fi ;;\n"
      "      *) if _kms_envelope_is_subcommand \"$cmd\" \"$w\"; then cmd=\"${cmd:+$cmd }$w\"; fi ;;\n"
      "    esac\n"
      "  done\n"
      "  printf '%s|%s' \"$cmd\" \"$pending\"\n"
      "}\n");
}

constexpr char kBashMain[] = R"(_kms_envelope() {
  local cur=${COMP_WORDS[COMP_CWORD]} state cmd words
  state=$(_kms_envelope_path "${COMP_WORDS[@]:1:COMP_CWORD-1}")
  cmd=${state%|*}
  COMPREPLY=()
  [ "${state##*|}" = 1 ] && return 0  # an option's value: file names (complete -o default)
  if [[ $cur == -* ]]; then
    words=$(_kms_envelope_options "$cmd")
  else
    words=$(_kms_envelope_subcommands "$cmd")
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _kms_envelope kms-envelope
)";

constexpr char kZshMain[] = R"(_kms-envelope() {
  local cur=${words[CURRENT]} state cmd subs
  state=$(_kms_envelope_path "${(@)words[2,CURRENT-1]}")
  cmd=${state%|*}
  if [[ ${state##*|} == 1 ]]; then _files; return; fi
  if [[ $cur == -* ]]; then
    compadd -- ${=$(_kms_envelope_options "$cmd")}
    return
  fi
  subs=$(_kms_envelope_subcommands "$cmd")
  if [[ -n $subs ]]; then compadd -- ${=subs}; else _files; fi
}
if [ "$funcstack[1]" = "_kms-envelope" ]; then
  _kms-envelope "$@"
else
  compdef _kms-envelope kms-envelope
fi
)";

std::string Script(CLI::App* root, const std::string& shell) {
  std::vector<CommandNode> nodes;
  Collect(root, "", &nodes);
  const bool zsh = shell == "zsh";
  return absl::StrCat(zsh ? "#compdef kms-envelope\n" : "",
                      "# ", shell, " completion for kms-envelope, generated by `kms-envelope "
                      "completion ", shell, "` from its own command definitions.\n",
                      Tables(nodes), zsh ? kZshMain : kBashMain);
}

int PrintScript(CLI::App* root, const std::string& shell) {
  const std::string script = Script(root, shell);
  if (std::fwrite(script.data(), 1, script.size(), stdout) != script.size() ||
      std::fflush(stdout) != 0) {
    return ReportError(KmsError(cli_code::kWriteFailed, "cannot write the script to stdout"));
  }
  return kExitOk;
}

}  // namespace

void RegisterCompletionCommand(CLI::App& app, GlobalOptions& options) {
  auto shell = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "completion", "print a shell completion script (bash or zsh) for kms-envelope");
  cmd->add_option("shell", *shell, "bash | zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  cmd->callback([&app, &options, shell] { options.exit_code = PrintScript(&app, *shell); });
}

}  // namespace cli
}  // namespace kms_envelope
