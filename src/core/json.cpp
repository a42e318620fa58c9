#include "json.hpp"

#include "text.hpp"

namespace oidc_logout {

namespace {

std::string
error_text(const std::string &name, const json_error_t &e)
{
    std::string where = quoted(name, 1024) + ": ";
    if (e.line > 0) {
        where += "line " + std::to_string(e.line) + ", column " +
                 std::to_string(e.column) + ": ";
    }
    return where + e.text;
}

} // namespace

JsonPtr
json_read_file(const std::string &path, std::string &error)
{
    json_error_t e;
    JsonPtr root(json_load_file(path.c_str(), JSON_REJECT_DUPLICATES, &e));
    if (!root) {
        error = error_text(path, e);
    }
    return root;
}

JsonPtr
json_read_text(std::string_view text, const std::string &name,
               std::string &error)
{
    json_error_t e;
    JsonPtr root(
        json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &e));
    if (!root) {
        error = error_text(name, e);
    }
    return root;
}

} // namespace oidc_logout
