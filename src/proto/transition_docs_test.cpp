// SPDX-License-Identifier: Apache-2.0
// docs/protocol.md carries the machines' transition tables; they are generated from the tables in
// federated_server.cpp and federated_client.cpp, and this test fails when the two drift apart.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "proto/federated_client.hpp"
#include "proto/federated_server.hpp"

namespace disco::proto {
namespace {

std::string protocol_doc() {
  std::ifstream f(std::string(DISCO_SOURCE_DIR) + "/docs/protocol.md");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(TransitionDocs, ProtocolMdContainsTheServerTable) {
  std::string doc = protocol_doc();
  ASSERT_FALSE(doc.empty()) << "docs/protocol.md not found";
  EXPECT_NE(doc.find(server_transition_table_markdown()), std::string::npos)
      << "regenerate the server table in docs/protocol.md from server_transition_table_markdown()";
}

TEST(TransitionDocs, ProtocolMdContainsTheClientTable) {
  std::string doc = protocol_doc();
  ASSERT_FALSE(doc.empty()) << "docs/protocol.md not found";
  EXPECT_NE(doc.find(client_transition_table_markdown()), std::string::npos)
      << "regenerate the client table in docs/protocol.md from client_transition_table_markdown()";
}

}  // namespace
}  // namespace disco::proto
