// Logout request parameters from a query string or a form body.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oidc_logout {

/* Longest query string or form body accepted, in bytes. */
constexpr size_t max_params_length = 65536;

/*
 * The parameters an endpoint knows, decoded from
 * application/x-www-form-urlencoded text.  Unknown parameters are ignored;
 * a known one sent twice, bad percent-encoding or an oversized text makes
 * the whole request malformed.  An empty value counts as not sent.
 */
class Params {
  public:
    explicit Params(std::vector<std::string_view> names);

    bool parse(std::string_view raw, std::string &reason);
    const std::string *get(std::string_view name) const;
    /* Sent at all, even without a value (a flag such as "federated"). */
    bool has(std::string_view name) const;

  private:
    std::vector<std::string_view> names_;
    std::vector<std::optional<std::string>> values_;
};

} // namespace oidc_logout
