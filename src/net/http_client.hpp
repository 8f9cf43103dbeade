// SPDX-License-Identifier: Apache-2.0
// http_get: one blocking HTTP/1.1 GET with an overall timeout, for the CLI's small requests to a
// disco server (the task document, the global model). A new connection per call; no redirects,
// no TLS. Implemented in ws_client.cpp, the one Beast translation unit of disco_net_client.
// Thread-compatible: concurrent calls are independent.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "core/base/result.hpp"

namespace disco::net {

struct HttpGetResponse {
  int status = 0;            // 200, 404, ...
  std::string content_type;  // the Content-Type header, "" when absent
  std::string body;
};

// (Named apart from the server's net::HttpResponse in http_server.hpp, which has other defaults.)
// GET `url` (http://host[:port]/path) and return the response, whatever its status.
// Errors: InvalidArgument (bad URL); Unavailable "GET url: <reason>" (refused, reset, timed out,
// malformed response, body over max_body_bytes).
Result<HttpGetResponse> http_get(std::string_view url,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(30),
                                 std::size_t max_body_bytes = std::size_t{512} << 20);

}  // namespace disco::net
