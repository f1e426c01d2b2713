// The web console's files (console/), embedded in provledgerd at build
// time: no file is read at run time and nothing comes from elsewhere.
#ifndef PROVLEDGER_TOOLS_SERVER_CONSOLE_H_
#define PROVLEDGER_TOOLS_SERVER_CONSOLE_H_

#include <string>
#include <string_view>
#include <vector>

namespace provledger::server {

struct ConsoleFile {
  std::string path;          // "index.html", "console.js", ...
  std::string content_type;  // "text/html; charset=utf-8", ...
  std::string_view body;
};

const std::vector<ConsoleFile>& ConsoleFiles();

}  // namespace provledger::server

#endif  // PROVLEDGER_TOOLS_SERVER_CONSOLE_H_
