// The web page's static files (web/), built into the binary by a CMake step
// (web/embed.cmake), so that the page needs nothing beside the server: no
// install tree, no CDN, no internet.
#ifndef LRSCHED_SERVICE_SERVER_HTTP_ASSETS_H_
#define LRSCHED_SERVICE_SERVER_HTTP_ASSETS_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace lrsched {

struct HttpAsset {
  // As requested: "/index.html", "/app.js", ...
  const char* path;
  const char* content_type;
  const unsigned char* data;
  size_t size;
};

// The file served at `path` ("/" is "/index.html"), or null.
const HttpAsset* FindHttpAsset(absl::string_view path);

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_HTTP_ASSETS_H_
