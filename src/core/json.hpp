// jansson, wrapped once: an owning handle and reading with error texts.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <jansson.h>

namespace oidc_logout {

struct JsonDecref {
    void
    operator()(json_t *j) const
    {
        json_decref(j);
    }
};
using JsonPtr = std::unique_ptr<json_t, JsonDecref>;

/* A JSON document from a file, or nullptr and error ("<path>: line L,
 * column C: reason", or "<path>: unable to open ..."). Duplicate object
 * keys are refused. */
JsonPtr json_read_file(const std::string &path, std::string &error);
/* The same from text; name stands for the file in errors. */
JsonPtr json_read_text(std::string_view text, const std::string &name,
                       std::string &error);

} // namespace oidc_logout
